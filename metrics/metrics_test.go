package metrics

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHitRate(t *testing.T) {
	assert.InDelta(t, 0.0, HitRate(0, 0), 0)
	assert.InDelta(t, 0.75, HitRate(3, 1), 1e-12)
	assert.InDelta(t, 1.0, HitRate(5, 0), 0)
}

// ConcurrentCounts: goroutines released together add to every counter; the
// snapshot must hold the exact totals.
func TestCountersConcurrent(t *testing.T) {
	for _, n := range []int{1, 2, 128} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c := NewCounters()
			const per = 1000
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					<-start
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
			}
			close(start)
			wg.Wait()
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

func TestCounter(t *testing.T) {
	c := NewCounter()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 64 {
		wg.Go(func() {
			<-start
			for range 100 {
				c.Inc()
				c.Add(2)
			}
		})
	}
	close(start)
	wg.Wait()
	require.EqualValues(t, 64*300, c.Value())
	c.Reset()
	require.Zero(t, c.Value())
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
