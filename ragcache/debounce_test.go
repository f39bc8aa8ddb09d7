package ragcache

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchBusyFileStillReindexes pins the frozen index: a file rewritten
// every 200 ms kept restarting the 500 ms debounce, so the index never
// caught up. Now a burst is rebuilt at most DefaultMaxWait after its first
// change, however many changes follow, and once more after the last.
// Time is synctest's: the test takes no wall-clock time.
func TestWatchBusyFileStillReindexes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rebuilds := debounceRun(t, 200*time.Millisecond, 50)
		require.NotEmpty(t, rebuilds, "no rebuild at all during 10 s of changes")
		assert.LessOrEqual(t, rebuilds[0], DefaultMaxWait, "first rebuild after the first change")
		for i := 1; i < len(rebuilds); i++ {
			// The next burst starts with the first change after a
			// rebuild, at most one period later.
			assert.LessOrEqual(t, rebuilds[i]-rebuilds[i-1], DefaultMaxWait+200*time.Millisecond, "rebuild %d", i)
		}
		last := 49 * 200 * time.Millisecond
		assert.LessOrEqual(t, rebuilds[len(rebuilds)-1], last+DefaultDebounce, "the last change is indexed a debounce after it")
		assert.GreaterOrEqual(t, rebuilds[len(rebuilds)-1], last, "the last change is indexed")
		assert.LessOrEqual(t, len(rebuilds), 7, "a busy file costs one rebuild per DefaultMaxWait, not one per change")
	})
}

// TestWatchQuietBurstRebuildsOnce: changes closer together than the
// debounce, in a burst shorter than the maximum wait, make one rebuild,
// a debounce after the last of them.
func TestWatchQuietBurstRebuildsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rebuilds := debounceRun(t, 100*time.Millisecond, 5)
		assert.Equal(t, []time.Duration{400*time.Millisecond + DefaultDebounce}, rebuilds)
	})
}

// debounceRun feeds the debounce loop n changes of one file, one per
// period, then waits until it is idle, and returns when each rebuild
// happened after the first change. It runs inside a synctest bubble.
func debounceRun(t *testing.T, period time.Duration, n int) []time.Duration {
	t.Helper()
	ix := &Index{cfg: Config{Dir: "/standards"}, log: slog.New(slog.DiscardHandler),
		hooks: hooks{debounce: DefaultDebounce, maxWait: DefaultMaxWait}}
	events := make(chan fsnotify.Event)
	errs := make(chan error)
	ctx, cancel := context.WithCancel(t.Context())
	var rebuilds []time.Duration // written by the loop, read after done
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		ix.debounce(ctx, events, errs, func(string) {}, func() bool {
			rebuilds = append(rebuilds, time.Since(start))
			return true
		})
	}()
	for i := range n {
		if i > 0 {
			time.Sleep(period) // synctest's fake clock
		}
		events <- fsnotify.Event{Name: "/standards/a.md", Op: fsnotify.Write}
	}
	time.Sleep(DefaultMaxWait + DefaultDebounce)
	synctest.Wait()
	cancel()
	<-done
	return rebuilds
}
