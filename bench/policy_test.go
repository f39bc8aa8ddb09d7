package bench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// The hit-ratio traces: 2^19 accesses over 2^17 keys.
const (
	traceKeys = 1 << 17
	traceLen  = 1 << 19
)

var traceKeySet = sync.OnceValue(func() []string { return KeySet(traceKeys, 3) })

var traces = map[float64]func() []uint32{
	0.99: sync.OnceValue(func() []uint32 { return ScrambledZipf(traceKeys, traceLen, 0.99, 4) }),
	0.8:  sync.OnceValue(func() []uint32 { return ScrambledZipf(traceKeys, traceLen, 0.8, 5) }),
}

// BenchmarkHitRatio replays a zipf trace (exponent 0.99 or 0.8, 512K
// accesses over 128K keys) on one goroutine against each bounded cache of
// 1K and 10K entries: Get, and Set on a miss, as a read-through cache does.
// hit% is the share of Gets that hit; ns/op is the time of one whole trace.
// Every iteration starts from an empty cache.
func BenchmarkHitRatio(b *testing.B) {
	keys := traceKeySet()
	for _, s := range []float64{0.99, 0.8} {
		trace := traces[s]()
		for _, capacity := range []int{1000, 10000} {
			for _, impl := range implsFor(false, func(i Impl) bool { return i.Bounded }) {
				b.Run(name("zipf", s, "cap", capacity)+"impl="+impl.Name, func(b *testing.B) {
					hits := 0
					for range b.N {
						c := impl.New(Options{Capacity: capacity})
						for i, x := range trace {
							k := keys[x]
							if _, ok := c.Get(k); ok {
								hits++
							} else {
								c.Set(k, i)
							}
						}
						c.Close()
					}
					b.ReportMetric(100*float64(hits)/float64(b.N*len(trace)), "hit%")
				})
			}
		}
	}
}

// BenchmarkLostWrites stores 64K distinct keys from 4×GOMAXPROCS goroutines
// released together into a cache with room for twice as many, then looks
// every key up. lost% counts keys not found right after the Sets returned;
// lost-after-wait% counts those still not found after Wait (ristretto's and
// theine's way to apply buffered writes; a no-op for the others);
// set-false% counts Sets the implementation itself reported as dropped.
func BenchmarkLostWrites(b *testing.B) {
	keys, _ := fixtures()
	for _, impl := range implsFor(false, nil) {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			writers := 4 * runtime.GOMAXPROCS(0)
			var lost, lostAfterWait, setFalse int
			for range b.N {
				c := impl.New(Options{Capacity: 2 * len(keys)})
				var refused atomic.Int64
				start := make(chan struct{})
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						<-start
						for i := w; i < len(keys); i += writers {
							if !c.Set(keys[i], i) {
								refused.Add(1)
							}
						}
					})
				}
				close(start)
				wg.Wait()
				lost += missing(c, keys)
				c.Wait()
				lostAfterWait += missing(c, keys)
				setFalse += int(refused.Load())
				c.Close()
			}
			per := func(n int) float64 { return 100 * float64(n) / float64(b.N*len(keys)) }
			b.ReportMetric(per(lost), "lost%")
			b.ReportMetric(per(lostAfterWait), "lost-after-wait%")
			b.ReportMetric(per(setFalse), "set-false%")
		})
	}
}

func missing(c Cache, keys []string) int {
	n := 0
	for _, k := range keys {
		if _, ok := c.Get(k); !ok {
			n++
		}
	}
	return n
}
