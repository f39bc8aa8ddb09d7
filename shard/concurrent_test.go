package shard

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// goroutineCounts are the sizes the concurrency tests run at.
func goroutineCounts() []int {
	return []int{1, runtime.GOMAXPROCS(0), 128}
}

func TestConcurrent(t *testing.T) {
	const keys, rounds = 64, 200
	for _, hname := range []string{"xxhash", "constHash"} {
		for _, n := range goroutineCounts() {
			newCache := func() *Cache[string, string] {
				if hname == "constHash" {
					return newTestCache[string, string](Config{Shards: 8}, constHash[string])
				}
				return newTestCache[string, string](Config{Shards: 8}, nil)
			}
			// Every goroutine works the same keys: each key's value is a
			// function of the key, so any value read must match it.
			t.Run(fmt.Sprintf("ConcurrentSharedKeys/%s/%d", hname, n), func(t *testing.T) {
				c := newCache()
				var loads [keys]atomic.Int64
				testutil.Release(n, func(g int) {
					for i := range rounds {
						k := strconv.Itoa((i + g) % keys)
						want := "v" + k
						switch i % 4 {
						case 0:
							got, err := c.GetOrLoad(context.Background(), k, func(context.Context, string) (string, error) {
								loads[(i+g)%keys].Add(1)
								return want, nil
							})
							if err != nil || got != want {
								t.Errorf("GetOrLoad(%s) = %q, %v", k, got, err)
							}
						case 1:
							if got, ok := c.Get(k); ok && got != want {
								t.Errorf("Get(%s) = %q", k, got)
							}
						case 2:
							c.Set(k, want)
						case 3:
							if g%8 == 0 {
								c.Delete(k)
							}
						}
					}
				})
				for k, v := range c.All() {
					assert.Equal(t, "v"+k, v)
				}
				m := c.Metrics()
				var total int64
				for i := range loads {
					total += loads[i].Load()
				}
				assert.Equal(t, total, m.Loads, "every load run is counted once")
			})
			// Every goroutine owns its keys: at the end each must hold
			// exactly what its owner wrote last.
			t.Run(fmt.Sprintf("ConcurrentUnsharedKeys/%s/%d", hname, n), func(t *testing.T) {
				c := newCache()
				testutil.Release(n, func(g int) {
					for i := range rounds {
						k := fmt.Sprintf("g%d-k%d", g, i%keys)
						v := fmt.Sprintf("g%d-v%d", g, i)
						if i%3 == 0 {
							got, err := c.GetOrLoad(context.Background(), k, func(context.Context, string) (string, error) { return v, nil })
							if err != nil {
								t.Errorf("GetOrLoad(%s): %v", k, err)
							}
							c.Set(k, got)
							continue
						}
						c.Set(k, v)
						if got, ok := c.Get(k); !ok || got != v {
							t.Errorf("Get(%s) = %q, %v; want own write %q", k, got, ok, v)
						}
					}
				})
				require.Equal(t, n*keys, c.Len())
			})
		}
	}
}

// TestStampede releases 128 goroutines on one missing key, 1,000 times.
// Each round must run exactly one load, give every caller its value, and
// account for every caller as the loader, a coalesced waiter or a hit.
func TestStampede(t *testing.T) {
	const callers, rounds = 128, 1000
	c := newTestCache[string, int](Config{}, nil)
	var loads atomic.Int64
	var wrong atomic.Int64
	var round atomic.Int64
	ctx := context.Background()

	// Persistent workers, released together each round.
	starts := make([]chan struct{}, callers)
	for i := range starts {
		starts[i] = make(chan struct{}, 1)
	}
	var done sync.WaitGroup
	quit := make(chan struct{})
	var exited sync.WaitGroup
	exited.Add(callers)
	for i := range callers {
		go func() {
			defer exited.Done()
			for {
				select {
				case <-quit:
					return
				case <-starts[i]:
				}
				r := round.Load()
				v, err := c.GetOrLoad(ctx, "hot", func(context.Context, string) (int, error) {
					loads.Add(1)
					runtime.Gosched() // let the others pile up on the pending entry
					return int(r), nil
				})
				if err != nil || v != int(r) {
					wrong.Add(1)
				}
				done.Done()
			}
		}()
	}
	for r := range rounds {
		round.Store(int64(r))
		c.ResetMetrics()
		loads.Store(0)
		done.Add(callers)
		for i := range callers {
			starts[i] <- struct{}{}
		}
		done.Wait()
		m := c.Metrics()
		if loads.Load() != 1 || m.Loads != 1 || m.Misses != 1 || m.Loads+m.Coalesced+m.Hits != callers {
			t.Fatalf("round %d: loads run %d, metrics %v; want one load and %d callers accounted for", r, loads.Load(), m, callers)
		}
		c.Delete("hot")
	}
	close(quit)
	exited.Wait()
	require.Zero(t, wrong.Load(), "callers that got an error or another round's value")
}

var errBoom = errors.New("boom")

func TestLoadErrorIsSharedAndNotCached(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	gate := make(chan struct{})
	entered := make(chan struct{})
	var loads atomic.Int64
	load := func(context.Context, string) (int, error) {
		if loads.Add(1) == 1 {
			close(entered)
		}
		<-gate
		return 0, errBoom
	}
	const n = 16
	errs := make(chan error, n)
	go func() {
		_, err := c.GetOrLoad(context.Background(), "k", load)
		errs <- err
	}()
	<-entered
	for range n - 1 {
		go func() {
			_, err := c.GetOrLoad(context.Background(), "k", load)
			errs <- err
		}()
	}
	// All waiters are parked once Coalesced reaches n-1.
	for c.Metrics().Coalesced < n-1 {
		runtime.Gosched()
	}
	close(gate)
	for range n {
		require.ErrorIs(t, <-errs, errBoom)
	}
	require.EqualValues(t, 1, loads.Load())
	_, ok := c.Get("k")
	require.False(t, ok, "a failed load must not be cached")
	require.Equal(t, 0, c.Len())

	v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return 7, nil })
	require.NoError(t, err)
	require.Equal(t, 7, v, "the next caller loads again")
	m := c.Metrics()
	require.EqualValues(t, 2, m.Loads)
	require.EqualValues(t, 1, m.LoadErrors)
	require.EqualValues(t, n-1, m.Coalesced)
}

func TestLoadPanicReleasesKey(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	for _, ctx := range []context.Context{context.Background(), t.Context()} {
		gate := make(chan struct{})
		entered := make(chan struct{})
		waiter := make(chan error, 1)
		loader := make(chan error, 1)
		go func() {
			_, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) {
				close(entered)
				<-gate
				panic("load exploded")
			})
			loader <- err
		}()
		<-entered
		go func() {
			_, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) { return 1, nil })
			waiter <- err
		}()
		for c.Metrics().Coalesced == 0 {
			runtime.Gosched()
		}
		close(gate)
		for _, err := range []error{<-loader, <-waiter} {
			require.ErrorIs(t, err, ErrLoadPanicked)
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "load exploded", pe.Value)
			require.NotEmpty(t, pe.Stack)
		}
		v, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) { return 2, nil })
		require.NoError(t, err, "the key must not stay wedged")
		require.Equal(t, 2, v)
		c.Delete("k")
		c.ResetMetrics()
	}
}

func TestPanicErrorUnwrapsErrorValue(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	_, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { panic(errBoom) })
	require.ErrorIs(t, err, ErrLoadPanicked)
	require.ErrorIs(t, err, errBoom)
}

// A waiter whose context ends returns at once; the load goes on for the
// others, and its value is stored.
func TestWaiterContextEnds(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	gate := make(chan struct{})
	entered := make(chan struct{})
	var loadCtxErr atomic.Value
	loaderCtx, cancelLoader := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "first"))
	loaderDone := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(loaderCtx, "k", func(ctx context.Context, _ string) (int, error) {
			close(entered)
			<-gate
			if ctx.Value(ctxKey{}) != "first" {
				return 0, errors.New("load context lost the first caller's values")
			}
			loadCtxErr.Store(fmt.Sprint(ctx.Err()))
			return 42, nil
		})
		loaderDone <- err
	}()
	<-entered

	waiterCtx, cancelWaiter := context.WithCancel(context.Background())
	waiterDone := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(waiterCtx, "k", func(context.Context, string) (int, error) { return -1, nil })
		waiterDone <- err
	}()
	patient := make(chan int, 1)
	go func() {
		v, _ := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return -1, nil })
		patient <- v
	}()
	for c.Metrics().Coalesced < 2 {
		runtime.Gosched()
	}

	cancelWaiter()
	require.ErrorIs(t, <-waiterDone, context.Canceled, "a waiter leaves as soon as its ctx ends")
	cancelLoader()
	require.ErrorIs(t, <-loaderDone, context.Canceled, "the first caller leaves too, while its load goes on")

	close(gate)
	require.Equal(t, 42, <-patient, "the others still get the value")
	require.Equal(t, "<nil>", loadCtxErr.Load(), "the load's context is not cancelled by callers leaving")
	v, ok := c.Get("k")
	require.True(t, ok)
	require.Equal(t, 42, v)
}

type ctxKey struct{}

func TestCancelledContextBeforeLoad(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) {
		t.Error("a load must not start for a caller that has already left")
		return 0, nil
	})
	require.ErrorIs(t, err, context.Canceled)
	c.Set("k", 1)
	v, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) { return 0, nil })
	require.NoError(t, err, "a hit needs no live context")
	require.Equal(t, 1, v)
}

// Delete, Clear and Set during a load: the load's callers get its value, the
// value is not stored over the later change, and the next GetOrLoad loads
// again (after Delete or Clear) or sees the Set value.
func TestChangeDuringLoad(t *testing.T) {
	cases := map[string]struct {
		change  func(c *Cache[string, int])
		wantGet func(t *testing.T, v int, ok bool)
	}{
		"Delete": {func(c *Cache[string, int]) { c.Delete("k") }, func(t *testing.T, _ int, ok bool) {
			t.Helper()
			require.False(t, ok)
		}},
		"Clear": {func(c *Cache[string, int]) { c.Clear() }, func(t *testing.T, _ int, ok bool) {
			t.Helper()
			require.False(t, ok)
		}},
		"Set": {func(c *Cache[string, int]) { c.Set("k", 99) }, func(t *testing.T, v int, ok bool) {
			t.Helper()
			require.True(t, ok)
			require.Equal(t, 99, v)
		}},
	}
	for name, tc := range cases {
		for _, bound := range []int{0, 8} {
			t.Run(fmt.Sprintf("%s/max=%d", name, bound), func(t *testing.T) {
				c := newTestCache[string, int](Config{MaxEntries: bound}, nil)
				gate := make(chan struct{})
				entered := make(chan struct{})
				got := make(chan int, 1)
				go func() {
					v, _ := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) {
						close(entered)
						<-gate
						return 1, nil
					})
					got <- v
				}()
				<-entered
				tc.change(c)
				close(gate)
				require.Equal(t, 1, <-got, "the load's caller gets the load's value")
				v, ok := c.Get("k")
				tc.wantGet(t, v, ok)
				v, err := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) { return 2, nil })
				require.NoError(t, err)
				if ok {
					require.Equal(t, 99, v)
				} else {
					require.Equal(t, 2, v, "the next caller loads again")
				}
				require.Equal(t, 1, c.Len())
			})
		}
	}
}

// A load that has not finished must not delay Set or GetOrLoad of other
// keys, even while the table grows many times over. Proven with channels:
// the slow load is released only after all the other work has completed.
func TestSlowLoadDoesNotBlockOtherKeys(t *testing.T) {
	for _, hname := range []string{"xxhash", "constHash"} {
		t.Run(hname, func(t *testing.T) {
			c := newTestCache[int, int](Config{}, nil)
			if hname == "constHash" {
				c = newTestCache[int, int](Config{Shards: 4}, constHash[int])
			}
			gate := make(chan struct{})
			entered := make(chan struct{})
			slowDone := make(chan struct{})
			go func() {
				defer close(slowDone)
				_, _ = c.GetOrLoad(context.Background(), -1, func(context.Context, int) (int, error) {
					close(entered)
					<-gate
					return -1, nil
				})
			}()
			<-entered
			const others = 20000 // grows the table from its minimum many times
			testutil.Release(4, func(g int) {
				for i := g; i < others; i += 4 {
					if i%2 == 0 {
						c.Set(i, i)
						continue
					}
					v, err := c.GetOrLoad(context.Background(), i, func(context.Context, int) (int, error) { return i, nil })
					if err != nil || v != i {
						t.Errorf("GetOrLoad(%d) = %d, %v", i, v, err)
					}
				}
			})
			select {
			case <-slowDone:
				t.Fatal("the slow load finished before it was released")
			default:
			}
			require.Equal(t, others+1, c.Len(), "the other keys were all stored while the slow load was pending")
			close(gate)
			<-slowDone
			v, ok := c.Get(-1)
			require.True(t, ok)
			require.Equal(t, -1, v)
		})
	}
}

func TestGetDoesNotAllocate(t *testing.T) {
	for _, cfg := range []Config{{}, {Shards: 16}, {MaxEntries: 1000}, {TTL: 1 << 40, Clock: newFakeClock()}} {
		c := newTestCache[string, int](cfg, nil)
		c.Set("a-key-of-about-forty-bytes-0123456789abc", 1)
		allocs := testing.AllocsPerRun(1000, func() {
			if _, ok := c.Get("a-key-of-about-forty-bytes-0123456789abc"); !ok {
				t.Fatal("miss")
			}
			_, _ = c.Get("absent")
		})
		require.Zero(t, allocs, "config %+v", cfg)
		hit := testing.AllocsPerRun(1000, func() {
			_, _ = c.GetOrLoad(context.Background(), "a-key-of-about-forty-bytes-0123456789abc", nil)
		})
		require.Zero(t, hit, "GetOrLoad hit, config %+v", cfg)
		load := func(context.Context, string) (int, error) { return 0, nil }
		hitKey := testing.AllocsPerRun(1000, func() {
			_, _ = c.GetOrLoad(context.Background(), "a-key-of-about-forty-bytes-0123456789abc", load)
		})
		require.Zero(t, hitKey, "GetOrLoad hit with a load built once, config %+v", cfg)
		c.Close()
	}
}

func TestGetOrLoadPassesTheKey(t *testing.T) {
	c := newTestCache[string, string](Config{SizeHint: 1000}, nil)
	load := func(_ context.Context, k string) (string, error) { return "v:" + k, nil }
	for _, k := range []string{"a", "b", "a"} {
		v, err := c.GetOrLoad(t.Context(), k, load)
		require.NoError(t, err)
		require.Equal(t, "v:"+k, v)
	}
	m := c.Metrics()
	require.EqualValues(t, 2, m.Loads)
	require.EqualValues(t, 1, m.Hits)
}

func TestGetOrLoadNilLoadPanics(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	require.PanicsWithValue(t, "shard: GetOrLoad called with a nil load function", func() {
		_, _ = c.GetOrLoad(context.Background(), "k", nil)
	})
}

// A load that calls runtime.Goexit (as t.FailNow does) used to reach the
// deferred function of runLoad with recover() == nil: its callers got
// (0, nil) and the zero value was cached, so Get then hit it.
func TestLoadGoexitStoresNothing(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	for _, ctx := range []context.Context{context.Background(), t.Context()} {
		gate := make(chan struct{})
		entered := make(chan struct{})
		leaderExited := make(chan struct{})
		leader := make(chan error, 1)
		waiter := make(chan error, 1)
		go func() {
			defer close(leaderExited)
			_, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) {
				close(entered)
				<-gate
				runtime.Goexit()
				return 1, nil
			})
			// Reached only when the load ran on a goroutine of its own.
			leader <- err
		}()
		<-entered
		go func() {
			_, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) { return -1, nil })
			waiter <- err
		}()
		for c.Metrics().Coalesced == 0 {
			runtime.Gosched()
		}
		close(gate)
		<-leaderExited
		require.ErrorIs(t, <-waiter, ErrLoadGoexit, "a waiter gets an error, not (0, nil)")
		if ctx.Done() != nil {
			require.ErrorIs(t, <-leader, ErrLoadGoexit, "the first caller, whose load ran on its own goroutine")
		} else {
			require.Empty(t, leader, "the load ran on the first caller's goroutine, which exited with it")
		}
		_, ok := c.Get("k")
		require.False(t, ok, "nothing is stored")
		v, err := c.GetOrLoad(ctx, "k", func(context.Context, string) (int, error) { return 2, nil })
		require.NoError(t, err, "the key must not stay wedged")
		require.Equal(t, 2, v)
		require.EqualValues(t, 1, c.Metrics().LoadErrors)
		c.Delete("k")
		c.ResetMetrics()
	}
}
