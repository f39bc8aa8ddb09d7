package redisstore

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// fakeNow is a settable clock for the guard.
type fakeNow struct{ ns atomic.Int64 }

func (f *fakeNow) now() int64              { return f.ns.Load() }
func (f *fakeNow) advance(d time.Duration) { f.ns.Add(int64(d)) }

func TestGuardMarks(t *testing.T) {
	clock := &fakeNow{}
	clock.ns.Store(1e18)
	g := newGuard(time.Second)
	g.now = clock.now
	g.lastSweep.Store(clock.now())

	assert.False(t, g.stale("a", false, 0), "no mark: nothing is stale")
	g.saw("a", 3)
	assert.True(t, g.stale("a", true, 2), "older than seen")
	assert.False(t, g.stale("a", true, 3))
	assert.False(t, g.stale("a", true, 4))
	assert.True(t, g.stale("a", false, 0), "missing after it was seen")
	g.saw("a", 2)
	assert.True(t, g.stale("a", true, 2), "marks are never lowered")
	g.gone("a", 3)
	assert.True(t, g.stale("a", true, 9), "deleted: any copy that exists is stale")
	assert.False(t, g.stale("a", false, 0))
	g.saw("a", 10)
	assert.True(t, g.stale("a", true, 10), "deleted stays deleted")

	clock.advance(2 * time.Second)
	assert.False(t, g.stale("a", true, 1), "an expired mark catches nothing")
	g.saw("b", 1) // sweeps: a's mark is older than keep
	_, ok := g.m.Load("a")
	assert.False(t, ok, "expired marks are swept")
	_, ok = g.m.Load("b")
	assert.True(t, ok)
}

// TestGuardConcurrentRaises: marks raised from many goroutines end at the
// highest version.
func TestGuardConcurrentRaises(t *testing.T) {
	g := newGuard(time.Minute)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			<-start
			g.saw("k", state.Version(i))
		})
	}
	close(start)
	wg.Wait()
	m, _ := g.m.Load("k")
	assert.Equal(t, state.Version(99), m.ver)
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	assert.Zero(t, h.quantile(0.5))
	for range 98 {
		h.observe(60 * time.Microsecond) // bucket (50µs, 100µs]
	}
	h.observe(3 * time.Millisecond)
	h.observe(10 * time.Second) // beyond the last bucket
	assert.InDelta(t, 100e-6, h.quantile(0.5), 1e-9)
	assert.InDelta(t, 3.2e-3, h.quantile(0.99), 1e-9)
	assert.InDelta(t, 10, h.quantile(1), 1e-9, "the +Inf bucket reports the maximum")
}

// TestCollector: the store's metrics are valid Prometheus metrics with
// the documented names.
func TestCollector(t *testing.T) {
	s := &Store{opts: Options{Addr: "127.0.0.1:6379"}}
	s.stats.conflicts.Add(3)
	s.stats.landed.Add(1)
	s.stats.observe(opSave, time.Now().Add(-time.Millisecond))
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(s))
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, len(descCounters)+3+numOps, n)
	families, err := reg.Gather()
	require.NoError(t, err)
	values := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if c := m.GetCounter(); c != nil && len(m.GetLabel()) == 0 {
				values[f.GetName()] = c.GetValue()
			}
			if h := m.GetHistogram(); h != nil && m.GetLabel()[0].GetValue() == opSave {
				values[f.GetName()+"{op=save}"] = float64(h.GetSampleCount())
			}
		}
	}
	assert.InDelta(t, 3, values["mcpflow_redis_cas_conflicts_total"], 0)
	assert.InDelta(t, 1, values["mcpflow_redis_request_duration_seconds{op=save}"], 0)
	st := s.Stats()
	assert.Equal(t, int64(3), st.CASConflicts)
	assert.Equal(t, int64(1), st.AmbiguousLanded)
	assert.Equal(t, int64(1), st.Latency[opSave].Count)
	assert.Equal(t, "redis://127.0.0.1:6379/0", st.URL)
}
