package ragcache

import (
	"bytes"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/internal/mdnest"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"go.yaml.in/yaml/v3"
)

// MaxChunkTokens is the size above which a section is split.
const MaxChunkTokens = 500

// bytesPerToken is the token estimate's divisor: about four bytes of
// English markdown make one token for the tokenizers agents use.
const bytesPerToken = 4

// maxChunkBytes is MaxChunkTokens in bytes.
const maxChunkBytes = MaxChunkTokens * bytesPerToken

// EstimateTokens estimates the tokens of s: one per four bytes, rounded up.
func EstimateTokens(s string) int {
	return (len(s) + bytesPerToken - 1) / bytesPerToken
}

// blockParser is goldmark's CommonMark block parser without inline
// parsers or link reference definitions: chunking needs the block structure
// only, and goldmark's inline parsing is quadratic on some inputs (a run of
// "[a](" of 40 kB takes seconds). A parser.Parser keeps no state between
// calls and is safe for concurrent use.
var blockParser = parser.NewParser(parser.WithBlockParsers(parser.DefaultBlockParsers()...))

// inlineParser reads a heading's text as one paragraph of CommonMark
// inlines, to take the markup out of it. It only ever sees maxHeadingBytes.
var inlineParser = parser.NewParser(
	parser.WithBlockParsers(util.Prioritized(parser.NewParagraphParser(), 1000)),
	parser.WithInlineParsers(parser.DefaultInlineParsers()...),
)

// maxHeadingBytes bounds the heading text that is parsed for inlines; the
// rest of an absurdly long heading is dropped from its name (not from the
// chunk's content).
const maxHeadingBytes = 1024

// Nesting limits. goldmark's block parser costs time proportional to the
// nesting depth on every line, and to its square on a line that opens many
// containers, so a file that nests deeper than real documents do could
// take minutes. Such a file is chunked as plain text instead.
const (
	maxPrefixColumns = mdnest.MaxColumn
	maxPrefixMarkers = mdnest.MaxMarkers
)

// ChunkMarkdown splits one markdown file into chunks as docs/search.md
// describes. file is the path recorded in the chunks (use the path
// relative to the standards folder, with forward slashes); its folder
// name becomes a tag when the file has no front matter tags. src may hold
// any bytes: invalid UTF-8 is replaced by U+FFFD. An empty or blank file
// has no chunks. Scores are zero.
func ChunkMarkdown(file string, src []byte) []Chunk {
	chunks, _ := chunkFile(file, src)
	return chunks
}

// warnings joins the warnings about one file.
func warnings(ws ...string) string {
	var out []string
	for _, w := range ws {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, "; ")
}

// MaxFileTags is the most tags a chunk carries: the first MaxFileTags
// distinct tags of a file's front matter (a warning names a file that has
// more), or of the words its headings give. Every tag is indexed for
// every chunk of its file, so this bound keeps the index's cost linear in
// the file's size however many tags the file lists.
const MaxFileTags = 32

// frontMatter is what the chunker reads from a file's YAML front matter.
type frontMatter struct {
	title string
	tags  []string
	phase *int
	// dropped counts the front matter tags over MaxFileTags.
	dropped int
}

// chunkFile is ChunkMarkdown that also returns a warning about the file
// (bad front matter), or "".
func chunkFile(file string, src []byte) ([]Chunk, string) {
	body := normalizeSource(src)
	fm, body, warning := splitFrontMatter(body)
	if fm.dropped > 0 {
		warning = warnings(warning, "front matter lists "+strconv.Itoa(MaxFileTags+fm.dropped)+
			" distinct tags; only the first "+strconv.Itoa(MaxFileTags)+" are kept")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, warning
	}
	c := chunker{file: file, src: body, fm: fm, folderTag: folderTag(file)}
	if mdnest.FirstTooDeep(body) > 0 {
		c.plain()
		if warning != "" {
			warning += "; "
		}
		return c.out, warning + "nested deeper than real markdown (over " + strconv.Itoa(maxPrefixMarkers) +
			" block quote or list levels, or " + strconv.Itoa(maxPrefixColumns) + " columns of indentation): indexed as plain text"
	}
	c.run(blockParser.Parse(text.NewReader(body)))
	return c.out, warning
}

// normalizeSource returns src as valid UTF-8 with "\n" line endings, no
// byte order mark and no NUL bytes (CommonMark replaces U+0000 with
// U+FFFD too).
func normalizeSource(src []byte) []byte {
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	if bytes.IndexByte(src, '\r') >= 0 {
		src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
		src = bytes.ReplaceAll(src, []byte("\r"), []byte("\n"))
	}
	if bytes.IndexByte(src, 0) >= 0 {
		src = bytes.ReplaceAll(src, []byte{0}, []byte("\uFFFD"))
	}
	return src
}

// splitFrontMatter removes YAML front matter: a first line "---", then
// YAML, then a line "---" or "...". Without a closing line there is no
// front matter. Front matter that is not valid YAML, or not a mapping, is
// still removed, and reported in the warning.
func splitFrontMatter(src []byte) (frontMatter, []byte, string) {
	var fm frontMatter
	first, rest, ok := bytes.Cut(src, []byte("\n"))
	if !ok || string(bytes.TrimRight(first, " \t")) != "---" {
		return fm, src, ""
	}
	var yamlEnd, bodyStart int
	found := false
	for off := 0; off < len(rest); {
		line := rest[off:]
		n := bytes.IndexByte(line, '\n')
		next := len(rest)
		if n >= 0 {
			line, next = line[:n], off+n+1
		}
		if t := string(bytes.TrimRight(line, " \t")); t == "---" || t == "..." {
			yamlEnd, bodyStart, found = off, next, true
			break
		}
		off = next
	}
	if !found {
		return fm, src, ""
	}
	body := rest[bodyStart:]
	var meta map[string]any
	if err := yaml.Unmarshal(rest[:yamlEnd], &meta); err != nil {
		return fm, body, "front matter is not valid YAML, ignored: " + firstLine(err.Error())
	}
	for k, v := range meta {
		switch strings.ToLower(k) {
		case "title":
			if s, ok := v.(string); ok {
				fm.title = strings.TrimSpace(s)
			}
		case "tags", "keywords":
			fm.tags = append(fm.tags, yamlTags(v)...)
		case "phase":
			if p, ok := yamlInt(v); ok {
				fm.phase = &p
			}
		}
	}
	fm.tags, fm.dropped = firstTags(fm.tags)
	return fm, body, ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// yamlTags accepts a list of scalars or one string of comma-separated tags.
func yamlTags(v any) []string {
	var out []string
	switch t := v.(type) {
	case string:
		for p := range strings.SplitSeq(t, ",") {
			out = append(out, normalizeTag(p))
		}
	case []any:
		for _, e := range t {
			switch s := e.(type) {
			case string:
				out = append(out, normalizeTag(s))
			case int, float64, bool:
				out = append(out, normalizeTag(strings.TrimSpace(yamlScalar(s))))
			}
		}
	}
	return out
}

func yamlScalar(v any) string {
	switch s := v.(type) {
	case int:
		return strconv.Itoa(s)
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(s)
	}
	return ""
}

func yamlInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		if n >= 0 && n <= MaxPhase {
			return n, true
		}
	case string:
		if m := phaseRE.FindStringSubmatch(n); m != nil {
			return parsePhase(m[1])
		}
		if p, err := strconv.Atoi(strings.TrimSpace(n)); err == nil && p >= 0 && p <= MaxPhase {
			return p, true
		}
	}
	return 0, false
}

// firstTags drops empty and over-long tags and duplicates, keeps the
// first MaxFileTags in their order, and returns them sorted with the
// number of distinct tags dropped over the bound.
func firstTags(tags []string) ([]string, int) {
	seen := make(map[string]struct{}, min(len(tags), MaxFileTags))
	kept := make([]string, 0, min(len(tags), MaxFileTags))
	dropped := 0
	for _, t := range tags {
		if t == "" || utf8.RuneCountInString(t) > MaxTagRunes || strings.ContainsFunc(t, unicode.IsControl) {
			continue
		}
		if _, ok := seen[t]; ok {
			continue
		}
		seen[t] = struct{}{}
		if len(kept) == MaxFileTags {
			dropped++
			continue
		}
		kept = append(kept, t)
	}
	if tags == nil {
		return nil, 0 // nil: the file has no tags key
	}
	slices.Sort(kept)
	return kept, dropped
}

// folderTag is the tag taken from the file's folder, or "" at the top.
func folderTag(file string) string {
	dir := path.Dir(strings.ReplaceAll(file, "\\", "/"))
	if dir == "." || dir == "/" {
		return ""
	}
	return normalizeTag(path.Base(dir))
}

// phaseRE finds "Phase 3", "phase-3", "Phase #3" in a heading.
var phaseRE = regexp.MustCompile(`(?i)\bphase[\s_#:-]*(\d{1,4})\b`)

func parsePhase(digits string) (int, bool) {
	p, err := strconv.Atoi(digits)
	return p, err == nil && p <= MaxPhase
}

// block is one top-level block of the document: its node and byte range.
type block struct {
	node       ast.Node
	start, end int
}

type heading struct {
	level int
	text  string
}

type chunker struct {
	file      string
	src       []byte
	fm        frontMatter
	folderTag string
	out       []Chunk
	// parents memoizes parent, by heading text.
	parents map[string]parentInfo
}

// headingPhase returns the phase named by the section heading or, failing
// that, by the nearest parent heading that names one.
func (c *chunker) headingPhase(section string, parents []string) (int, bool) {
	if m := phaseRE.FindStringSubmatch(section); m != nil {
		return parsePhase(m[1])
	}
	for _, p := range slices.Backward(parents) {
		if h := c.parent(p); h.names {
			return h.phase, h.ok
		}
	}
	return 0, false
}

// parentInfo is what a parent heading gives the sections under it.
type parentInfo struct {
	words     []string // headingWords
	names, ok bool     // the heading names a phase; it is valid
	phase     int
}

// parent returns the parentInfo of a parent heading's text. Every section
// under a heading asks for it: it is worked out once per heading, or a
// long heading over thousands of sections would cost their product.
func (c *chunker) parent(title string) parentInfo {
	if h, ok := c.parents[title]; ok {
		return h
	}
	var h parentInfo
	if m := phaseRE.FindStringSubmatch(title); m != nil {
		h.names = true
		h.phase, h.ok = parsePhase(m[1])
	}
	if c.fm.tags == nil {
		h.words = headingWords(title)
	}
	if c.parents == nil {
		c.parents = map[string]parentInfo{}
	}
	c.parents[title] = h
	return h
}

// plain chunks the whole body as one section named after the file, cut
// between sentences and lines: the fallback for files nested too deeply
// to parse in reasonable time.
func (c *chunker) plain() {
	tags := c.fm.tags
	if tags == nil {
		tags = c.derivedTags(nil, nil)
	}
	var phase *int
	if c.fm.phase != nil {
		p := *c.fm.phase
		phase = &p
	}
	for _, part := range splitSentences(c.src, 0, len(c.src), nil) {
		c.appendChunk(part, c.fileTitle(), []string{}, phase, tags)
	}
}

func (c *chunker) run(doc ast.Node) {
	blocks := c.topBlocks(doc)
	var (
		stack   []heading // enclosing headings, outermost first
		section []block   // the current section, its heading first if any
		cur     *heading  // the current section's heading, nil before the first
	)
	flush := func() {
		if len(section) > 0 {
			c.emit(cur, stack, section)
		}
	}
	for _, b := range blocks {
		h, ok := b.node.(*ast.Heading)
		if !ok {
			section = append(section, b)
			continue
		}
		flush()
		// The new heading's parents: the open headings of lower level.
		if cur != nil {
			stack = append(stack, *cur)
		}
		for len(stack) > 0 && stack[len(stack)-1].level >= h.Level {
			stack = stack[:len(stack)-1]
		}
		cur = &heading{level: h.Level, text: headingText(h, c.src)}
		section = []block{b}
	}
	flush()
}

// topBlocks returns the document's top-level blocks with byte ranges that
// tile the source: each block runs from its start to the next block's
// start, so blank lines and link reference definitions (which have no
// node) stay with the block before them, and nothing is lost.
func (c *chunker) topBlocks(doc ast.Node) []block {
	var out []block
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		start := blockStart(n, c.src)
		if start < 0 {
			continue
		}
		if len(out) > 0 && start < out[len(out)-1].start {
			start = out[len(out)-1].start
		}
		out = append(out, block{node: n, start: start})
	}
	for i := range out {
		if i+1 < len(out) {
			out[i].end = out[i+1].start
		} else {
			out[i].end = len(c.src)
		}
	}
	if len(out) > 0 {
		// Text before the first block (only link reference definitions or
		// blank lines can be there) joins the first block.
		out[0].start = 0
	}
	return out
}

// blockStart returns the offset of the start of the line on which n
// begins, or -1 if n has no position.
func blockStart(n ast.Node, src []byte) int {
	pos := n.Pos()
	if pos < 0 {
		pos = firstSegment(n)
	}
	if pos < 0 || pos > len(src) {
		return -1
	}
	return bytes.LastIndexByte(src[:pos], '\n') + 1
}

// firstSegment returns the smallest source offset of n's lines or its
// descendants' lines, or -1.
func firstSegment(n ast.Node) int {
	best := -1
	_ = ast.Walk(n, func(m ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || m.Type() != ast.TypeBlock {
			return ast.WalkContinue, nil
		}
		if lines := m.Lines(); lines != nil && lines.Len() > 0 {
			if s := lines.At(0).Start; best < 0 || s < best {
				best = s
			}
		}
		return ast.WalkContinue, nil
	})
	return best
}

// headingText returns a heading's text without markup: the text of its
// inlines, with code spans, link and image text kept. The block parse
// leaves a heading's raw text in its lines; it is parsed here, at most
// maxHeadingBytes of it.
func headingText(h *ast.Heading, src []byte) string {
	var raw []byte
	lines := h.Lines()
	for i := range lines.Len() {
		if i > 0 {
			raw = append(raw, '\n')
		}
		seg := lines.At(i)
		raw = append(raw, seg.Value(src)...)
		if len(raw) > maxHeadingBytes {
			cut := maxHeadingBytes
			for cut > 0 && !utf8.RuneStart(raw[cut]) {
				cut--
			}
			raw = raw[:cut]
			break
		}
	}
	if !bytes.ContainsAny(raw, "`*_[]<>!\\&") {
		// No inline markup can start here: the text is the text.
		return strings.Join(strings.Fields(string(raw)), " ")
	}
	var b strings.Builder
	doc := inlineParser.Parse(text.NewReader(raw))
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := n.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(raw))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		case *ast.AutoLink:
			b.Write(t.Label(raw))
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// emit turns one section into one or more chunks.
//
// A heading with no block of its own before the next heading yields no
// chunk: it would hold nothing but its title, which lives on in the Parents
// (and the indexed text) of the sections under it.
func (c *chunker) emit(h *heading, parents []heading, blocks []block) {
	if h != nil && len(blocks) == 1 {
		return
	}
	section := ""
	if h != nil {
		section = h.text
	}
	if section == "" {
		section = c.fileTitle()
	}
	parentTexts := make([]string, 0, len(parents))
	for _, p := range parents {
		if p.text != "" {
			parentTexts = append(parentTexts, p.text)
		}
	}
	var phase *int
	if p, ok := c.headingPhase(section, parentTexts); ok && h != nil {
		phase = &p
	} else if c.fm.phase != nil {
		p := *c.fm.phase
		phase = &p
	}
	tags := c.fm.tags
	if tags == nil {
		tags = c.derivedTags(h, parentTexts)
	}
	for _, part := range c.parts(blocks) {
		c.appendChunk(part, section, slices.Clip(parentTexts), phase, tags)
	}
}

// appendChunk adds the chunk for the source range part, unless it is blank.
func (c *chunker) appendChunk(part [2]int, section string, parents []string, phase *int, tags []string) {
	content := trimBlank(string(c.src[part[0]:part[1]]))
	if content == "" {
		return
	}
	c.out = append(c.out, Chunk{
		Content: content,
		File:    c.file,
		Section: section,
		Parents: parents,
		Tokens:  EstimateTokens(content),
		Phase:   phase,
		Tags:    tags,
	})
}

// fileTitle names the text before the first heading: the front matter
// title, or the file name without its extension.
func (c *chunker) fileTitle() string {
	if c.fm.title != "" {
		return c.fm.title
	}
	base := path.Base(strings.ReplaceAll(strings.ToValidUTF8(c.file, "\uFFFD"), "\\", "/"))
	if ext := path.Ext(base); ext != "" && ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// trimBlank removes blank lines at the start and white space at the end,
// keeping the first line's indentation.
func trimBlank(s string) string {
	s = strings.TrimRightFunc(s, unicode.IsSpace)
	for {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok || strings.TrimSpace(line) != "" {
			return s
		}
		s = rest
	}
}

// parts splits a section's byte range into ranges of at most about
// maxChunkBytes, cutting only between blocks, or inside a block that is
// itself too large and is not code.
func (c *chunker) parts(blocks []block) [][2]int {
	start, end := blocks[0].start, blocks[len(blocks)-1].end
	if end-start <= maxChunkBytes {
		return [][2]int{{start, end}}
	}
	var units [][2]int
	for _, b := range blocks {
		units = c.units(b.node, b.start, b.end, units)
	}
	var out [][2]int
	cur := units[0]
	for _, u := range units[1:] {
		if u[1]-cur[0] > maxChunkBytes {
			out = append(out, cur)
			cur = u
			continue
		}
		cur[1] = u[1]
	}
	return append(out, cur)
}

// units appends to dst the ranges a part may be cut between within
// [start,end) of node n: the whole block when it fits or is code, else its
// child blocks (list items, quoted blocks), else its sentences.
func (c *chunker) units(n ast.Node, start, end int, dst [][2]int) [][2]int {
	if end-start <= maxChunkBytes {
		return append(dst, [2]int{start, end})
	}
	switch n.Kind() {
	case ast.KindFencedCodeBlock, ast.KindCodeBlock, ast.KindHTMLBlock, ast.KindHeading:
		return append(dst, [2]int{start, end})
	}
	var kids []block
	for k := n.FirstChild(); k != nil; k = k.NextSibling() {
		if k.Type() != ast.TypeBlock {
			continue
		}
		s := blockStart(k, c.src)
		if s < start || s > end || (len(kids) > 0 && s < kids[len(kids)-1].start) {
			continue
		}
		kids = append(kids, block{node: k, start: s})
	}
	if len(kids) > 1 {
		kids[0].start = start
		for i := range kids {
			if i+1 < len(kids) {
				kids[i].end = kids[i+1].start
			} else {
				kids[i].end = end
			}
			dst = c.units(kids[i].node, kids[i].start, kids[i].end, dst)
		}
		return dst
	}
	if len(kids) == 1 && kids[0].node.Kind() != n.Kind() {
		return c.units(kids[0].node, start, end, dst)
	}
	return splitSentences(c.src, start, end, dst)
}

// splitSentences cuts [start,end) after sentence ends (". ", "! ", "? "
// followed by white space) and line breaks, so that each range fits in
// maxChunkBytes where possible; a run without such a cut is cut at white
// space, and a run without white space at a rune boundary.
func splitSentences(src []byte, start, end int, dst [][2]int) [][2]int {
	for end-start > maxChunkBytes {
		limit := start + maxChunkBytes
		cut := lastCut(src[start:limit], isSentenceEnd)
		if cut <= 0 {
			cut = lastCut(src[start:limit], func(s []byte, i int) bool { return s[i] == ' ' || s[i] == '\t' || s[i] == '\n' })
		}
		if cut <= 0 {
			cut = maxChunkBytes
			for cut > 0 && !utf8.RuneStart(src[start+cut]) {
				cut--
			}
			if cut == 0 {
				cut = maxChunkBytes
			}
		}
		dst = append(dst, [2]int{start, start + cut})
		start += cut
	}
	if end > start {
		dst = append(dst, [2]int{start, end})
	}
	return dst
}

// lastCut returns the offset just after the last i in s for which at(s,
// i) holds, or 0.
func lastCut(s []byte, at func([]byte, int) bool) int {
	for i := len(s) - 1; i > 0; i-- {
		if at(s, i) {
			return i + 1
		}
	}
	return 0
}

func isSentenceEnd(s []byte, i int) bool {
	if s[i] == '\n' {
		return true
	}
	if s[i] != ' ' && s[i] != '\t' {
		return false
	}
	switch s[i-1] {
	case '.', '!', '?', ':', ';':
		return true
	}
	return false
}

// derivedTags are the tags of a file without front matter tags: its
// folder's name and the significant words of the section's headings, its
// own first, then its parents' from the nearest, at most MaxFileTags.
func (c *chunker) derivedTags(h *heading, parents []string) []string {
	var tags []string
	add := func(words []string) {
		for _, w := range words {
			if len(tags) == MaxFileTags {
				return
			}
			if !slices.Contains(tags, w) {
				tags = append(tags, w)
			}
		}
	}
	if c.folderTag != "" {
		add([]string{c.folderTag})
	}
	if h != nil {
		add(headingWords(h.text))
	}
	for _, p := range slices.Backward(parents) {
		if len(tags) == MaxFileTags {
			break
		}
		add(c.parent(p).words)
	}
	kept, _ := firstTags(tags)
	return kept
}

// headingWords returns the first MaxFileTags distinct significant words of
// a heading, lower case.
func headingWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	}) {
		w = strings.Trim(w, "-")
		if utf8.RuneCountInString(w) >= 3 && utf8.RuneCountInString(w) <= MaxTagRunes && !insignificant[w] && !isNumber(w) && !slices.Contains(out, w) {
			out = append(out, w)
			if len(out) == MaxFileTags {
				break
			}
		}
	}
	return out
}

func isNumber(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
}

// insignificant are heading words that make poor tags: English stop words
// and words that appear in the headings of any kind of document.
var insignificant = func() map[string]bool {
	m := map[string]bool{}
	for w := range strings.FieldsSeq(`
		a an and are as at be but by for from has have how in into is it its
		not of on or our that the their then there these this those to was
		were what when where which who why will with you your all any can do
		does don't must should may use using used via vs per each every more
		most other some than also only very about after before over under
		phase step steps part section chapter overview introduction intro
		summary notes note example examples appendix guide guidelines misc
		general rules rule details detail reference references faq todo`) {
		m[w] = true
	}
	return m
}()
