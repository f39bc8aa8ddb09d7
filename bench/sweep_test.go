package bench

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkSweep measures removing expired entries while readers run.
// Each iteration stores 32K keys, then, half a TTL later, 32K others, and
// starts GOMAXPROCS readers that Get keys of the second batch over the zipf
// stream and time every Get. The timed part (ns/op) moves the clock just
// past the first batch's expiry (and past the one-second granularity of
// otter's timer wheel) and runs one sweep; then the readers stop. otter
// also expires entries in maintenance that reads trigger on a background
// goroutine; its CleanUp waits for such a run, so the timed part covers it.
// removed/op checks that the 32K went; read-p99.9-ns and read-max-ns are
// the readers' latencies over the iterations, reads/op how many reads they
// completed in one. The clock only moves forward, as otter requires.
func BenchmarkSweep(b *testing.B) {
	keys, stream := fixtures()
	live, old := keys[:numKeys/2], keys[numKeys/2:]
	const ttl = time.Minute
	base := time.Unix(1_900_000_000, 0)
	for _, impl := range TTLImpls() {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			clock := new(FakeClock)
			clock.Set(base)
			c := impl.New(ttl, clock)
			defer c.Close()
			readers := runtime.GOMAXPROCS(0)
			var reads Latencies
			removed := 0
			b.ReportAllocs()
			b.StopTimer()
			for it := range b.N {
				t0 := base.Add(time.Duration(it) * 2 * ttl)
				clock.Set(t0)
				for i, k := range old {
					c.Set(k, i)
				}
				clock.Set(t0.Add(ttl / 2))
				for i, k := range live {
					c.Set(k, i)
				}
				c.Settle() // nothing has expired yet
				before := c.Len()

				stop := make(chan struct{})
				var started, done sync.WaitGroup
				lats := make([]Latencies, readers)
				started.Add(readers)
				for r := range readers {
					done.Go(func() {
						i := (it*readers + r) * 7919
						started.Done()
						for {
							select {
							case <-stop:
								return
							default:
							}
							k := live[int(stream[i&streamMask])%len(live)]
							i++
							t0 := time.Now()
							_, ok := c.Get(k)
							lats[r].Add(time.Since(t0))
							if !ok {
								b.Errorf("%s: live key %q not found during the sweep", impl.Name, k)
								return
							}
						}
					})
				}
				started.Wait()
				b.StartTimer()
				clock.Set(t0.Add(ttl + 2*time.Second))
				c.Sweep()
				b.StopTimer()
				close(stop)
				done.Wait()
				removed += before - c.Len()
				for r := range lats {
					reads.Merge(&lats[r])
				}
			}
			b.ReportMetric(float64(removed)/float64(b.N), "removed/op")
			b.ReportMetric(float64(reads.Len())/float64(b.N), "reads/op")
			b.ReportMetric(float64(reads.Quantile(0.999)), "read-p99.9-ns")
			b.ReportMetric(float64(reads.Quantile(1)), "read-max-ns")
		})
	}
}
