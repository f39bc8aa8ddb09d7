//go:build unix

package ragcache

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestFIFOInStandardsIsSkippedNotWaitedOn: a named pipe called *.md in the
// standards folder, there at start or created later, is skipped with a
// warning naming it; Open, a watched rebuild and Reindex all return.
func TestFIFOInStandardsIsSkippedNotWaitedOn(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.md", "# Alpha\n\nfirst draft\n")
	testutil.MakeFIFO(t, filepath.Join(dir, "pipe.md"))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))

	log, logs := testLogger()
	ch := make(chan rebuild, 64)
	var (
		ix  *Index
		err error
	)
	if !testutil.Returns(t, "Open", func() {
		ix, err = open(context.Background(), Config{Dir: dir, Watch: true, Logger: log}, hooks{
			debounce:     time.Millisecond,
			afterRebuild: func(gen uint64, err error) { ch <- rebuild{gen, err} },
		})
	}) {
		return
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = ix.Close() })
	st := ix.Stats()
	assert.Equal(t, 1, st.Files)
	assert.Equal(t, 1, st.Skipped)
	assert.Contains(t, logs.String(), "pipe.md")
	assert.Contains(t, logs.String(), "named pipe")

	// Created while the watcher runs: the rebuild it starts finishes.
	testutil.MakeFIFO(t, filepath.Join(dir, "sub", "later.md"))
	writeFile(t, dir, "a.md", "# Alpha\n\nsecond draft\n")
	awaitSearch(t, ix, ch, "alpha", "second draft")
	if testutil.Returns(t, "Reindex", func() { err = ix.Reindex(t.Context()) }) {
		require.NoError(t, err)
		assert.Equal(t, 2, ix.Stats().Skipped)
		assert.Contains(t, logs.String(), "sub/later.md")
	}
	testutil.Returns(t, "Close", func() { _ = ix.Close() })
}
