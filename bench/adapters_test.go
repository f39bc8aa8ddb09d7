package bench

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImplsRoundTrip checks that every adapter stores, finds and loads
// through the peer's API as the benchmarks assume.
func TestImplsRoundTrip(t *testing.T) {
	keys := KeySet(512, 9)
	for _, impl := range Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			var loads atomic.Int64
			c := impl.New(Options{Capacity: 4096, Load: func(_ context.Context, k string) (int, error) {
				loads.Add(1)
				return len(k), nil
			}})
			defer c.Close()
			require.Zero(t, Populate(c, keys[:256], 5), "populate")
			for i, k := range keys[:256] {
				v, err := c.GetOrLoad(t.Context(), k)
				require.NoError(t, err)
				assert.Equal(t, i, v, "stored value of %q", k)
			}
			assert.Zero(t, loads.Load(), "hits must not load")
			for _, k := range keys[256:] {
				v, err := c.GetOrLoad(t.Context(), k)
				require.NoError(t, err)
				assert.Equal(t, len(k), v)
			}
			assert.Equal(t, int64(256), loads.Load(), "one load per missing key")
		})
	}
}

// TestImplsPlainGetSet checks the adapters built without a loader, as the
// throughput and lost-writes benchmarks build them.
func TestImplsPlainGetSet(t *testing.T) {
	keys := KeySet(128, 10)
	for _, impl := range Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			c := impl.New(Options{Capacity: 1024})
			defer c.Close()
			require.Zero(t, Populate(c, keys, 5))
			_, ok := c.Get("absent")
			assert.False(t, ok)
			_, err := c.GetOrLoad(t.Context(), "absent")
			if impl.Name != "theine" { // theine's plain cache has no loader API at all
				require.ErrorIs(t, err, errNoLoader)
			}
		})
	}
}

// TestCoalescingImplsLoadOnce releases goroutines together on one key with
// a loader that blocks until all of them have called, and checks which
// adapters run one load: the ones whose LoaderAPI promises coalescing.
func TestCoalescingImplsLoadOnce(t *testing.T) {
	coalesces := map[string]bool{"ristretto": false, "syncmap": false}
	for _, impl := range Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			const callers = 16
			var loads atomic.Int64
			release := make(chan struct{})
			c := impl.New(Options{Capacity: 1024, Load: func(_ context.Context, k string) (int, error) {
				loads.Add(1)
				<-release
				return 7, nil
			}})
			defer c.Close()
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					v, err := c.GetOrLoad(context.Background(), "k")
					if err != nil || v != 7 {
						t.Errorf("GetOrLoad = %d, %v; want 7, nil", v, err)
					}
				})
			}
			// Wait until the first load runs, then let it finish; callers
			// that have not reached the cache yet find the value or join.
			require.Eventually(t, func() bool { return loads.Load() > 0 }, 5*time.Second, time.Millisecond)
			close(release)
			wg.Wait()
			if want, ok := coalesces[impl.Name]; !ok || want {
				assert.Equal(t, int64(1), loads.Load(), "%s should coalesce loads", impl.Name)
			}
		})
	}
}

// TestTTLImplsSweep checks that each sweep adapter removes exactly the
// expired entries.
func TestTTLImplsSweep(t *testing.T) {
	keys := KeySet(200, 11)
	base := time.Unix(1_900_000_000, 0)
	for _, impl := range TTLImpls() {
		t.Run(impl.Name, func(t *testing.T) {
			clock := new(FakeClock)
			clock.Set(base)
			c := impl.New(time.Minute, clock)
			defer c.Close()
			for i, k := range keys[:100] {
				c.Set(k, i)
			}
			clock.Set(base.Add(30 * time.Second))
			for i, k := range keys[100:] {
				c.Set(k, i)
			}
			c.Settle() // nothing has expired yet
			clock.Set(base.Add(62 * time.Second))
			require.Equal(t, 200, c.Len())
			c.Sweep()
			assert.Equal(t, 100, c.Len())
			for _, k := range keys[100:] {
				_, ok := c.Get(k)
				assert.True(t, ok, "live key %q", k)
			}
		})
	}
}

// TestScrambledZipfIsSkewed checks the key stream: every index in range and
// the hottest key far above the uniform share.
func TestScrambledZipfIsSkewed(t *testing.T) {
	const n = 1 << 12
	s := ScrambledZipf(n, 1<<16, 0.99, 1)
	counts := make([]int, n)
	for _, x := range s {
		require.Less(t, int(x), n)
		counts[x]++
	}
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	uniform := float64(len(s)) / n
	assert.Greater(t, float64(top), 100*uniform, "hottest key should be drawn far more than its uniform share")
	assert.False(t, math.IsNaN(uniform))
}

// TestFreshKeysAreDistinct checks that fresh keys never repeat across
// generators and are about 40 bytes.
func TestFreshKeysAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for id := range uint64(4) {
		f := NewFreshKeys(id)
		for range 1000 {
			k := f.Next()
			require.False(t, seen[k], "repeated key %q", k)
			seen[k] = true
			assert.InDelta(t, 40, len(k), 6)
		}
	}
}

// TestLatenciesQuantile checks the nearest-rank quantile.
func TestLatenciesQuantile(t *testing.T) {
	var l Latencies
	for i := 1000; i >= 1; i-- {
		l.Add(time.Duration(i))
	}
	assert.Equal(t, time.Duration(500), l.Quantile(0.5))
	assert.Equal(t, time.Duration(999), l.Quantile(0.999))
	assert.Equal(t, time.Duration(1000), l.Quantile(1))
	assert.Equal(t, 2, l.Over(999))
}
