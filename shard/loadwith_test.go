package shard

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// withArg is what the loads of these tests receive besides the key.
type withArg struct {
	prefix string
	parts  []string
	loads  *atomic.Int64
}

// loadWithArg is a load built once: a plain function, which captures
// nothing.
func loadWithArg(_ context.Context, k string, a withArg) (string, error) {
	if a.loads != nil {
		a.loads.Add(1)
	}
	return a.prefix + k + fmt.Sprint(a.parts), nil
}

func TestGetOrLoadWithPassesTheArgument(t *testing.T) {
	c := newTestCache[string, string](Config{}, nil)
	var loads atomic.Int64
	v, loaded, err := GetOrLoadWith(t.Context(), c, "k", withArg{prefix: "p:", parts: []string{"a", "b"}, loads: &loads}, loadWithArg)
	require.NoError(t, err)
	assert.True(t, loaded, "the first call runs the load")
	assert.Equal(t, "p:k[a b]", v)

	v, loaded, err = GetOrLoadWith(t.Context(), c, "k", withArg{prefix: "other:", loads: &loads}, loadWithArg)
	require.NoError(t, err)
	assert.False(t, loaded, "a hit does not load")
	assert.Equal(t, "p:k[a b]", v, "a hit returns the stored value, whatever the argument")
	assert.Equal(t, int64(1), loads.Load())

	m := c.Metrics()
	assert.Equal(t, int64(1), m.Misses)
	assert.Equal(t, int64(1), m.Loads)
	assert.Equal(t, int64(1), m.Hits)
	assert.Zero(t, m.Coalesced)
}

func TestGetOrLoadWithErrorIsNotStored(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	fail := func(context.Context, string, error) (int, error) { return 0, errBoom }
	for range 2 {
		_, loaded, err := GetOrLoadWith(t.Context(), c, "k", errBoom, fail)
		require.ErrorIs(t, err, errBoom)
		assert.True(t, loaded, "a failed load is not stored, so the next call loads again")
	}
	m := c.Metrics()
	assert.Equal(t, int64(2), m.Misses)
	assert.Equal(t, int64(2), m.LoadErrors)
	_, ok := c.Get("k")
	assert.False(t, ok)
}

func TestGetOrLoadWithNilLoadPanics(t *testing.T) {
	c := newTestCache[string, int](Config{}, nil)
	require.PanicsWithValue(t, "shard: GetOrLoadWith called with a nil load function", func() {
		_, _, _ = GetOrLoadWith[string, int, int](context.Background(), c, "k", 0, nil)
	})
}

func TestGetOrLoadWithHitDoesNotAllocate(t *testing.T) {
	const key = "a-key-of-about-forty-bytes-0123456789abc"
	for _, cfg := range []Config{{}, {Shards: 16}, {MaxEntries: 1000}, {TTL: 1 << 40, Clock: newFakeClock()}} {
		c := newTestCache[string, string](cfg, nil)
		c.Set(key, "v")
		parts := []string{"a", "b"}
		prefix := strconv.Itoa(len(parts))
		allocs := testing.AllocsPerRun(1000, func() {
			v, loaded, err := GetOrLoadWith(context.Background(), c, key, withArg{prefix: prefix, parts: parts}, loadWithArg)
			if err != nil || loaded || v != "v" {
				t.Fatalf("hit expected, got %q, %v, %v", v, loaded, err)
			}
		})
		require.Zero(t, allocs, "GetOrLoadWith hit, config %+v", cfg)
	}
}

// TestGetOrLoadWithConcurrentSharedKeys releases n callers on one missing
// key; the load waits until every other caller waits for it, so exactly one
// caller reports loaded and the rest coalesced.
func TestGetOrLoadWithConcurrentSharedKeys(t *testing.T) {
	for _, n := range goroutineCounts() {
		for _, cancellable := range []bool{false, true} {
			t.Run(fmt.Sprintf("ConcurrentSharedKeys/%d/cancellable=%v", n, cancellable), func(t *testing.T) {
				ctx := context.Background()
				if cancellable {
					ctx = t.Context()
				}
				c := newTestCache[string, string](Config{}, nil)
				var loads, loaders atomic.Int64
				load := func(ctx context.Context, k string, a withArg) (string, error) {
					deadline := time.Now().Add(10 * time.Second)
					for c.Metrics().Coalesced < int64(n-1) {
						if time.Now().After(deadline) {
							t.Errorf("only %d of %d callers waited for the load", c.Metrics().Coalesced, n-1)
							break
						}
						runtime.Gosched()
					}
					return loadWithArg(ctx, k, a)
				}
				testutil.Release(n, func(g int) {
					v, loaded, err := GetOrLoadWith(ctx, c, "hot", withArg{prefix: "p:", loads: &loads}, load)
					if err != nil || v != "p:hot[]" {
						t.Errorf("caller %d: %q, %v", g, v, err)
					}
					if loaded {
						loaders.Add(1)
					}
				})
				assert.Equal(t, int64(1), loads.Load(), "one load")
				assert.Equal(t, int64(1), loaders.Load(), "exactly one caller reports that it loaded")
				m := c.Metrics()
				assert.Equal(t, int64(1), m.Misses)
				assert.Equal(t, int64(n-1), m.Coalesced)
				assert.Zero(t, m.Hits)
			})
		}
	}
}

// TestGetOrLoadWithConcurrentUnsharedKeys gives each of n callers its own
// keys: each loads every key of its own once and then hits it.
func TestGetOrLoadWithConcurrentUnsharedKeys(t *testing.T) {
	const keys = 32
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprintf("ConcurrentUnsharedKeys/%d", n), func(t *testing.T) {
			c := newTestCache[string, string](Config{Shards: 8}, nil)
			var loads atomic.Int64
			testutil.Release(n, func(g int) {
				for round := range 2 {
					for i := range keys {
						k := fmt.Sprintf("g%d-k%d", g, i)
						v, loaded, err := GetOrLoadWith(t.Context(), c, k, withArg{prefix: "p:", loads: &loads}, loadWithArg)
						if err != nil || v != "p:"+k+"[]" || loaded != (round == 0) {
							t.Errorf("caller %d round %d key %s: %q, loaded %v, %v", g, round, k, v, loaded, err)
						}
					}
				}
			})
			assert.Equal(t, int64(n*keys), loads.Load())
			m := c.Metrics()
			assert.Equal(t, int64(n*keys), m.Misses)
			assert.Equal(t, int64(n*keys), m.Hits)
			assert.Zero(t, m.Coalesced)
		})
	}
}
