package shard

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// mixHash is a fixed shard hash, so that the sketch's collisions, and so the
// admission decisions, are the same in every run.
func mixHash(k int) uint64 { return uint64(k) * 0x9e3779b97f4a7c15 }

func TestSketchCountsAndAges(t *testing.T) {
	s := newSketch(64)
	require.Nil(t, s.table, "no table before the first increment")
	require.Zero(t, s.estimate(mixHash(1)))
	for i := range 7 {
		s.increment(mixHash(1))
		require.Equal(t, i+1, s.estimate(mixHash(1)), "after %d sightings", i+1)
	}
	for range 20 {
		s.increment(mixHash(2))
	}
	require.Equal(t, 15, s.estimate(mixHash(2)), "counters saturate at 15")
	require.Zero(t, s.estimate(mixHash(3)), "a key never seen, in a nearly empty sketch")

	s.reset()
	require.Equal(t, 3, s.estimate(mixHash(1)), "7 halved")
	require.Equal(t, 7, s.estimate(mixHash(2)), "15 halved")
	require.True(t, s.aged)

	// Sightings of other keys up to the sample size trigger the next reset.
	s = newSketch(64)
	for k := 1000; !s.aged; k++ {
		s.increment(mixHash(k))
		require.Less(t, k, 1000+s.sampleSize, "no reset after sampleSize additions")
	}
	require.Equal(t, s.sampleSize/2, s.additions, "the count of additions is halved too")
}

// TestAdmissionResistsScan reads a hot set while a scan of keys seen once
// streams through a cache with room for the hot set and little more: each
// hot key is read once per round, and between two of its reads twice the
// cache's size of new keys is inserted. CLOCK alone evicts every hot key
// each round (the hand passes it twice between its reads); the admission
// filter keeps them, refuses the scan's keys, and still returns each
// scanned key's loaded value to its caller.
func TestAdmissionResistsScan(t *testing.T) {
	const maxEntries, hot, scanPerRound, rounds, warmup = 100, 60, 200, 60, 20
	c := newTestCache[int, int](Config{MaxEntries: maxEntries, Shards: 1}, mixHash)
	var loads atomic.Int64
	load := func(_ context.Context, k int) (int, error) {
		loads.Add(1)
		return k * 2, nil
	}
	ctx := context.Background()
	next := 1_000_000
	hotLoads := int64(0)
	for r := range rounds {
		before := loads.Load()
		for k := range hot {
			v, err := c.GetOrLoad(ctx, k, load)
			require.NoError(t, err)
			require.Equal(t, 2*k, v)
		}
		if r >= warmup {
			hotLoads += loads.Load() - before
		}
		for range scanPerRound {
			v, err := c.GetOrLoad(ctx, next, load)
			require.NoError(t, err)
			require.Equal(t, 2*next, v, "a refused key's caller still gets its value")
			next++
			require.LessOrEqual(t, c.Len(), maxEntries)
		}
	}
	require.Zero(t, hotLoads, "hot keys reloaded after the warm-up")
	for k := range hot {
		_, ok := c.Get(k)
		require.True(t, ok, "hot key %d survived the scan", k)
	}
	_, ok := c.Get(next - 1)
	require.False(t, ok, "the scan's last key was refused")
	m := c.Metrics()
	require.Equal(t, loads.Load(), int64(c.Len())+m.Evictions, "every loaded key is held or was evicted (refusals included)")
}

// TestModelCheckAdmission runs a skewed random workload, long enough for the
// sketch of every shard to age, against a plain map: a value the cache returns
// is the model's, the bound holds after every operation, and a GetOrLoad
// always returns the value its load produced or the stored one.
func TestModelCheckAdmission(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 13))
		maxEntries := 8 + r.IntN(64)
		c := newTestCache[int, int](Config{MaxEntries: maxEntries, Shards: 1 << r.IntN(3)}, mixHash)
		zipf := rand.NewZipf(r, 1.1, 4, 4000)
		model := map[int]int{}
		for i := range 10_000 {
			k := int(zipf.Uint64())
			switch op := r.IntN(10); {
			case op < 5:
				if v, ok := c.Get(k); ok {
					require.Equal(t, model[k], v, "seed %d step %d: Get(%d)", seed, i, k)
				}
			case op < 8:
				want := i
				v, err := c.GetOrLoad(t.Context(), k, func(context.Context, int) (int, error) { return want, nil })
				require.NoError(t, err)
				// The stored value, or a fresh load after an eviction or a
				// refusal; a key the model lacks is not held, so it loads.
				if mv, ok := model[k]; !ok {
					require.Equal(t, want, v, "seed %d step %d: GetOrLoad(%d)", seed, i, k)
				} else if v != want {
					require.Equal(t, mv, v, "seed %d step %d: GetOrLoad(%d)", seed, i, k)
				}
				model[k] = v
			case op < 9:
				c.Set(k, i)
				model[k] = i
			default:
				c.Delete(k)
				delete(model, k)
			}
			require.LessOrEqual(t, c.Len(), maxEntries, "seed %d step %d: bound exceeded", seed, i)
		}
		require.Positive(t, c.Metrics().Evictions, "seed %d: the workload overflowed the cache", seed)
		for i := range c.shards {
			require.True(t, c.shards[i].freq.aged, "seed %d: shard %d's sketch aged, so ties were refused too", seed, i)
		}
	}
}

// TestRefusedLoadRunsOnce fills a cache with keys read often, so that a new
// key is refused, and releases goroutines together on that new key: one
// load runs, every caller gets its value, and the cache stores nothing for
// it and stays within its bound.
func TestRefusedLoadRunsOnce(t *testing.T) {
	for _, n := range goroutineCounts() {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			const maxEntries = 8
			c := newTestCache[int, int](Config{MaxEntries: maxEntries, Shards: 1}, mixHash)
			ctx := context.Background()
			// Age the sketch with the hot keys read between scanned keys.
			for i := range 400 {
				for k := range maxEntries {
					if _, ok := c.Get(k); !ok {
						c.Set(k, k)
					}
				}
				c.Set(1000+i, i)
			}
			require.True(t, c.shards[0].freq.aged, "precondition: the sketch has aged")
			for k := range maxEntries {
				_, ok := c.Get(k)
				require.True(t, ok, "precondition: hot key %d is held", k)
			}
			c.ResetMetrics()
			var loads atomic.Int64
			testutil.Release(n, func(int) {
				v, err := c.GetOrLoad(ctx, -1, func(context.Context, int) (int, error) {
					loads.Add(1)
					// Hold the load until every other caller waits on it.
					for c.Metrics().Coalesced < int64(n-1) {
						runtime.Gosched()
					}
					return 42, nil
				})
				if err != nil || v != 42 {
					t.Errorf("GetOrLoad = %d, %v; want 42", v, err)
				}
			})
			require.EqualValues(t, 1, loads.Load(), "one load for the key")
			_, ok := c.Get(-1)
			require.False(t, ok, "the refused key is not stored")
			require.LessOrEqual(t, c.Len(), maxEntries)
			require.EqualValues(t, 1, c.Metrics().Evictions, "the refusal counts as an eviction")
		})
	}
}

// TestConcurrentAdmission mixes hot and one-off keys from goroutines
// released together: every call gets its key's value, and once they return
// the cache is within its bound.
func TestConcurrentAdmission(t *testing.T) {
	for _, n := range goroutineCounts() {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			const maxEntries, perG = 64, 600
			c := newTestCache[string, string](Config{MaxEntries: maxEntries, Shards: 4}, nil)
			load := func(_ context.Context, k string) (string, error) { return "v" + k, nil }
			testutil.Release(n, func(g int) {
				for i := range perG {
					k := strconv.Itoa(i % 32) // hot
					if i%3 == 0 {
						k = fmt.Sprintf("%d/%d", g, i) // seen once
					}
					v, err := c.GetOrLoad(context.Background(), k, load)
					if err != nil || v != "v"+k {
						t.Errorf("GetOrLoad(%q) = %q, %v", k, v, err)
					}
				}
			})
			require.LessOrEqual(t, c.Len(), maxEntries)
			held := 0
			for i := range 32 {
				if _, ok := c.Get(strconv.Itoa(i)); ok {
					held++
				}
			}
			require.Positive(t, held, "some hot keys are held")
		})
	}
}
