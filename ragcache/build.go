package ragcache

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
	"github.com/cespare/xxhash/v2"

	"github.com/mcpflow/mcpflow/internal/regfile"
)

// MaxFileBytes is the size above which a file is skipped with a warning.
const MaxFileBytes = 5 << 20

// builtinSource is Stats.Source for the embedded sample standards.
const builtinSource = "builtin"

//go:embed standards
var builtinFS embed.FS

// Field names in the bleve documents.
const (
	fieldText  = "text"
	fieldTags  = "tags"
	fieldPhase = "phase"
)

// A corpus of at least progressMinFiles files or progressMinBytes bytes is
// large: builds report progress to Config.Progress.
const (
	progressMinFiles = 200
	progressMinBytes = 16 << 20
)

// snapshot is one built index: immutable once published, except refs.
type snapshot struct {
	gen       uint64
	source    string
	idx       bleve.Index
	chunks    []Chunk // by bleve document ID (the decimal index)
	files     int
	skipped   int
	tokens    int
	docs      []FileInfo // the files indexed, sorted by path
	tags      map[string]struct{}
	phases    map[int]struct{}
	buildTime time.Duration
	builtAt   time.Time

	// refs counts the owner (the Index, while the snapshot is current)
	// plus every index search running on it. When it reaches zero the
	// bleve index is closed and acquire fails from then on.
	refs atomic.Int64
}

// acquire takes a reference for one index search. It fails once the
// snapshot has been retired and its last search has finished.
func (s *snapshot) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference and closes the bleve index with the last one.
func (s *snapshot) release() {
	if s.refs.Add(-1) == 0 {
		_ = s.idx.Close()
	}
}

// indexMapping is the static mapping every snapshot uses: one analysed
// text field (heading, parents and content) with the English analyzer and
// the BM25 model, and two keyword fields for filters. Nothing is stored:
// the chunks live in snapshot.chunks.
func indexMapping() *mapping.IndexMappingImpl {
	text := mapping.NewTextFieldMapping()
	text.Analyzer = en.AnalyzerName
	text.Store = false
	text.IncludeInAll = false
	text.IncludeTermVectors = false
	text.DocValues = false

	kw := mapping.NewKeywordFieldMapping()
	kw.Store = false
	kw.IncludeInAll = false
	kw.IncludeTermVectors = false
	kw.DocValues = false

	doc := mapping.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fieldText, text)
	doc.AddFieldMappingsAt(fieldTags, kw)
	doc.AddFieldMappingsAt(fieldPhase, kw)

	m := mapping.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = en.AnalyzerName
	m.ScoringModel = bindex.BM25Scoring
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m
}

// build reads the corpus and builds a snapshot with one reference, its
// owner's.
func (ix *Index) build(ctx context.Context, gen uint64) (*snapshot, error) {
	start := time.Now()
	fsys, source, closeFS, err := ix.openCorpus()
	if err != nil {
		return nil, err
	}
	defer closeFS()
	s := &snapshot{gen: gen, source: source, tags: map[string]struct{}{}, phases: map[int]struct{}{}}
	progress, err := ix.readCorpus(ctx, fsys, s)
	if err != nil {
		return nil, err
	}
	if progress != nil {
		_, _ = fmt.Fprintf(progress, "ragcache: indexing %d chunks\n", len(s.chunks))
	}
	if err := s.index(ctx); err != nil {
		return nil, err
	}
	progressFrom(ctx)(s.files+s.skipped+1, s.files+s.skipped+1, fmt.Sprintf("indexed %d chunks of %d files", len(s.chunks), s.files))
	s.refs.Store(1)
	s.builtAt = time.Now()
	s.buildTime = s.builtAt.Sub(start)
	if progress != nil {
		_, _ = fmt.Fprintf(progress, "ragcache: index ready: %d files, %d chunks in %v\n", s.files, len(s.chunks), s.buildTime.Round(time.Millisecond))
	}
	ix.log.Info("ragcache: index built", "source", source, "generation", gen,
		"files", s.files, "skipped", s.skipped, "chunks", len(s.chunks), "took", s.buildTime.Round(time.Millisecond))
	return s, nil
}

// openCorpus returns the file system to index. A folder is opened as an
// os.Root, so no symbolic link can lead the build outside it, and read
// through regfile, so a named pipe or a device in it is refused rather
// than waited on.
func (ix *Index) openCorpus() (fs.FS, string, func(), error) {
	if ix.cfg.Dir == "" {
		sub, err := fs.Sub(builtinFS, "standards")
		if err != nil {
			return nil, "", nil, fmt.Errorf("ragcache: built-in standards: %w", err)
		}
		return sub, builtinSource, func() {}, nil
	}
	root, err := os.OpenRoot(ix.cfg.Dir)
	if err != nil {
		return nil, "", nil, fmt.Errorf("ragcache: Config.Dir: cannot open the standards folder: %w", err)
	}
	return regfile.FS(root), ix.cfg.Dir, func() { _ = root.Close() }, nil
}

// isMarkdown reports whether name has a markdown extension.
func isMarkdown(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return true
	}
	return false
}

// readCorpus chunks every markdown file under fsys into s. Problems with
// one file are logged and counted in s.skipped; only a failure to walk the
// top folder, or ctx ending, stops it. For a large corpus it reports
// progress to Config.Progress, and returns that writer to report the rest
// of the build; otherwise it returns nil.
func (ix *Index) readCorpus(ctx context.Context, fsys fs.FS, s *snapshot) (io.Writer, error) {
	var (
		files []string
		size  int64
	)
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			ix.log.Warn("ragcache: cannot read, skipped", "path", p, "err", err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if isMarkdown(d.Name()) && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ragcache: Config.Dir: cannot read the standards folder: %w", err)
	}
	progress := ix.cfg.Progress
	if len(files) < progressMinFiles && size < progressMinBytes {
		progress = nil
	}
	step := max(len(files)/10, 1)
	report := progressFrom(ctx)
	for i, p := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunks, info, err := ix.readFile(fsys, p)
		if err != nil {
			ix.log.Warn("ragcache: file skipped", "file", p, "err", err)
			s.skipped++
		} else {
			s.files++
			s.chunks = append(s.chunks, chunks...)
			s.docs = append(s.docs, info)
		}
		report(i+1, len(files)+1, "read "+p)
		if progress != nil && ((i+1)%step == 0 || i+1 == len(files)) {
			_, _ = fmt.Fprintf(progress, "ragcache: read %d/%d files, %d chunks\n", i+1, len(files), len(s.chunks))
		}
	}
	for i := range s.chunks {
		c := &s.chunks[i]
		s.tokens += c.Tokens
		for _, t := range c.Tags {
			s.tags[t] = struct{}{}
		}
		if c.Phase != nil {
			s.phases[*c.Phase] = struct{}{}
		}
	}
	return progress, nil
}

// errTooLarge is why a file over MaxFileBytes is skipped.
var errTooLarge = errors.New("larger than 5 MiB")

func (ix *Index) readFile(fsys fs.FS, p string) ([]Chunk, FileInfo, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, FileInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, FileInfo{}, fmt.Errorf("%w: it is a folder", regfile.ErrNotRegular)
	}
	if fi.Size() > MaxFileBytes {
		return nil, FileInfo{}, fmt.Errorf("%w (%d bytes)", errTooLarge, fi.Size())
	}
	// The size may change between Stat and reading: read one byte more
	// than the limit to notice.
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, FileInfo{}, err
	}
	if len(src) > MaxFileBytes {
		return nil, FileInfo{}, errTooLarge
	}
	chunks, warning := chunkFile(p, src)
	if warning != "" {
		ix.log.Warn("ragcache: "+warning, "file", p)
	}
	return chunks, FileInfo{Path: p, Size: int64(len(src)), Sum: xxhash.Sum64(src)}, nil
}

// index builds the bleve index over s.chunks in one batch: scorch in memory
// never merges segments, so one batch makes one segment and the fastest
// searches.
func (s *snapshot) index(ctx context.Context) error {
	m := indexMapping()
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return fmt.Errorf("ragcache: create index: %w", err)
	}
	textAn := m.AnalyzerNamed(en.AnalyzerName)
	kwAn := m.AnalyzerNamed(keyword.Name)
	var tagBuf []byte
	b := idx.NewBatch()
	for i := range s.chunks {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				_ = idx.Close()
				return err
			}
		}
		c := &s.chunks[i]
		doc := document.NewDocument(strconv.Itoa(i))
		doc.AddField(textField(fieldText, indexedText(c), textAn))
		if len(c.Tags) > 0 {
			// One field holding every tag, not one field per tag: a
			// field costs bleve far more than a term.
			tagBuf = appendTagList(tagBuf[:0], c.Tags)
			doc.AddField(document.NewTextFieldCustom(fieldTags, nil, slices.Clone(tagBuf), bindex.IndexField, tagListAnalyzer{}))
		}
		if c.Phase != nil {
			doc.AddField(textField(fieldPhase, strconv.Itoa(*c.Phase), kwAn))
		}
		if err := b.IndexAdvanced(doc); err != nil {
			_ = idx.Close()
			return fmt.Errorf("ragcache: index %s: %w", c.File, err)
		}
	}
	if err := idx.Batch(b); err != nil {
		_ = idx.Close()
		return fmt.Errorf("ragcache: index batch: %w", err)
	}
	s.idx = idx
	return nil
}

// maxParentBytes bounds the parent headings' text indexed with each
// chunk. Every chunk under a heading repeats it, so without a bound one
// long heading over thousands of short sections multiplies the index (a
// 34 KB file cost 830 MB); real parent chains are far shorter.
const maxParentBytes = 160

// indexedText is the one analysed field of a chunk: its parents (the
// nearest first, maxParentBytes in all), its heading (unless the content
// already holds it) and its content. One field for all three ranked better
// than a separate, boosted heading field.
func indexedText(c *Chunk) string {
	var b strings.Builder
	b.Grow(len(c.Content) + len(c.Section) + maxParentBytes + 8)
	budget := maxParentBytes
	for _, p := range slices.Backward(c.Parents) {
		if budget <= 0 {
			break
		}
		if len(p) > budget {
			p = cutAtSpace(p, budget)
		}
		budget -= len(p) + 1
		b.WriteString(p)
		b.WriteByte('\n')
	}
	if !strings.Contains(c.Content, c.Section) {
		b.WriteString(c.Section)
		b.WriteByte('\n')
	}
	b.WriteString(c.Content)
	return b.String()
}

// cutAtSpace returns the longest prefix of s of at most n bytes that ends
// before a space, or the first n bytes (on a rune boundary) when there is
// none.
func cutAtSpace(s string, n int) string {
	if i := strings.LastIndexByte(s[:n+1], ' '); i > 0 {
		return s[:i]
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// appendTagList appends tags to b as tagListAnalyzer reads them: one per
// line. A tag holds no control character (see firstTags).
func appendTagList(b []byte, tags []string) []byte {
	for i, t := range tags {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, t...)
	}
	return b
}

// tagListAnalyzer makes one term of each line of a chunk's tag list, as
// the keyword analyzer makes one term of a whole value: tags are matched
// exactly, by term queries.
type tagListAnalyzer struct{}

// Analyze returns one token per line of input.
func (tagListAnalyzer) Analyze(input []byte) analysis.TokenStream {
	ts := make(analysis.TokenStream, 0, bytes.Count(input, []byte{'\n'})+1)
	start := 0
	for i := 0; i <= len(input); i++ {
		if i < len(input) && input[i] != '\n' {
			continue
		}
		if i > start {
			ts = append(ts, &analysis.Token{Term: input[start:i], Start: start, End: i, Position: len(ts) + 1, Type: analysis.AlphaNumeric})
		}
		start = i + 1
	}
	return ts
}

// textField is an indexed, unstored field without term vectors or doc
// values.
func textField(name, value string, an analysis.Analyzer) *document.TextField {
	return document.NewTextFieldCustom(name, nil, []byte(value), bindex.IndexField, an)
}

// errRetired reports that a search found its snapshot already retired and
// closed; Search retries on the current one.
var errRetired = errors.New("ragcache: index snapshot retired")

// searchIndex runs one query on s. It fails with errRetired when s has been
// retired and closed.
func (ix *Index) searchIndex(ctx context.Context, s *snapshot, text string, limit int, phase *int, tags []string) (Result, error) {
	if !s.acquire() {
		return Result{}, errRetired
	}
	defer s.release()
	ix.searches.Add(1)
	if ix.hooks.beforeSearch != nil {
		ix.hooks.beforeSearch()
	}

	mq := query.NewMatchQuery(text)
	mq.SetField(fieldText)
	mq.Analyzer = en.AnalyzerName
	var q query.Query = mq
	if phase != nil || len(tags) > 0 {
		var filters []query.Query
		for _, t := range tags {
			tq := query.NewTermQuery(t)
			tq.SetField(fieldTags)
			filters = append(filters, tq)
		}
		if phase != nil {
			pq := query.NewTermQuery(strconv.Itoa(*phase))
			pq.SetField(fieldPhase)
			filters = append(filters, pq)
		}
		bq := query.NewBooleanQuery([]query.Query{mq}, nil, nil)
		bq.AddFilter(query.NewConjunctionQuery(filters))
		q = bq
	}
	req := bleve.NewSearchRequestOptions(q, limit, 0, false)
	res, err := s.idx.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("ragcache: search: %w", err)
	}
	r := Result{Method: MethodBM25, Chunks: make([]Chunk, 0, len(res.Hits))}
	for _, h := range res.Hits {
		i, err := strconv.Atoi(h.ID)
		if err != nil || i < 0 || i >= len(s.chunks) {
			return Result{}, fmt.Errorf("ragcache: search: unknown document %q", h.ID)
		}
		c := s.chunks[i]
		c.Score = h.Score
		r.Chunks = append(r.Chunks, c)
		r.TotalTokens += c.Tokens
	}
	r.Chunks = slices.Clip(r.Chunks)
	return r, nil
}
