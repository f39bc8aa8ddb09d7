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
//
// What the sweep costs the readers is read-max-ns: there are as many
// readers as cores, so while the sweep runs on a core one reader is off
// it, and the longest single Get is the longest a reader was kept waiting
// (by the sweep, or by whatever else the machine ran). ns/op is the sweep's
// wall time, which includes any time it yielded its core to the readers;
// BenchmarkSweepAlone measures the work it does.
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
			// Each reader's samples go into room made here, once, so that
			// no reader grows a slice, and no collection its garbage
			// causes lands, while a sweep runs.
			lats := make([]Latencies, readers)
			for r := range lats {
				lats[r].d = make([]time.Duration, 0, 1<<21)
			}
			var reads Latencies
			removed := 0
			b.ReportAllocs()
			b.StopTimer()
			for it := range b.N {
				t0 := base.Add(time.Duration(it) * 2 * ttl)
				fillHalfExpiring(c, clock, t0, ttl, old, live)
				before := c.Len()
				for r := range lats {
					lats[r].d = lats[r].d[:0]
				}
				runtime.GC()

				stop := make(chan struct{})
				var started, done sync.WaitGroup
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

// fillHalfExpiring stores old at t0 and live half a TTL later, and leaves
// the clock there: moving it past t0+ttl then expires old and only old.
func fillHalfExpiring(c TTLCache, clock *FakeClock, t0 time.Time, ttl time.Duration, old, live []string) {
	clock.Set(t0)
	for i, k := range old {
		c.Set(k, i)
	}
	clock.Set(t0.Add(ttl / 2))
	for i, k := range live {
		c.Set(k, i)
	}
	c.Settle() // nothing has expired yet
}

// BenchmarkSweepAlone is BenchmarkSweep without readers: the work one
// sweep of 32K expired among 64K entries does. ns/op is its wall time;
// sweep-cpu-ns is the CPU time of the thread it ran on (the benchmark
// goroutine is locked to its thread, whose CPU time is read before and
// after the sweep), which time spent waiting for a core another process
// holds does not inflate.
func BenchmarkSweepAlone(b *testing.B) {
	keys, _ := fixtures()
	live, old := keys[:numKeys/2], keys[numKeys/2:]
	const ttl = time.Minute
	base := time.Unix(1_900_000_000, 0)
	for _, impl := range TTLImpls() {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			clock := new(FakeClock)
			clock.Set(base)
			c := impl.New(ttl, clock)
			defer c.Close()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu time.Duration
			cpuOK := true
			b.ReportAllocs()
			b.StopTimer()
			for it := range b.N {
				t0 := base.Add(time.Duration(it) * 2 * ttl)
				fillHalfExpiring(c, clock, t0, ttl, old, live)
				before := c.Len()
				runtime.GC()
				cpu0, ok0 := ThreadCPU()
				b.StartTimer()
				clock.Set(t0.Add(ttl + 2*time.Second))
				c.Sweep()
				b.StopTimer()
				cpu1, ok1 := ThreadCPU()
				cpu += cpu1 - cpu0
				cpuOK = cpuOK && ok0 && ok1
				if got := before - c.Len(); got != len(old) {
					b.Fatalf("%s: swept %d entries, want %d", impl.Name, got, len(old))
				}
			}
			if cpuOK {
				b.ReportMetric(float64(cpu)/float64(b.N), "sweep-cpu-ns")
			}
		})
	}
}
