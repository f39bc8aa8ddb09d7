package shard

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestTTLExpiresAtOnce(t *testing.T) {
	clk := newFakeClock()
	c := newTestCache[string, int](Config{TTL: time.Minute, Clock: clk}, nil)
	c.Set("a", 1)
	clk.Advance(time.Minute - 1)
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
	clk.Advance(1)
	_, ok = c.Get("a")
	require.False(t, ok, "an expired entry reads as a miss at once")
	for k := range c.All() {
		t.Errorf("All yielded expired key %q", k)
	}
	require.Equal(t, 1, c.Len(), "expired but not yet swept")

	// GetOrLoad replaces the expired entry and counts the expiration.
	v, err := c.GetOrLoad(context.Background(), "a", func(context.Context, string) (int, error) { return 2, nil })
	require.NoError(t, err)
	require.Equal(t, 2, v)
	m := c.Metrics()
	require.EqualValues(t, 1, m.Expirations)
	require.EqualValues(t, 1, m.Loads)
	require.EqualValues(t, 1, m.Entries)
}

func TestSweep(t *testing.T) {
	for _, shards := range []int{1, 8} {
		t.Run(strconv.Itoa(shards), func(t *testing.T) {
			clk := newFakeClock()
			c := newTestCache[int, int](Config{TTL: time.Minute, Clock: clk, Shards: shards}, nil)
			for i := range 1000 {
				c.Set(i, i)
			}
			clk.Advance(30 * time.Second)
			for i := 1000; i < 1500; i++ {
				c.Set(i, i)
			}
			require.Zero(t, c.Sweep())
			clk.Advance(31 * time.Second)
			require.Equal(t, 1000, c.Sweep())
			require.Equal(t, 500, c.Len())
			for i := 1000; i < 1500; i++ {
				v, ok := c.Get(i)
				require.True(t, ok)
				require.Equal(t, i, v)
			}
			require.EqualValues(t, 1000, c.Metrics().Expirations)
		})
	}
}

func TestSweepSkipsLoadsInFlight(t *testing.T) {
	clk := newFakeClock()
	c := newTestCache[string, int](Config{TTL: time.Second, Clock: clk}, nil)
	gate := make(chan struct{})
	entered := make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := c.GetOrLoad(context.Background(), "k", func(context.Context, string) (int, error) {
			close(entered)
			<-gate
			return 5, nil
		})
		done <- v
	}()
	<-entered
	clk.Advance(time.Hour)
	require.Zero(t, c.Sweep())
	close(gate)
	require.Equal(t, 5, <-done)
	v, ok := c.Get("k")
	require.True(t, ok, "a value loaded after the clock moved gets a full TTL")
	require.Equal(t, 5, v)
}

// Sweeps race readers and writers: readers never see an expired value and
// never a wrong one, and every entry left after the last sweep is live.
func TestSweepRacesReadersAndWriters(t *testing.T) {
	clk := newFakeClock()
	c := newTestCache[int, int](Config{TTL: 10 * time.Millisecond, Clock: clk, Shards: 4}, nil)
	const keys = 512
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := (i*7 + g) % keys
				switch i % 3 {
				case 0:
					c.Set(k, k)
				case 1:
					if v, ok := c.Get(k); ok && v != k {
						t.Errorf("Get(%d) = %d", k, v)
					}
				default:
					if v, err := c.GetOrLoad(context.Background(), k, func(context.Context, int) (int, error) { return k, nil }); err != nil || v != k {
						t.Errorf("GetOrLoad(%d) = %d, %v", k, v, err)
					}
				}
			}
		})
	}
	swept := 0
	for range 200 {
		clk.Advance(time.Millisecond)
		swept += c.Sweep()
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	require.Positive(t, swept)
	clk.Advance(time.Second)
	c.Sweep()
	require.Zero(t, c.Len(), "after the clock passes every TTL one sweep empties the cache")
}

// The background goroutine sweeps on its own and advances the coarse clock.
// synctest gives it fake time, so the test waits for nothing real.
func TestBackgroundSweeper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache[string, int](Config{TTL: time.Second, SweepInterval: 100 * time.Millisecond}, nil)
		defer c.Close()
		c.Set("a", 1)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		v, ok := c.Get("a")
		require.True(t, ok)
		require.Equal(t, 1, v)
		time.Sleep(time.Second)
		synctest.Wait()
		_, ok = c.Get("a")
		require.False(t, ok, "expired under the coarse clock")
		require.Zero(t, c.Len(), "removed by the background sweep")
		require.EqualValues(t, 1, c.Metrics().Expirations)
	})
}

func TestCloseStopsGoroutineAndIsIdempotent(t *testing.T) {
	c := newTestCache[string, int](Config{TTL: time.Minute, SweepInterval: time.Second}, nil)
	c.Set("a", 1)
	c.Close()
	c.Close()
	goleak.VerifyNone(t)
	v, ok := c.Get("a")
	require.True(t, ok, "the cache stays usable after Close")
	require.Equal(t, 1, v)
}

// A cache dropped without Close must not leak its goroutine.
func TestAbandonedCacheStopsGoroutine(t *testing.T) {
	func() {
		c := newTestCache[string, int](Config{TTL: time.Minute, SweepInterval: time.Second}, nil)
		c.Set("a", 1)
	}()
	runtime.GC()
	runtime.GC()
	goleak.VerifyNone(t) // retries with backoff while the cleanup runs
}

func TestBoundEvictsInClockOrder(t *testing.T) {
	c := newTestCache[int, int](Config{MaxEntries: 4, Shards: 1}, nil)
	for i := range 4 {
		c.Set(i, i)
	}
	_, _ = c.Get(0) // second chance for 0
	c.Set(4, 4)     // evicts 1: 0 was read since the hand passed
	_, ok := c.Get(1)
	require.False(t, ok)
	for _, k := range []int{0, 2, 3, 4} {
		_, ok := c.Get(k)
		require.True(t, ok, "key %d", k)
	}
	require.Equal(t, 4, c.Len())
	require.EqualValues(t, 1, c.Metrics().Evictions)
}

func TestBoundEvictsExpiredFirst(t *testing.T) {
	clk := newFakeClock()
	c := newTestCache[int, int](Config{MaxEntries: 3, Shards: 1, TTL: time.Minute, Clock: clk}, nil)
	c.Set(0, 0)
	c.Set(1, 1)
	clk.Advance(30 * time.Second)
	c.Set(2, 2)
	clk.Advance(31 * time.Second) // 0 and 1 expired
	c.Set(3, 3)
	m := c.Metrics()
	require.EqualValues(t, 1, m.Expirations, "the expired entry at the hand goes first")
	require.Zero(t, m.Evictions)
	require.Equal(t, 3, c.Len())
}

func TestBoundNeverEvictsLoadInFlight(t *testing.T) {
	c := newTestCache[int, int](Config{MaxEntries: 2, Shards: 1}, nil)
	gate := make(chan struct{})
	entered := make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := c.GetOrLoad(context.Background(), 100, func(context.Context, int) (int, error) {
			close(entered)
			<-gate
			return 100, nil
		})
		done <- v
	}()
	<-entered
	for i := range 10 {
		c.Set(i, i)
	}
	close(gate)
	require.Equal(t, 100, <-done)
	v, ok := c.Get(100)
	require.True(t, ok, "the pending entry survived the evictions and was published")
	require.Equal(t, 100, v)
	require.LessOrEqual(t, c.Len(), 2)
}

// Concurrent inserts into a bounded cache: once they return the cache is
// within its bound, and the counters account for every key.
func TestConcurrentBoundedInserts(t *testing.T) {
	for _, n := range goroutineCounts() {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			const maxEntries, perG = 256, 200
			c := newTestCache[string, int](Config{MaxEntries: maxEntries}, nil)
			testutil.Release(n, func(g int) {
				for i := range perG {
					k := fmt.Sprintf("%d/%d", g, i)
					if i%2 == 0 {
						c.Set(k, i)
					} else if _, err := c.GetOrLoad(context.Background(), k, func(context.Context, string) (int, error) { return i, nil }); err != nil {
						t.Error(err)
					}
				}
			})
			require.LessOrEqual(t, c.Len(), maxEntries)
			m := c.Metrics()
			require.EqualValues(t, n*perG, int64(c.Len())+m.Evictions, "every inserted key is held or was evicted")
		})
	}
}

func TestStringKindKeysUseXXHash(t *testing.T) {
	type ID string
	c := newTestCache[ID, int](Config{Shards: 16}, nil)
	for i := range 1000 {
		c.Set(ID(strconv.Itoa(i)), i)
	}
	used := 0
	for i := range c.shards {
		if c.shards[i].m.Size() > 0 {
			used++
		}
	}
	require.Equal(t, 16, used, "keys spread over every shard")
	// The runtime's seeded hash spreads keys too; only xxhash gives
	// these values, so the shard of each key is the one xxhash picks.
	for i := range 1000 {
		k := strconv.Itoa(i)
		require.Equal(t, xxhash.Sum64String(k), c.hash(ID(k)), "hash of %q", k)
		_, ok := c.shards[xxhash.Sum64String(k)&c.mask].m.Load(ID(k))
		require.True(t, ok, "key %q is in the shard xxhash selects", k)
	}
	v, ok := c.Get("999")
	require.True(t, ok)
	require.Equal(t, 999, v)
}

// A sweep that runs while readers, a load in flight, its waiter and a new
// miss all use the cache blocks none of them, and removes exactly the
// entries that had expired: goroutines released together with the sweep
// read live keys (always found, with their values) and expired ones (never
// found) until the sweep is over and at least twice through; a waiter whose
// ctx ends returns at once while the load goes on; the load's pending entry
// survives the sweep, and the load's ctx is not cancelled.
func TestSweepConcurrentWithReadersAndLoads(t *testing.T) {
	for _, cfg := range []Config{
		{Shards: 1},
		{Shards: 8},
		{MaxEntries: 1 << 20},
	} {
		t.Run(fmt.Sprintf("shards=%d/max=%d", cfg.Shards, cfg.MaxEntries), func(t *testing.T) {
			const expiring, live = 4000, 3000
			clk := newFakeClock()
			cfg.TTL, cfg.Clock = time.Minute, clk
			c := newTestCache[int, int](cfg, nil)
			for k := range expiring {
				c.Set(k, k)
			}
			clk.Advance(30 * time.Second)
			for k := expiring; k < expiring+live; k++ {
				c.Set(k, k)
			}

			// A load in flight on key -1, and a second caller waiting for it.
			const inflight = -1
			release, loading := make(chan struct{}), make(chan struct{})
			var loadCtxErr atomic.Value
			firstDone := make(chan error, 1)
			go func() {
				v, err := c.GetOrLoad(context.Background(), inflight, func(ctx context.Context, _ int) (int, error) {
					close(loading)
					<-release
					loadCtxErr.Store(fmt.Sprint(ctx.Err()))
					return 42, nil
				})
				if err == nil && v != 42 {
					err = fmt.Errorf("first caller got %d, want 42", v)
				}
				firstDone <- err
			}()
			<-loading
			waitCtx, cancelWait := context.WithCancel(context.Background())
			waiterDone := make(chan error, 1)
			go func() {
				_, err := c.GetOrLoad(waitCtx, inflight, func(context.Context, int) (int, error) {
					return 0, fmt.Errorf("the waiter ran a second load")
				})
				waiterDone <- err
			}()

			clk.Advance(31 * time.Second) // keys below expiring have expired

			start := make(chan struct{})
			var sweepDone atomic.Bool
			var swept int
			var wg sync.WaitGroup
			wg.Go(func() {
				<-start
				swept = c.Sweep()
				sweepDone.Store(true)
			})
			var reads atomic.Int64
			for g := range 3 {
				wg.Go(func() {
					<-start
					for pass := 0; pass < 2 || !sweepDone.Load(); pass++ {
						for i := range live {
							k := expiring + (i*7+g)%live
							if v, ok := c.Get(k); !ok || v != k {
								t.Errorf("Get(%d) = %d, %v during the sweep; want %d, true", k, v, ok, k)
								return
							}
							if v, ok := c.Get(i % expiring); ok {
								t.Errorf("Get(%d) = %d, true: an expired key was found", i%expiring, v)
								return
							}
							reads.Add(2)
						}
					}
				})
			}
			var missErr error
			wg.Go(func() {
				<-start
				v, err := c.GetOrLoad(context.Background(), -2, func(context.Context, int) (int, error) { return 7, nil })
				if err == nil && v != 7 {
					err = fmt.Errorf("new miss got %d, want 7", v)
				}
				missErr = err
			})
			var waitErr error
			wg.Go(func() {
				<-start
				cancelWait()
				waitErr = <-waiterDone
			})
			close(start)
			wg.Wait()

			require.NoError(t, missErr)
			require.ErrorIs(t, waitErr, context.Canceled, "a waiter whose ctx ended returns its error while the load is in flight")
			require.Equal(t, expiring, swept, "the sweep removes exactly the expired entries")
			require.EqualValues(t, expiring, c.Metrics().Expirations)
			require.GreaterOrEqual(t, reads.Load(), int64(2*2*3*live))
			require.Equal(t, live+2, c.Len(), "live entries, the new miss's value and the pending load remain")

			close(release)
			require.NoError(t, <-firstDone)
			require.Equal(t, "<nil>", loadCtxErr.Load(), "the shared load's ctx is not cancelled by a caller leaving")
			v, ok := c.Get(inflight)
			require.True(t, ok, "the load in flight during the sweep stored its value")
			require.Equal(t, 42, v)
			for k := range expiring {
				_, ok := c.Get(k)
				require.False(t, ok)
			}
			require.Zero(t, c.Sweep(), "nothing else had expired")
		})
	}
}
