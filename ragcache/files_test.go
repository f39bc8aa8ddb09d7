package ragcache

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiffFiles(t *testing.T) {
	old := []FileInfo{{Path: "a.md", Size: 1, Sum: 1}, {Path: "b.md", Size: 1, Sum: 2}, {Path: "c.md", Size: 1, Sum: 3}}
	cur := []FileInfo{{Path: "b.md", Size: 1, Sum: 9}, {Path: "c.md", Size: 1, Sum: 3}, {Path: "d.md", Size: 1, Sum: 4}}
	added, removed, modified := diffFiles(old, cur)
	assert.Equal(t, []string{"d.md"}, added)
	assert.Equal(t, []string{"a.md"}, removed)
	assert.Equal(t, []string{"b.md"}, modified)
	added, removed, modified = diffFiles(nil, cur)
	assert.Equal(t, []string{"b.md", "c.md", "d.md"}, added)
	assert.Empty(t, removed)
	assert.Empty(t, modified)
}

// TestFilesReadAndChange lists and reads the indexed files, refuses any
// other path, and reports each rebuild to OnChange with what changed.
func TestFilesReadAndChange(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte("# A\n\nfirst\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not markdown"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(t.TempDir(), "outside.md"), []byte("# Out\n"), 0o644))
	log, _ := testLogger()
	ix := openTest(t, Config{Dir: dir, Logger: log}, hooks{})
	ctx := t.Context()

	files := ix.Files()
	require.Len(t, files, 1)
	assert.Equal(t, FileInfo{Path: "a.md", Size: int64(len("# A\n\nfirst\n")), Sum: files[0].Sum}, files[0])
	b, fi, err := ix.ReadFile(ctx, "a.md")
	require.NoError(t, err)
	assert.Equal(t, "# A\n\nfirst\n", string(b))
	assert.Equal(t, files[0], fi)
	for _, p := range []string{"notes.txt", "../outside.md", "/etc/passwd", "b.md", ""} {
		_, _, err := ix.ReadFile(ctx, p)
		require.ErrorIs(t, err, ErrNoFile, p)
	}

	changes := make(chan Change, 4)
	remove := ix.OnChange(func(c Change) { changes <- c })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte("# A\n\nsecond\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.md"), []byte("# B\n"), 0o644))
	require.NoError(t, ix.Reindex(ctx))
	c := <-changes
	assert.Equal(t, uint64(2), c.Generation)
	assert.Equal(t, []string{"b.md"}, c.Added)
	assert.Equal(t, []string{"a.md"}, c.Modified)
	assert.Empty(t, c.Removed)
	require.NoError(t, c.Err)
	b, _, err = ix.ReadFile(ctx, "a.md")
	require.NoError(t, err)
	assert.Equal(t, "# A\n\nsecond\n", string(b), "a new generation reads the new content")

	remove()
	require.NoError(t, ix.Reindex(ctx))
	assert.Empty(t, changes, "a removed function is not called")
}

// TestMemoSharedByHitsOfOneEntry: every search answered by one query cache
// entry carries the same Memo; a rebuild starts a new entry and a new Memo.
func TestMemoSharedByHitsOfOneEntry(t *testing.T) {
	log, _ := testLogger()
	ix := openTest(t, Config{Logger: log}, hooks{})
	ctx := t.Context()
	first, err := ix.Search(ctx, Query{Text: "error handling"})
	require.NoError(t, err)
	require.NotNil(t, first.Memo)
	assert.Nil(t, first.Memo.Load())
	first.Memo.Store("encoded")
	hit, err := ix.Search(ctx, Query{Text: "error handling"})
	require.NoError(t, err)
	require.True(t, hit.CacheHit)
	assert.Same(t, first.Memo, hit.Memo)
	assert.Equal(t, "encoded", hit.Memo.Load())
	other, err := ix.Search(ctx, Query{Text: "code review"})
	require.NoError(t, err)
	assert.NotSame(t, first.Memo, other.Memo)

	require.NoError(t, ix.Reindex(ctx))
	fresh, err := ix.Search(ctx, Query{Text: "error handling"})
	require.NoError(t, err)
	assert.False(t, fresh.CacheHit)
	assert.NotSame(t, first.Memo, fresh.Memo)
	assert.Nil(t, fresh.Memo.Load())
}
