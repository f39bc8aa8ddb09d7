package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkThroughput is Caffeine's GetPutBenchmark: a cache pre-populated
// with all 64K keys, then Get and Set from every goroutine over the
// scrambled-zipf stream, each goroutine starting at its own offset. Writes
// replace present keys, so bounded caches never evict.
func BenchmarkThroughput(b *testing.B) {
	for _, reads := range []int{100, 75, 50, 25, 0} {
		lazy := map[string]*lazyCache{}
		for _, impl := range implsFor(false, withDiagnostics) {
			b.Run(name("reads", fmt.Sprint(reads)+"%")+"impl="+impl.Name, func(b *testing.B) {
				l := lazy[impl.Name]
				if l == nil {
					keys, _ := fixtures()
					l = &lazyCache{build: func() Cache { return populated(b, impl, Options{Capacity: 2 * numKeys}, keys) }}
					lazy[impl.Name] = l
				}
				benchGetPut(b, l.get(b), reads)
			})
		}
		for _, l := range lazy {
			l.close()
		}
	}
}

func benchGetPut(b *testing.B, c Cache, readPct int) {
	b.Helper()
	keys, stream := fixtures()
	readQuarters := readPct / 25
	var seq atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) * (streamLen / 16) // spread the goroutines' starts
		n := 0
		for pb.Next() {
			k := keys[stream[i&streamMask]]
			if n&3 < readQuarters {
				c.Get(k)
			} else {
				c.Set(k, i)
			}
			i++
			n++
		}
	})
	b.StopTimer()
	cpu.report(b)
	reportOps(b)
}

// BenchmarkGetOrLoadHits calls each implementation's get-or-load API (see
// Impl.LoaderAPI) over the zipf stream on a cache that holds every key, so
// every call is a hit and the loader never runs.
func BenchmarkGetOrLoadHits(b *testing.B) {
	var loads atomic.Int64
	load := func(_ context.Context, k string) (int, error) {
		loads.Add(1)
		return len(k), nil
	}
	lazy := map[string]*lazyCache{}
	for _, impl := range implsFor(true, withDiagnostics) {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			l := lazy[impl.Name]
			if l == nil {
				keys, _ := fixtures()
				l = &lazyCache{build: func() Cache {
					return populated(b, impl, Options{Capacity: 2 * numKeys, Load: load}, keys)
				}}
				lazy[impl.Name] = l
			}
			c := l.get(b)
			keys, stream := fixtures()
			before := loads.Load()
			var seq atomic.Uint32
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(1)) * (streamLen / 16)
				for pb.Next() {
					if _, err := c.GetOrLoad(bg, keys[stream[i&streamMask]]); err != nil {
						b.Errorf("%s: GetOrLoad: %v", impl.Name, err)
						return
					}
					i++
				}
			})
			b.StopTimer()
			cpu.report(b)
			reportOps(b)
			b.ReportMetric(float64(loads.Load()-before)/float64(b.N), "loads/op")
		})
	}
	for _, l := range lazy {
		l.close()
	}
}

// missCapacity bounds the bounded caches in BenchmarkGetOrLoadMisses.
const (
	missCapacity = 1 << 14
	hotKeys      = 1 << 10
)

// BenchmarkGetOrLoadMisses calls get-or-load where 7 calls in 8 ask for a
// key never seen before (the loader returns at once) and 1 in 8 for one of
// 1,024 hot keys stored beforehand. Bounded caches hold 16K entries and
// evict; the unbounded ones (shard, xsync, syncmap, baseline) grow by one
// entry per miss, and pay for that growth. Each key costs one 48-byte
// allocation, the same for everyone. ctx=background runs with
// context.Background; ctx=cancel with a cancellable context, as a server
// request's is, which makes shard.Cache run each load on its own goroutine.
func BenchmarkGetOrLoadMisses(b *testing.B) {
	var loads atomic.Int64
	load := func(_ context.Context, k string) (int, error) {
		loads.Add(1)
		return len(k), nil
	}
	var fresh atomic.Uint64
	for _, ctxKind := range []string{"background", "cancel"} {
		for _, impl := range implsFor(true, nil) {
			b.Run(name("ctx", ctxKind)+"impl="+impl.Name, func(b *testing.B) {
				keys, stream := fixtures()
				c := populated(b, impl, Options{Capacity: missCapacity, Load: load}, keys[:hotKeys])
				defer c.Close()
				ctx := bg
				if ctxKind == "cancel" {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(bg)
					defer cancel()
				}
				before := loads.Load()
				var seq atomic.Uint32
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				b.RunParallel(func(pb *testing.PB) {
					fk := NewFreshKeys(fresh.Add(1))
					i := int(seq.Add(1)) * (streamLen / 16)
					for pb.Next() {
						var k string
						if i&7 == 0 {
							k = keys[stream[i&streamMask]&(hotKeys-1)]
						} else {
							k = fk.Next()
						}
						if _, err := c.GetOrLoad(ctx, k); err != nil {
							b.Errorf("%s: GetOrLoad: %v", impl.Name, err)
							return
						}
						i++
					}
				})
				b.StopTimer()
				cpu.report(b)
				reportOps(b)
				b.ReportMetric(float64(loads.Load()-before)/float64(b.N), "loads/op")
			})
		}
	}
}

// stampedeGoroutines miss the same key together in BenchmarkStampede.
const stampedeGoroutines = 64

// BenchmarkStampede releases 64 goroutines at once on one missing key,
// with a loader that takes 1 ms, and counts how many times the loader ran
// for that key. An implementation that coalesces loads reports 1 loads/key;
// one that does not reports up to 64. ns/op is the time of one stampede.
func BenchmarkStampede(b *testing.B) {
	var loads atomic.Int64
	load := func(_ context.Context, k string) (int, error) {
		loads.Add(1)
		t := time.NewTimer(time.Millisecond)
		<-t.C
		return len(k), nil
	}
	var fresh atomic.Uint64
	for _, impl := range implsFor(true, nil) {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			c := impl.New(Options{Capacity: 1 << 16, Load: load})
			defer c.Close()
			fk := NewFreshKeys(fresh.Add(1))
			before := loads.Load()
			maxLoads := int64(0)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for range b.N {
				k := fk.Next()
				n0 := loads.Load()
				start := make(chan struct{})
				var ready, done sync.WaitGroup
				ready.Add(stampedeGoroutines)
				done.Add(stampedeGoroutines)
				for range stampedeGoroutines {
					go func() {
						defer done.Done()
						ready.Done()
						<-start
						if _, err := c.GetOrLoad(bg, k); err != nil {
							b.Errorf("%s: GetOrLoad: %v", impl.Name, err)
						}
					}()
				}
				ready.Wait()
				close(start)
				done.Wait()
				maxLoads = max(maxLoads, loads.Load()-n0)
			}
			b.StopTimer()
			cpu.report(b)
			b.ReportMetric(float64(loads.Load()-before)/float64(b.N), "loads/key")
			b.ReportMetric(float64(maxLoads), "max-loads/key")
		})
	}
}

// slowLoadTime is how long the slow load of BenchmarkBlocking takes.
const slowLoadTime = 20 * time.Millisecond

// slowLoad is one slow load in flight: the loader closes started once it
// runs, so the probes start only when the load is certainly in flight.
type slowLoad struct {
	key     string
	started chan struct{}
}

// BenchmarkBlocking measures what a slow load does to other keys. Each
// iteration starts a get-or-load of a new key whose loader takes 20 ms; once
// the loader has signalled (over a channel) that it runs, GOMAXPROCS probe
// goroutines call get-or-load on other keys, timing every call, until the
// slow load returns. others=hit probes keys the cache holds (the zipf
// stream over 64K keys); others=miss probes new keys whose loader returns at
// once. others=grow probes new keys too, but on a cache made empty for each
// iteration, so that the table grows (resizes) while the slow load is in
// flight: a design whose resize waits for a bucket that a running load
// holds makes every writer wait here. The metrics are over all probes of all iterations: p50-ns,
// p99.9-ns and max-ns, and stalls/op, the probes per iteration that took
// 1 ms or more.
func BenchmarkBlocking(b *testing.B) {
	var cur atomic.Pointer[slowLoad]
	load := func(ctx context.Context, k string) (int, error) {
		if s := cur.Load(); s != nil && k == s.key {
			close(s.started)
			t := time.NewTimer(slowLoadTime)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		return len(k), nil
	}
	var fresh atomic.Uint64
	for _, others := range []string{"hit", "miss", "grow"} {
		lazy := map[string]*lazyCache{}
		for _, impl := range implsFor(true, nil) {
			b.Run(name("others", others)+"impl="+impl.Name, func(b *testing.B) {
				l := lazy[impl.Name]
				if l == nil {
					keys, _ := fixtures()
					l = &lazyCache{build: func() Cache {
						return populated(b, impl, Options{Capacity: 2 * numKeys, Load: load}, keys)
					}}
					lazy[impl.Name] = l
				}
				var c Cache
				if others != "grow" {
					c = l.get(b)
				}
				keys, stream := fixtures()
				slowKeys := NewFreshKeys(fresh.Add(1))
				probes := max(1, runtime.GOMAXPROCS(0))
				var all Latencies
				stalls := 0
				b.ResetTimer()
				for it := range b.N {
					if others == "grow" {
						b.StopTimer()
						if c != nil {
							c.Close()
						}
						c = impl.New(Options{Capacity: 2 * numKeys, Load: load})
						b.StartTimer()
					}
					c := c // the goroutines below see this iteration's cache
					s := &slowLoad{key: "slow/" + slowKeys.Next(), started: make(chan struct{})}
					cur.Store(s)
					finished := make(chan struct{})
					go func() {
						defer close(finished)
						if _, err := c.GetOrLoad(bg, s.key); err != nil {
							b.Errorf("%s: slow GetOrLoad: %v", impl.Name, err)
						}
					}()
					<-s.started
					lats := make([]Latencies, probes)
					var wg sync.WaitGroup
					for p := range probes {
						wg.Go(func() {
							fk := NewFreshKeys(fresh.Add(1))
							i := (it*probes + p) * 4099
							for {
								select {
								case <-finished:
									return
								default:
								}
								k := ""
								if others == "hit" {
									k = keys[stream[i&streamMask]]
								} else {
									k = fk.Next()
								}
								i++
								t0 := time.Now()
								_, err := c.GetOrLoad(bg, k)
								lats[p].Add(time.Since(t0))
								if err != nil {
									b.Errorf("%s: GetOrLoad: %v", impl.Name, err)
									return
								}
							}
						})
					}
					wg.Wait()
					<-finished
					for p := range lats {
						stalls += lats[p].Over(time.Millisecond)
						all.Merge(&lats[p])
					}
				}
				b.StopTimer()
				if others == "grow" {
					c.Close()
				}
				b.ReportMetric(float64(all.Quantile(0.5)), "p50-ns")
				b.ReportMetric(float64(all.Quantile(0.999)), "p99.9-ns")
				b.ReportMetric(float64(all.Quantile(1)), "max-ns")
				b.ReportMetric(float64(stalls)/float64(b.N), "stalls/op")
				b.ReportMetric(float64(all.Len())/float64(b.N), "probes/op")
			})
		}
		for _, l := range lazy {
			l.close()
		}
	}
}
