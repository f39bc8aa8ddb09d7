package ragcache

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rebuild is one rebuild attempt reported by the watcher.
type rebuild struct {
	gen uint64
	err error
}

// openWatched opens a watched index on dir with a short debounce; rebuilds
// are reported on the returned channel.
func openWatched(t *testing.T, dir string) (*Index, <-chan rebuild, *syncBuffer) {
	t.Helper()
	ch := make(chan rebuild, 64)
	log, logs := testLogger()
	ix := openTest(t, Config{Dir: dir, Watch: true, Logger: log}, hooks{
		debounce:     20 * time.Millisecond,
		afterRebuild: func(gen uint64, err error) { ch <- rebuild{gen, err} },
	})
	return ix, ch, logs
}

// awaitSearch waits for rebuilds until query's top result contains want.
func awaitSearch(t *testing.T, ix *Index, ch <-chan rebuild, query, want string) Result {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		r, err := ix.Search(t.Context(), Query{Text: query})
		require.NoError(t, err)
		if len(r.Chunks) > 0 && strings.Contains(r.Chunks[0].Content, want) {
			return r
		}
		select {
		case rb := <-ch:
			require.NoError(t, rb.err)
		case <-timeout:
			t.Fatalf("no rebuild made %q find %q; top result: %v", query, want, r.Chunks)
		}
	}
}

func TestWatchReindexesChangedFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.md", "# Alpha\n\nfirst draft\n")
	ix, ch, _ := openWatched(t, dir)

	writeFile(t, dir, "a.md", "# Alpha\n\nsecond draft\n")
	awaitSearch(t, ix, ch, "alpha", "second draft")

	// A new folder, then a file in it: the folder must be watched too.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "team"), 0o755))
	awaitRebuild(t, ch)
	writeFile(t, dir, "team/b.md", "# Bravo\n\nin a new folder\n")
	r := awaitSearch(t, ix, ch, "bravo", "in a new folder")
	assert.Equal(t, "team/b.md", r.Chunks[0].File)
	writeFile(t, dir, "team/b.md", "# Bravo\n\nedited in the new folder\n")
	awaitSearch(t, ix, ch, "bravo", "edited in the new folder")

	require.NoError(t, os.Remove(filepath.Join(dir, "a.md")))
	timeout := time.After(10 * time.Second)
	for {
		r, err := ix.Search(t.Context(), Query{Text: "alpha"})
		require.NoError(t, err)
		if len(r.Chunks) == 0 {
			break
		}
		select {
		case rb := <-ch:
			require.NoError(t, rb.err)
		case <-timeout:
			t.Fatal("a deleted file is still found")
		}
	}
	assert.GreaterOrEqual(t, ix.Stats().Reindexes, int64(3))
}

func TestWatchRelevantEvents(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sub/x.txt", "x")
	ix := &Index{cfg: Config{Dir: dir}}
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		ev   fsnotify.Event
		want bool
	}{
		{fsnotify.Event{Name: p("a.md"), Op: fsnotify.Write}, true},
		{fsnotify.Event{Name: p("a.MARKDOWN"), Op: fsnotify.Create}, true},
		{fsnotify.Event{Name: p("a.md"), Op: fsnotify.Chmod}, false},
		{fsnotify.Event{Name: p("notes.txt"), Op: fsnotify.Write}, false},
		{fsnotify.Event{Name: p("image.png"), Op: fsnotify.Create}, false},
		{fsnotify.Event{Name: p("sub"), Op: fsnotify.Create}, true},
		{fsnotify.Event{Name: p("gone"), Op: fsnotify.Remove}, true},
		{fsnotify.Event{Name: p("moved"), Op: fsnotify.Rename}, true},
		{fsnotify.Event{Name: p(".git/index.md"), Op: fsnotify.Write}, false},
		{fsnotify.Event{Name: p("sub/.cache/a.md"), Op: fsnotify.Create}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ix.relevant(tt.ev), "%v", tt.ev)
	}
}

func TestWatchFailedRebuildKeepsIndex(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "std")
	writeFile(t, dir, "a.md", "# Alpha\n\nbody\n")
	ix, ch, logs := openWatched(t, dir)
	require.NoError(t, os.RemoveAll(dir))
	var rb rebuild
	select {
	case rb = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no rebuild after the folder was removed")
	}
	require.Error(t, rb.err)
	assert.Equal(t, uint64(1), rb.gen, "the old generation stays current")
	assert.Contains(t, logs.String(), "reindex failed, keeping the current index")
	r, err := ix.Search(t.Context(), Query{Text: "alpha"})
	require.NoError(t, err)
	assert.Len(t, r.Chunks, 1)
	assert.Positive(t, ix.Stats().ReindexErrors)
}

func TestWatchCloseStopsWatcher(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.md", "# Alpha\n\nbody\n")
	log, _ := testLogger()
	ix, err := Open(t.Context(), Config{Dir: dir, Watch: true, Logger: log})
	require.NoError(t, err)
	require.NoError(t, ix.Close())
	// goleak in TestMain fails the package if the watcher goroutine lived.
	writeFile(t, dir, "a.md", "# Alpha\n\nchanged after close\n")
}

func awaitRebuild(t *testing.T, ch <-chan rebuild) {
	t.Helper()
	select {
	case rb := <-ch:
		require.NoError(t, rb.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no rebuild")
	}
}

// TestWatchFailureKeepsServing pins the server that would not start when
// the user's inotify instances were used up: a watcher that cannot start,
// or cannot watch the folder, costs live reindex only. Open succeeds,
// Stats and WatchErr say why, and Reindex still picks up changes.
func TestWatchFailureKeepsServing(t *testing.T) {
	fails := map[string]func() (*fsnotify.Watcher, error){
		"no inotify instance": func() (*fsnotify.Watcher, error) {
			return nil, fmt.Errorf("inotify_init1: %w", syscall.EMFILE)
		},
		"cannot add the folder": func() (*fsnotify.Watcher, error) {
			w, err := fsnotify.NewWatcher()
			if err == nil {
				err = w.Close() // Add then fails, as with no watches left
			}
			return w, err
		},
	}
	for name, newWatcher := range fails {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "a.md", "# Alpha\n\nfirst draft\n")
			ix := openTest(t, Config{Dir: dir, Watch: true}, hooks{newWatcher: newWatcher})
			require.Error(t, ix.WatchErr())
			st := ix.Stats()
			assert.False(t, st.Watching)
			assert.Contains(t, st.WatchError, dir)
			writeFile(t, dir, "b.md", "# Bravo\n\nadded later\n")
			require.NoError(t, ix.Reindex(t.Context()))
			r, err := ix.Search(t.Context(), Query{Text: "bravo"})
			require.NoError(t, err)
			require.NotEmpty(t, r.Chunks)
			assert.Equal(t, "b.md", r.Chunks[0].File)
		})
	}
	ix := openTest(t, Config{Dir: t.TempDir(), Watch: true}, hooks{})
	require.NoError(t, ix.WatchErr())
	assert.True(t, ix.Stats().Watching)
}
