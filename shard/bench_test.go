package shard_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/internal/baseline"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// The benchmarks run every workload on every implementation in one run, so
// that `go test -bench` output compared with benchstat is a side-by-side
// comparison (see docs/benchmarks/cache.md).

const (
	numKeys   = 1 << 16 // ~64K keys
	streamLen = 1 << 20
)

type loadFn = func(context.Context, string) (int, error)

// impl is what the benchmarks need of a cache.
type impl interface {
	Get(k string) (int, bool)
	Set(k string, v int)
	GetOrLoad(ctx context.Context, k string, load loadFn) (int, error)
}

// mustCache is shard.New for the fixed configurations of the benchmarks.
func mustCache[K comparable, V any](cfg shard.Config) *shard.Cache[K, V] {
	c, err := shard.New[K, V](cfg)
	if err != nil {
		panic(err)
	}
	return c
}

type implFactory struct {
	name string
	new  func() impl
}

func implementations() []implFactory {
	return []implFactory{
		{"shard", func() impl { return mustCache[string, int](shard.Config{TTL: time.Hour}) }},
		{"shard16", func() impl { return mustCache[string, int](shard.Config{TTL: time.Hour, Shards: 16}) }},
		{"baseline", func() impl { return baseline.New[string, int]() }},
		{"mutex", func() impl { return &mutexMap{m: map[string]int{}} }},
		{"syncmap", func() impl { return &syncMap{} }},
		{"xsync", func() impl { return &xsyncMap{m: xsync.NewMap[string, int]()} }},
	}
}

// mutexMap is a map behind one sync.Mutex; GetOrLoad loads under the lock.
type mutexMap struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *mutexMap) Get(k string) (int, bool) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	return v, ok
}

func (c *mutexMap) Set(k string, v int) {
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
}

func (c *mutexMap) GetOrLoad(ctx context.Context, k string, load loadFn) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v, nil
	}
	v, err := load(ctx, k)
	if err == nil {
		c.m[k] = v
	}
	return v, err
}

// syncMap is sync.Map; GetOrLoad is Load, then load and LoadOrStore, so
// concurrent misses may load more than once.
type syncMap struct{ m sync.Map }

func (c *syncMap) Get(k string) (int, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int), true
}

func (c *syncMap) Set(k string, v int) { c.m.Store(k, v) }

func (c *syncMap) GetOrLoad(ctx context.Context, k string, load loadFn) (int, error) {
	if v, ok := c.m.Load(k); ok {
		return v.(int), nil
	}
	v, err := load(ctx, k)
	if err != nil {
		return 0, err
	}
	actual, _ := c.m.LoadOrStore(k, v)
	return actual.(int), nil
}

// xsyncMap is a raw xsync.Map; GetOrLoad is LoadOrCompute, which runs the
// load under the bucket lock.
type xsyncMap struct{ m *xsync.Map[string, int] }

func (c *xsyncMap) Get(k string) (int, bool) { return c.m.Load(k) }
func (c *xsyncMap) Set(k string, v int)      { c.m.Store(k, v) }
func (c *xsyncMap) GetOrLoad(ctx context.Context, k string, load loadFn) (int, error) {
	var err error
	v, _ := c.m.LoadOrCompute(k, func() (int, bool) {
		var nv int
		nv, err = load(ctx, k)
		return nv, err != nil
	})
	return v, err
}

var (
	keysOnce sync.Once
	keys     []string
	stream   []int32 // scrambled-zipf indices into keys
)

// setup builds ~40-byte keys and a zipf stream over them whose ranks are
// scrambled, so that hot keys are spread over the table as in real use.
func setup() {
	keysOnce.Do(func() {
		keys = make([]string, numKeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("standards/%08x/section-%016d", i*2654435761, i)
		}
		r := rand.New(rand.NewPCG(1, 2))
		z := newZipf(r, 1.01, numKeys)
		stream = make([]int32, streamLen)
		for i := range stream {
			stream[i] = int32((uint32(z()) * 0x9E3779B1) & (numKeys - 1))
		}
	})
}

// newZipf returns a sampler of ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, by
// inverse transform over the cumulative weights.
func newZipf(r *rand.Rand, s float64, n int) func() int {
	cdf := make([]float64, n)
	sum := 0.0
	for k := range n {
		sum += 1 / math.Pow(float64(k+1), s)
		cdf[k] = sum
	}
	return func() int {
		u := r.Float64() * sum
		i, _ := slices.BinarySearch(cdf, u)
		return min(i, n-1)
	}
}

// closeImpl stops a cache's background goroutine, if it has one.
func closeImpl(b *testing.B, c impl) {
	b.Helper()
	if cl, ok := c.(interface{ Close() }); ok {
		b.Cleanup(cl.Close)
	}
}

func prepopulated(f implFactory) impl {
	setup()
	c := f.new()
	for i, k := range keys {
		c.Set(k, i)
	}
	return c
}

var streamOffset atomic.Uint32

// benchMix runs reads and writes over the zipf stream: readPct of the
// operations are Get, the rest Set.
func benchMix(b *testing.B, c impl, readPct int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := int(streamOffset.Add(7919)) & (streamLen - 1)
		n := 0
		for pb.Next() {
			k := keys[stream[i]]
			if n%100 < readPct {
				if _, ok := c.Get(k); !ok {
					b.Error("miss on a pre-populated key")
					return
				}
			} else {
				c.Set(k, n)
			}
			i = (i + 1) & (streamLen - 1)
			n++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func BenchmarkGet(b *testing.B) {
	for _, reads := range []int{100, 90, 50} {
		for _, f := range implementations() {
			b.Run(fmt.Sprintf("reads=%d/impl=%s", reads, f.name), func(b *testing.B) {
				c := prepopulated(f)
				closeImpl(b, c)
				benchMix(b, c, reads)
			})
		}
	}
}

func BenchmarkGetOrLoadHit(b *testing.B) {
	for _, f := range implementations() {
		b.Run("impl="+f.name, func(b *testing.B) {
			c := prepopulated(f)
			closeImpl(b, c)
			load := func(context.Context, string) (int, error) { return 0, nil }
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(streamOffset.Add(7919)) & (streamLen - 1)
				for pb.Next() {
					if _, err := c.GetOrLoad(ctx, keys[stream[i]], load); err != nil {
						b.Error(err)
						return
					}
					i = (i + 1) & (streamLen - 1)
				}
			})
		})
	}
}

var (
	missOnce sync.Once
	missKeys []string
)

// BenchmarkGetOrLoadMiss loads a key never seen before on almost every call:
// the cost of a miss, the load (trivial here) and publication. Keys repeat
// only once b.N passes len(missKeys).
func BenchmarkGetOrLoadMiss(b *testing.B) {
	missOnce.Do(func() {
		missKeys = make([]string, 1<<21)
		for i := range missKeys {
			missKeys[i] = fmt.Sprintf("miss/%08x/section-%020d", i*2654435761, i)
		}
	})
	for _, f := range implementations() {
		b.Run("impl="+f.name, func(b *testing.B) {
			c := f.new()
			closeImpl(b, c)
			var next atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Take indices in blocks so the shared counter stays cold.
				var i, end int64
				for pb.Next() {
					if i == end {
						end = next.Add(256)
						i = end - 256
					}
					k := missKeys[i&(1<<21-1)]
					v := int(i)
					if _, err := c.GetOrLoad(ctx, k, func(context.Context, string) (int, error) { return v, nil }); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkOtherKeyLatencyDuringSlowLoad measures the p99.9 latency of
// GetOrLoad and Set on other keys, new ones that make the table grow, while
// one key's 20 ms load is in flight. Each iteration is one slow load.
func BenchmarkOtherKeyLatencyDuringSlowLoad(b *testing.B) {
	for _, f := range implementations() {
		b.Run("impl="+f.name, func(b *testing.B) {
			var lat []time.Duration
			ctx := context.Background()
			for it := range b.N {
				c := f.new()
				closeImpl(b, c)
				entered := make(chan struct{})
				slowDone := make(chan struct{})
				go func() {
					defer close(slowDone)
					_, _ = c.GetOrLoad(ctx, "slow", func(context.Context, string) (int, error) {
						close(entered)
						time.Sleep(20 * time.Millisecond)
						return 0, nil
					})
				}()
				<-entered
				for i := 0; ; i++ {
					select {
					case <-slowDone:
					default:
						k := fmt.Sprintf("other/%d/%d", it, i)
						t0 := time.Now()
						if i%2 == 0 {
							c.Set(k, i)
						} else {
							_, _ = c.GetOrLoad(ctx, k, func(context.Context, string) (int, error) { return i, nil })
						}
						lat = append(lat, time.Since(t0))
						continue
					}
					break
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*999/1000].Nanoseconds()), "p99.9-ns")
			b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
		})
	}
}

// stepClock is a Clock the sweep benchmark moves by hand.
type stepClock struct{ now atomic.Int64 }

func (c *stepClock) Now() time.Time { return time.Unix(0, c.now.Load()) }

// BenchmarkSweep measures one Sweep of n expired entries while two reader
// goroutines hammer other, live keys. The readers run only while a sweep
// does (they start after the expiring entries are stored and stop when the
// sweep returns), and reader-max-ns is the slowest single Get among them
// over all the sweeps: with GOMAXPROCS 2 one reader is off its core
// while the sweep is on one, so this is the longest a reader waited.
func BenchmarkSweep(b *testing.B) {
	setup()
	for _, n := range []int{64 << 10, 1 << 20} {
		for _, shards := range []int{1, 16} {
			b.Run(fmt.Sprintf("entries=%d/shards=%d", n, shards), func(b *testing.B) {
				clk := &stepClock{}
				clk.now.Store(time.Now().UnixNano())
				c := mustCache[int, int](shard.Config{TTL: time.Minute, Clock: clk, Shards: shards})
				defer c.Close()
				var readerMax time.Duration
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					for i := range n {
						c.Set(i, i)
					}
					clk.now.Add(int64(2 * time.Minute))
					for i := range 1024 {
						c.Set(-1-i, i) // live keys the readers use; refreshed each round
					}
					var stop atomic.Bool
					var wg, started sync.WaitGroup
					var slowest [2]time.Duration
					started.Add(2)
					for g := range 2 {
						wg.Go(func() {
							started.Done()
							for i := g; !stop.Load(); i++ {
								t0 := time.Now()
								c.Get(-1 - i%1024)
								slowest[g] = max(slowest[g], time.Since(t0))
							}
						})
					}
					started.Wait()
					b.StartTimer()
					got := c.Sweep()
					b.StopTimer()
					stop.Store(true)
					wg.Wait()
					if got != n {
						b.Fatalf("swept %d, want %d", got, n)
					}
					readerMax = max(readerMax, slowest[0], slowest[1])
				}
				b.ReportMetric(float64(readerMax), "reader-max-ns")
			})
		}
	}
}

// BenchmarkGetHitMetrics isolates the cost of counting hits: the same Get on
// the default striped counters and on metrics.NoOp.
func BenchmarkGetHitMetrics(b *testing.B) {
	setup()
	for _, rec := range []struct {
		name string
		r    metrics.Recorder
	}{{"counters", nil}, {"noop", metrics.NoOp{}}} {
		b.Run("recorder="+rec.name, func(b *testing.B) {
			c := mustCache[string, int](shard.Config{TTL: time.Hour, Recorder: rec.r})
			b.Cleanup(c.Close)
			for i, k := range keys {
				c.Set(k, i)
			}
			benchMix(b, c, 100)
		})
	}
}

// BenchmarkGetHitSpread is the Get hit of an unbounded cache with the
// default striped counters beside a raw xsync.Map Load, a bounded cache and
// an unbounded one that counts nothing, on caches built afresh for every
// run (every call of the function, so every -count round): a cost that
// depends on where one run's goroutines happen to land, such as two of them
// sharing a counter cell, shows as a spread between runs rather than as a
// shifted mean.
//
// The machine these benchmarks run on is shared, and its load moves faster
// than one sub-benchmark per implementation could follow. So the
// implementations take turns inside one run: GOMAXPROCS goroutines, the
// same ones all run long, read a block of keys from one table together,
// then from the next, and so on in cycles; each goroutine times its own
// blocks. A cycle's cost of an implementation is the mean of its
// goroutines' block times per Get, divided by GOMAXPROCS as RunParallel's
// ns/op is; <impl>-ns/op is the median over the cycles, and
// <impl>/xsync the median over the cycles of the cost's ratio to raw xsync
// in the same cycle, so a burst of load that falls on one cycle moves
// neither. Each goroutine reads the 64K keys in order from its own
// starting point. One op is one cycle (ns/op is its wall time, hand-offs
// between blocks included): run it with -benchtime 300x or so.
func BenchmarkGetHitSpread(b *testing.B) {
	setup()
	impls := []struct {
		name string
		new  func() impl
	}{
		{"xsync", func() impl { return &xsyncMap{m: xsync.NewMap[string, int]()} }},
		{"shard", func() impl { return mustCache[string, int](shard.Config{}) }},
		// Bounded, with room for every key: 16 shards, so an xxhash per
		// Get, and the entry's read count.
		{"bounded", func() impl { return mustCache[string, int](shard.Config{MaxEntries: 2 * numKeys}) }},
		{"noop", func() impl { return mustCache[string, int](shard.Config{Recorder: metrics.NoOp{}}) }},
	}
	caches := make([]impl, len(impls))
	for i, im := range impls {
		caches[i] = im.new()
		closeImpl(b, caches[i])
		for j, k := range keys {
			caches[i].Set(k, j)
		}
	}
	const block = 1 << 14 // Gets per goroutine per block
	procs := runtime.GOMAXPROCS(0)
	cycles := b.N // one op of this benchmark is one cycle
	// took[w][i][c] is goroutine w's time for block c of implementation i.
	took := make([][][]time.Duration, procs)
	for w := range took {
		took[w] = make([][]time.Duration, len(impls))
		for i := range impls {
			took[w][i] = make([]time.Duration, cycles)
		}
	}
	turns := make([]chan int, procs) // the implementation to read next, per goroutine
	var done, exited sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for w := range procs {
		turns[w] = make(chan int)
		exited.Go(func() {
			pos := make([]int, len(impls))
			for i := range pos {
				pos[i] = w * numKeys / procs
			}
			c := 0
			for i := range turns[w] {
				t, n := caches[i], pos[i]
				t0 := time.Now()
				for range block {
					if _, ok := t.Get(keys[n]); !ok {
						b.Error("miss on a pre-populated key")
					}
					n = (n + 1) & (numKeys - 1)
				}
				took[w][i][c] = time.Since(t0)
				pos[i] = n
				if i == len(impls)-1 {
					c++
				}
				done.Done()
			}
		})
	}
	for range cycles {
		for i := range impls {
			done.Add(procs)
			for w := range procs {
				turns[w] <- i
			}
			done.Wait()
		}
	}
	for w := range procs {
		close(turns[w])
	}
	exited.Wait()
	b.StopTimer()
	cost := func(i, c int) float64 { // ns per Get, as RunParallel's ns/op
		var sum time.Duration
		for w := range procs {
			sum += took[w][i][c]
		}
		return float64(sum.Nanoseconds()) / float64(procs) / block / float64(procs)
	}
	median := func(f func(c int) float64) float64 {
		v := make([]float64, cycles)
		for c := range v {
			v[c] = f(c)
		}
		slices.Sort(v)
		return v[cycles/2]
	}
	for i, im := range impls {
		b.ReportMetric(median(func(c int) float64 { return cost(i, c) }), im.name+"-ns/op")
		if i > 0 {
			b.ReportMetric(median(func(c int) float64 { return cost(i, c) / cost(0, c) }), im.name+"/xsync")
		}
	}
}

// BenchmarkGetOrLoadMissCtx is the miss of BenchmarkGetOrLoadMiss on
// shard.Cache alone, with a ctx that can never be cancelled and with one
// that can: the second runs the load on a goroutine of its own, so that the
// first caller too returns when its ctx ends. The difference of the rows is
// what that promise costs per miss.
func BenchmarkGetOrLoadMissCtx(b *testing.B) {
	missOnce.Do(func() {
		missKeys = make([]string, 1<<21)
		for i := range missKeys {
			missKeys[i] = fmt.Sprintf("miss/%08x/section-%020d", i*2654435761, i)
		}
	})
	cancellable := b.Context() // its Done is not nil
	for _, cc := range []struct {
		name string
		ctx  context.Context
	}{{"background", context.Background()}, {"cancellable", cancellable}} {
		b.Run("ctx="+cc.name, func(b *testing.B) {
			c := mustCache[string, int](shard.Config{})
			var next atomic.Int64
			load := func(_ context.Context, k string) (int, error) { return len(k), nil }
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := testutil.CPUTime()
			defer testutil.ReportCPU(b, cpu0)
			b.RunParallel(func(pb *testing.PB) {
				var i, end int64
				for pb.Next() {
					if i == end {
						end = next.Add(256)
						i = end - 256
					}
					if _, err := c.GetOrLoad(cc.ctx, missKeys[i&(1<<21-1)], load); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkSweepPerEntry is the CPU a sweep spends per expired entry, on
// shard.Cache and on a raw xsync.Map of the same keys whose values carry
// their deadline and which DeleteMatching sweeps: the same table, with and
// without the cache's entries behind pointers. Half of 64K string keys,
// every other one, have expired; the rest are live. Both tables are
// grow-only, as a cache with a TTL is. cpu-ns/expired is the process CPU
// time of the sweeps alone (nothing else runs: the cache has an injected
// clock and no sweeper goroutine) divided by the entries removed. No
// reader runs here: a reader takes no lock, so it never waits for a sweep
// (TestSweepConcurrentWithReadersAndLoads); BenchmarkSweep measures what
// readers see while one runs.
func BenchmarkSweepPerEntry(b *testing.B) {
	setup()
	const ttl = time.Minute
	type deadlined struct {
		v   int
		exp int64
	}
	type sweepable struct {
		fill  func(clk *stepClock) // stores every key, half of them to expire
		sweep func(now int64) int
	}
	impls := []struct {
		name string
		new  func(clk *stepClock) sweepable
	}{
		{"shard", func(clk *stepClock) sweepable {
			c := mustCache[string, int](shard.Config{TTL: ttl, Clock: clk})
			return sweepable{
				fill: func(clk *stepClock) {
					for i := 0; i < numKeys; i += 2 {
						c.Set(keys[i], i)
					}
					clk.now.Add(int64(ttl / 2))
					for i := 1; i < numKeys; i += 2 {
						c.Set(keys[i], i)
					}
				},
				sweep: func(int64) int { return c.Sweep() },
			}
		}},
		{"xsync", func(clk *stepClock) sweepable {
			m := xsync.NewMap[string, deadlined](xsync.WithGrowOnly())
			return sweepable{
				fill: func(clk *stepClock) {
					for i := 0; i < numKeys; i += 2 {
						m.Store(keys[i], deadlined{i, clk.now.Load() + int64(ttl)})
					}
					clk.now.Add(int64(ttl / 2))
					for i := 1; i < numKeys; i += 2 {
						m.Store(keys[i], deadlined{i, clk.now.Load() + int64(ttl)})
					}
				},
				sweep: func(now int64) int {
					return m.DeleteMatching(func(_ string, d deadlined) (bool, bool) { return d.exp <= now, false })
				},
			}
		}},
	}
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			clk := &stepClock{}
			clk.now.Store(time.Now().UnixNano())
			t := im.new(clk)
			var cpu time.Duration
			removed := 0
			b.ReportAllocs()
			b.StopTimer()
			for range b.N {
				t.fill(clk)
				clk.now.Add(int64(ttl/2 + time.Second))
				runtime.GC()
				cpu0 := testutil.CPUTime()
				b.StartTimer()
				n := t.sweep(clk.now.Load())
				b.StopTimer()
				cpu += testutil.CPUTime() - cpu0
				if n != numKeys/2 {
					b.Fatalf("swept %d, want %d", n, numKeys/2)
				}
				removed += n
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(removed), "cpu-ns/expired")
		})
	}
}
