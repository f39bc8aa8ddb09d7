package bench

import (
	"slices"
	"time"
)

// Latencies collects operation latencies and summarises them. It is not
// safe for concurrent use: give each goroutine its own and Merge them.
type Latencies struct {
	d []time.Duration
}

// Add records one latency.
func (l *Latencies) Add(d time.Duration) { l.d = append(l.d, d) }

// Merge appends o's samples to l.
func (l *Latencies) Merge(o *Latencies) { l.d = append(l.d, o.d...) }

// Len returns the number of samples.
func (l *Latencies) Len() int { return len(l.d) }

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank method,
// or 0 when there are no samples. It sorts the samples in place.
func (l *Latencies) Quantile(q float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	i := int(q*float64(len(l.d))+0.999999) - 1
	return l.d[min(max(i, 0), len(l.d)-1)]
}

// Over returns how many samples are at least d.
func (l *Latencies) Over(d time.Duration) int {
	n := 0
	for _, x := range l.d {
		if x >= d {
			n++
		}
	}
	return n
}
