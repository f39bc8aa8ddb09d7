package ragcache

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const corpus = "testdata/corpus"

func TestSearchRanking(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	tests := []struct{ query, file string }{
		{"rotate a leaked API key", "security/secrets.md"},
		{"where to store passwords", "security/secrets.md"},
		{"prevent SQL injection", "security/input-validation.md"},
		{"roll back a schema migration", "backend/database-migrations.md"},
		{"migrating schemas", "backend/database-migrations.md"}, // stemming
		{"personal data in logs", "backend/logging.md"},
		{"which log level for recoverable problems", "backend/logging.md"},
		{"pagination of list endpoints", "backend/http-apis.md"},
		{"status code for invalid input", "backend/http-apis.md"},
		{"screen reader and keyboard navigation", "frontend/accessibility.md"},
		{"colour contrast ratio", "frontend/accessibility.md"},
		{"write a postmortem after an outage", "ops/incident-response.md"},
		{"on-call alert acknowledgement", "ops/incident-response.md"},
		{"what goes in the README", "docs/writing-docs.md"},
		{"how to run the tests", "docs/writing-docs.md"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r, err := ix.Search(t.Context(), Query{Text: tt.query, Limit: 3})
			require.NoError(t, err)
			var files []string
			for _, c := range r.Chunks {
				files = append(files, c.File)
			}
			assert.Contains(t, files, tt.file, "top 3 for %q", tt.query)
			assert.Equal(t, MethodBM25, r.Method)
		})
	}
}

func TestSearchResultShape(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	r, err := ix.Search(t.Context(), Query{Text: "Postmortem"})
	require.NoError(t, err)
	require.NotEmpty(t, r.Chunks)
	c := r.Chunks[0]
	assert.Equal(t, "ops/incident-response.md", c.File)
	assert.Equal(t, "Phase 3: Postmortem", c.Section)
	assert.Equal(t, []string{"Incident response"}, c.Parents)
	require.NotNil(t, c.Phase)
	assert.Equal(t, 3, *c.Phase)
	assert.Equal(t, []string{"incidents", "operations"}, c.Tags)
	assert.Positive(t, c.Score)
	total := 0
	for i, c := range r.Chunks {
		total += c.Tokens
		if i > 0 {
			assert.LessOrEqual(t, c.Score, r.Chunks[i-1].Score, "results are sorted by score")
		}
	}
	assert.Equal(t, total, r.TotalTokens)
	assert.LessOrEqual(t, len(r.Chunks), DefaultLimit)
	assert.Positive(t, r.Took)

	r, err = ix.Search(t.Context(), Query{Text: "the", Limit: 10})
	require.NoError(t, err, "a query of stop words only is valid")
	assert.Empty(t, r.Chunks)
}

func TestSearchFilters(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	phase := 2
	r, err := ix.Search(t.Context(), Query{Text: "restore service roll back", Phase: &phase, Limit: 50})
	require.NoError(t, err)
	require.NotEmpty(t, r.Chunks)
	for _, c := range r.Chunks {
		require.NotNil(t, c.Phase, "%s %s", c.File, c.Section)
		assert.Equal(t, 2, *c.Phase)
	}

	r, err = ix.Search(t.Context(), Query{Text: "roll back", Tags: []string{"Database"}, Limit: 50})
	require.NoError(t, err)
	require.NotEmpty(t, r.Chunks)
	for _, c := range r.Chunks {
		assert.Equal(t, "backend/database-migrations.md", c.File)
	}

	// Every tag must match: no file is tagged both security and database.
	r, err = ix.Search(t.Context(), Query{Text: "roll back", Tags: []string{"security", "database"}})
	require.NoError(t, err)
	assert.Empty(t, r.Chunks)
}

func TestSearchInvalidQuery(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	neg, big, unknownPhase := -1, MaxPhase+1, 7
	tests := []struct {
		name  string
		q     Query
		field string
		says  string
	}{
		{"empty", Query{}, "query", "is empty"},
		{"white space only", Query{Text: " \t\n "}, "query", "is empty"},
		{"too long", Query{Text: strings.Repeat("é", MaxQueryRunes+1)}, "query", "1001 characters"},
		{"absurdly long", Query{Text: strings.Repeat(" ", 1<<20) + "x"}, "query", "1048577 bytes"},
		{"limit zero is the default, negative is not", Query{Text: "x", Limit: -1}, "limit", "between 1 and 50"},
		{"limit too high", Query{Text: "x", Limit: MaxLimit + 1}, "limit", "got 51"},
		{"negative phase", Query{Text: "x", Phase: &neg}, "phase", "between 0 and"},
		{"phase too high", Query{Text: "x", Phase: &big}, "phase", "between 0 and"},
		{"unknown phase", Query{Text: "x", Phase: &unknownPhase}, "phase", "known phases: 1, 2, 3"},
		{"unknown tag", Query{Text: "x", Tags: []string{"kubernetes"}}, "tags", `tagged "kubernetes"`},
		{"empty tag", Query{Text: "x", Tags: []string{"security", " "}}, "tags", "tag 1 is empty"},
		{"too many tags", Query{Text: "x", Tags: make([]string, MaxTags+1)}, "tags", "at most 16"},
		{"long tag", Query{Text: "x", Tags: []string{strings.Repeat("t", MaxTagRunes+1)}}, "tags", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ix.Search(t.Context(), tt.q)
			require.ErrorIs(t, err, ErrInvalidQuery)
			var qe *QueryError
			require.ErrorAs(t, err, &qe)
			assert.Equal(t, tt.field, qe.Field)
			assert.Contains(t, err.Error(), tt.says)
			assert.True(t, strings.HasPrefix(err.Error(), "ragcache: invalid query: "+tt.field+": "), err.Error())
		})
	}
	_, err := ix.Search(t.Context(), Query{Text: strings.Repeat("é", MaxQueryRunes)})
	require.NoError(t, err, "exactly MaxQueryRunes characters is allowed")
}

func TestSearchCache(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	first, err := ix.Search(t.Context(), Query{Text: "SQL injection"})
	require.NoError(t, err)
	assert.False(t, first.CacheHit)
	require.NotEmpty(t, first.Chunks)
	want := first.Chunks[0]

	// Appending to a result must not reach the cache: the capacity is
	// clipped, so append copies.
	assert.Equal(t, len(first.Chunks), cap(first.Chunks))
	grown := first.Chunks
	grown = append(grown, Chunk{Content: "appended"})
	grown[0].Content = "changed in the caller's copy"

	again, err := ix.Search(t.Context(), Query{Text: "  sql\tINJECTION "})
	require.NoError(t, err)
	assert.True(t, again.CacheHit, "a query differing only in case and white space hits the cache")
	assert.Equal(t, want, again.Chunks[0])
	assert.Len(t, again.Chunks, len(first.Chunks))

	third, err := ix.Search(t.Context(), Query{Text: "sql injection"})
	require.NoError(t, err)
	assert.True(t, third.CacheHit)

	m := ix.Metrics()
	assert.Equal(t, int64(1), m.Loads)
	assert.Equal(t, int64(2), m.Hits)
	assert.Equal(t, int64(1), m.Misses, "a miss is counted once, not by both Get and GetOrLoad")
	assert.InDelta(t, 2.0/3.0, m.HitRate, 1e-9)
	assert.Equal(t, int64(1), ix.Stats().Searches)

	// A different limit or filter is a different query.
	r, err := ix.Search(t.Context(), Query{Text: "sql injection", Limit: 1})
	require.NoError(t, err)
	assert.False(t, r.CacheHit)
	r, err = ix.Search(t.Context(), Query{Text: "sql injection", Tags: []string{"security"}})
	require.NoError(t, err)
	assert.False(t, r.CacheHit)
	r, err = ix.Search(t.Context(), Query{Text: "sql injection", Tags: []string{"SECURITY", "security"}})
	require.NoError(t, err)
	assert.True(t, r.CacheHit, "tags are normalized and deduplicated")
}

func TestSearchAfterReindexNeverServesOldGeneration(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.md", "# Alpha\n\nversion one\n")
	ix := openTest(t, Config{Dir: dir}, hooks{})
	r, err := ix.Search(t.Context(), Query{Text: "alpha"})
	require.NoError(t, err)
	require.Contains(t, r.Chunks[0].Content, "version one")

	writeFile(t, dir, "a.md", "# Alpha\n\nversion two\n")
	require.NoError(t, ix.Reindex(t.Context()))
	r, err = ix.Search(t.Context(), Query{Text: "alpha"})
	require.NoError(t, err)
	assert.False(t, r.CacheHit)
	assert.Contains(t, r.Chunks[0].Content, "version two")
	st := ix.Stats()
	assert.Equal(t, uint64(2), st.Generation)
	assert.Equal(t, int64(1), st.Reindexes)
}

func TestReindexFailureKeepsIndex(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "std")
	require.NoError(t, os.Mkdir(sub, 0o755))
	writeFile(t, sub, "a.md", "# Alpha\n\nbody\n")
	ix := openTest(t, Config{Dir: sub}, hooks{})
	require.NoError(t, os.RemoveAll(sub))
	err := ix.Reindex(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.Dir")
	st := ix.Stats()
	assert.Equal(t, uint64(1), st.Generation)
	assert.Equal(t, int64(1), st.ReindexErrors)
	r, err := ix.Search(t.Context(), Query{Text: "alpha"})
	require.NoError(t, err)
	assert.Len(t, r.Chunks, 1)
}

func TestOpenConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		says string
	}{
		{"negative TTL", Config{CacheTTL: -1}, "CacheTTL"},
		{"negative bound", Config{CacheMaxEntries: -1}, "CacheMaxEntries"},
		{"watch without dir", Config{Watch: true}, "Watch needs Dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), tt.cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
	_, err := Open(t.Context(), Config{Dir: filepath.Join(t.TempDir(), "missing")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Config.Dir")
	_, err = Open(t.Context(), Config{Dir: writeFile(t, t.TempDir(), "file.md", "x")})
	require.Error(t, err, "Dir must be a folder")
}

func TestOpenSkipsBadFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "good.md", "# Good\n\nkeep me\n")
	writeFile(t, dir, "empty.md", "")
	writeFile(t, dir, "binary.md", "# Bin\xff\xfe\n\n\x00\x01\x02 bytes\n")
	writeFile(t, dir, "huge.md", "# Huge\n\n"+strings.Repeat("a", MaxFileBytes))
	writeFile(t, dir, "notes.txt", "# Not markdown\n")
	writeFile(t, dir, ".hidden/secret.md", "# Hidden\n")
	writeFile(t, dir, "nested/deep/more.md", "# Deep\n\ndeep text\n")
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "escape.md")))
	log, logs := testLogger()
	ix := openTest(t, Config{Dir: dir, Logger: log}, hooks{})

	st := ix.Stats()
	assert.Equal(t, 4, st.Files, "good, empty, binary, deep")
	assert.Equal(t, 2, st.Skipped, "huge and the symlink out of the folder")
	assert.Equal(t, 3, st.Chunks)
	assert.Contains(t, logs.String(), "huge.md")
	assert.Contains(t, logs.String(), "larger than 5 MiB")
	assert.Contains(t, logs.String(), "escape.md")

	r, err := ix.Search(t.Context(), Query{Text: "deep"})
	require.NoError(t, err)
	require.NotEmpty(t, r.Chunks)
	assert.Equal(t, "nested/deep/more.md", r.Chunks[0].File)
	assert.Equal(t, []string{"deep"}, r.Chunks[0].Tags, "the folder name is a tag")
	for _, q := range []string{"hidden", "markdown", "root"} {
		r, err := ix.Search(t.Context(), Query{Text: q})
		require.NoError(t, err)
		assert.Empty(t, r.Chunks, q)
	}
}

func TestOpenReportsProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range progressMinFiles {
		writeFile(t, dir, fmt.Sprintf("p/%03d.md", i), fmt.Sprintf("# File %d\n\nbody\n", i))
	}
	var progress syncBuffer
	ix := openTest(t, Config{Dir: dir, Progress: &progress}, hooks{})
	assert.Equal(t, progressMinFiles, ix.Stats().Files)
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	require.Len(t, lines, 12)
	assert.Equal(t, "ragcache: read 20/200 files, 20 chunks", lines[0])
	assert.Equal(t, "ragcache: read 200/200 files, 200 chunks", lines[9])
	assert.Equal(t, "ragcache: indexing 200 chunks", lines[10])
	assert.True(t, strings.HasPrefix(lines[11], "ragcache: index ready: 200 files, 200 chunks in "), lines[11])

	progress = syncBuffer{}
	small := openTest(t, Config{Dir: corpus, Progress: &progress}, hooks{})
	assert.Positive(t, small.Stats().Files)
	assert.Empty(t, progress.String(), "no progress for a small corpus")
}

func TestBuiltinStandards(t *testing.T) {
	ix := openTest(t, Config{}, hooks{})
	st := ix.Stats()
	assert.Equal(t, "builtin", st.Source)
	assert.GreaterOrEqual(t, st.Files, 5)
	for _, tt := range []struct{ query, file string }{
		{"table driven tests", "engineering/testing.md"},
		{"wrap errors with context", "engineering/error-handling.md"},
		{"goroutine leak", "engineering/concurrency.md"},
		{"review comments blocking nit", "process/code-review.md"},
		{"commit message subject line", "process/git.md"},
	} {
		r, err := ix.Search(t.Context(), Query{Text: tt.query, Limit: 3})
		require.NoError(t, err)
		require.NotEmpty(t, r.Chunks, tt.query)
		assert.Equal(t, tt.file, r.Chunks[0].File, tt.query)
	}
	p := 2
	r, err := ix.Search(t.Context(), Query{Text: "tests", Phase: &p})
	require.NoError(t, err)
	assert.NotEmpty(t, r.Chunks)
}

func TestOpenEmptyFolder(t *testing.T) {
	ix := openTest(t, Config{Dir: t.TempDir()}, hooks{})
	st := ix.Stats()
	assert.Zero(t, st.Files)
	assert.Zero(t, st.Chunks)
	r, err := ix.Search(t.Context(), Query{Text: "anything"})
	require.NoError(t, err)
	assert.Empty(t, r.Chunks)
	_, err = ix.Search(t.Context(), Query{Text: "anything", Tags: []string{"x"}})
	require.ErrorIs(t, err, ErrInvalidQuery)
	assert.Contains(t, err.Error(), "known tags include: none")
}

func TestSearchAfterClose(t *testing.T) {
	ix, err := Open(t.Context(), Config{Dir: corpus})
	require.NoError(t, err)
	require.NoError(t, ix.Close())
	require.NoError(t, ix.Close(), "Close is idempotent")
	_, err = ix.Search(t.Context(), Query{Text: "x"})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, ix.Reindex(t.Context()), ErrClosed)
	assert.Equal(t, uint64(1), ix.Stats().Generation)
}

func TestQueryErrorUnwrap(t *testing.T) {
	err := error(&QueryError{Field: "limit", Problem: "p"})
	require.ErrorIs(t, err, ErrInvalidQuery)
	assert.Equal(t, "ragcache: invalid query: limit: p", err.Error())
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// TestSearchHitDoesNotAllocate pins what the query cache is for: a hit
// costs one lookup and no allocation, the lookup included.
func TestSearchHitDoesNotAllocate(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	ctx := t.Context()
	_, err := ix.Search(ctx, Query{Text: "SQL injection", Limit: 3})
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		r, err := ix.Search(ctx, Query{Text: "sql injection", Limit: 3})
		if err != nil || !r.CacheHit {
			t.Fatalf("hit expected: %v", err)
		}
	})
	assert.Zero(t, allocs)
	m := ix.Metrics()
	assert.Equal(t, int64(1), m.Misses)
	assert.Equal(t, int64(1), m.Loads)
}
