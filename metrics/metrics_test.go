package metrics

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestHitRate(t *testing.T) {
	assert.InDelta(t, 0.0, HitRate(0, 0), 0)
	assert.InDelta(t, 0.75, HitRate(3, 1), 1e-12)
	assert.InDelta(t, 1.0, HitRate(5, 0), 0)
}

// ConcurrentCounts: goroutines released together add to every counter; the
// snapshot must hold the exact totals.
func TestCountersConcurrent(t *testing.T) {
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprintf("goroutines=%d", n), func(t *testing.T) {
			c := NewCounters()
			const per = 1000
			testutil.Release(n, func(int) {
				for range per {
					c.RecordHit()
					c.RecordHit()
					c.RecordMiss()
					c.RecordLoad()
					c.RecordLoadError()
					c.RecordCoalesced()
					c.RecordEvictions(2)
					c.RecordExpirations(3)
				}
			})
			total := int64(n * per)
			s := c.Snapshot()
			require.Equal(t, Snapshot{
				Hits: 2 * total, Misses: total, Loads: total, LoadErrors: total, Coalesced: total,
				Evictions: 2 * total, Expirations: 3 * total, HitRate: 2.0 / 3.0,
			}, s)
			c.Reset()
			require.Equal(t, Snapshot{}, c.Snapshot())
		})
	}
}

// goroutineCounts are the goroutine counts of the concurrency tests: one,
// one per P, and many more than there are cells.
func goroutineCounts() []int { return []int{1, runtime.GOMAXPROCS(0), 128} }

// TestCounterConcurrent: goroutines released together add positive and
// negative deltas; the sum must be exact.
func TestCounterConcurrent(t *testing.T) {
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprintf("goroutines=%d", n), func(t *testing.T) {
			c := NewCounter()
			const per = 2000
			testutil.Release(n, func(g int) {
				for i := range per {
					c.Inc()
					c.Add(int64(g + i))
					c.Add(-int64(i))
				}
			})
			// Each goroutine adds per·1 + per·g in all.
			want := int64(n*per) + int64(per*n*(n-1)/2)
			require.Equal(t, want, c.Value())
			c.Reset()
			require.Zero(t, c.Value())
			c.Add(5)
			require.EqualValues(t, 5, c.Value())
		})
	}
}

// TestCounterResetBetweenPhases: Adds that happen before Reset are gone
// after it and Adds that happen after it are kept, with the happens-before
// edges made by barriers rather than by sleeping.
func TestCounterResetBetweenPhases(t *testing.T) {
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprintf("goroutines=%d", n), func(t *testing.T) {
			c := NewCounter()
			cs := NewCounters()
			const per = 1000
			phase := func() {
				testutil.Release(n, func(int) {
					for range per {
						c.Inc()
						cs.RecordHit()
						cs.RecordMiss()
					}
				})
			}
			phase()
			require.EqualValues(t, n*per, c.Value())
			c.Reset()
			cs.Reset()
			require.Zero(t, c.Value())
			require.Equal(t, Snapshot{}, cs.Snapshot())
			phase()
			require.EqualValues(t, n*per, c.Value())
			s := cs.Snapshot()
			require.EqualValues(t, n*per, s.Hits)
			require.EqualValues(t, n*per, s.Misses)
		})
	}
}

// TestCounterValueWhileAdding: while goroutines add ones, the Values one
// reader takes never decrease and never exceed the final sum, and once the
// adders are done Value is exact.
func TestCounterValueWhileAdding(t *testing.T) {
	c := NewCounter()
	const adders, per = 4, 5000
	var last int64
	var reads int
	var done atomic.Bool
	testutil.Release(adders+1, func(g int) {
		if g == adders {
			for !done.Load() || reads == 0 {
				v := c.Value()
				if v < last || v > adders*per {
					t.Errorf("Value %d after %d (final %d)", v, last, adders*per)
					return
				}
				last = v
				reads++
			}
			return
		}
		for range per {
			c.Inc()
		}
		if c.Value() >= adders*per {
			done.Store(true)
		}
	})
	require.EqualValues(t, adders*per, c.Value())
}

// TestHotPathsInline: the adds on a cache's hit path must stay within the
// compiler's inlining budget; a change that pushes them over it costs every
// hit a call (see "Choosing a cell" in counter.go).
func TestHotPathsInline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "build", "-gcflags=-m", "-o", os.DevNull, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, fn := range []string{"(*Counters).RecordHit", "(*Counters).add", "(*Counter).Add", "(*Counter).Inc"} {
		assert.Contains(t, string(out), "can inline "+fn+"\n", "%s is no longer inlined", fn)
	}
}

func TestNoOpRecordsNothing(t *testing.T) {
	var r Recorder = NoOp{}
	r.RecordHit()
	r.RecordEvictions(3)
	_, ok := r.(Snapshotter)
	require.False(t, ok)
}

func TestSnapshotString(t *testing.T) {
	s := Snapshot{Hits: 3, Misses: 1, HitRate: 0.75, Entries: 2}
	require.Equal(t, "hits=3 misses=1 loads=0 load_errors=0 coalesced=0 evictions=0 expirations=0 entries=2 hit_rate=0.750", s.String())
}

func BenchmarkRecordHit(b *testing.B) {
	c := NewCounters()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.RecordHit()
		}
	})
}
