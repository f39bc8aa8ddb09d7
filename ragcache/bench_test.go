package ragcache

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

// The benchmarks run on the generated corpus (genCorpus, about 1 MB and
// 3,000 chunks). Commands and results: docs/benchmarks/search.md.

// benchCorpus writes the generated corpus into a fresh temporary folder
// (about 60 ms) and returns it.
func benchCorpus(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	genCorpus(b, dir, benchFiles)
	return dir
}

func openBench(b *testing.B, dir string) *Index {
	b.Helper()
	ix, err := Open(context.Background(), Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ix.Close() })
	return ix
}

// cacheImpls are the query caches measured: the one Open builds on
// shard.Cache. The comparison with the RWMutex baseline lives in shard/ and
// bench/; the name keeps "impl=shard" so that earlier results compare.
var cacheImpls = []struct {
	name  string
	apply func(*Index)
}{
	{"impl=shard", func(*Index) {}},
}

// BenchmarkSearchCacheHit is Search answered from the query cache: the
// whole call (validation, canonical form, hash, lookup, copy of the
// result), from every P at once, over 64 hot queries.
func BenchmarkSearchCacheHit(b *testing.B) {
	queries := benchQueries(64)
	dir := benchCorpus(b)
	for _, impl := range cacheImpls {
		b.Run(impl.name, func(b *testing.B) {
			ix := openBench(b, dir)
			impl.apply(ix)
			ctx := context.Background()
			for _, q := range queries {
				if _, err := ix.Search(ctx, Query{Text: q}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			defer reportCPU(b, cpu)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					r, err := ix.Search(ctx, Query{Text: queries[i&63]})
					if err != nil || !r.CacheHit {
						b.Errorf("hit expected: %v", err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkSearchMixed is the workload the cache exists for: many
// goroutines (8 per P) repeat 64 hot queries, and one call in 16 asks a
// query never seen, which searches the index. It reports the latency of
// the hits: the baseline runs each load under its write lock, so hits
// queue behind index searches; shard.Cache runs loads outside any lock.
func BenchmarkSearchMixed(b *testing.B) {
	queries := benchQueries(64)
	dir := benchCorpus(b)
	for _, impl := range cacheImpls {
		b.Run(impl.name, func(b *testing.B) {
			ix := openBench(b, dir)
			impl.apply(ix)
			ctx := context.Background()
			for _, q := range queries {
				if _, err := ix.Search(ctx, Query{Text: q}); err != nil {
					b.Fatal(err)
				}
			}
			var (
				mu   sync.Mutex
				hits []time.Duration
				seq  atomic.Int64
			)
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				var local []time.Duration
				for i := 0; pb.Next(); i++ {
					q := Query{Text: queries[i&63]}
					if i%16 == 15 {
						q.Text += " zq" + strconv.FormatInt(seq.Add(1), 10)
					}
					start := time.Now()
					r, err := ix.Search(ctx, q)
					if err != nil {
						b.Error(err)
						return
					}
					if r.CacheHit {
						local = append(local, time.Since(start))
					}
				}
				mu.Lock()
				hits = append(hits, local...)
				mu.Unlock()
			})
			reportCPU(b, cpu)
			slices.Sort(hits)
			if n := len(hits); n > 0 {
				b.ReportMetric(float64(hits[n/2].Nanoseconds()), "hit-p50-ns")
				b.ReportMetric(float64(hits[n*99/100].Nanoseconds()), "hit-p99-ns")
			}
		})
	}
}

// BenchmarkQueryCacheGet is the cache lookup alone, as Search does it on a
// hit (key by generation and hash, value holding the result), for both
// caches, from every P at once over 64 hot keys.
func BenchmarkQueryCacheGet(b *testing.B) {
	queries := benchQueries(64)
	dir := benchCorpus(b)
	for _, impl := range cacheImpls {
		b.Run(impl.name, func(b *testing.B) {
			ix := openBench(b, dir)
			impl.apply(ix)
			keys := make([]cacheKey, len(queries))
			for i, q := range queries {
				if _, err := ix.Search(context.Background(), Query{Text: q}); err != nil {
					b.Fatal(err)
				}
				canon, err := Query{Text: q}.Canonical()
				if err != nil {
					b.Fatal(err)
				}
				keys[i] = cacheKey{gen: ix.cur.Load().gen, hash: xxhash.Sum64String(canon)}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			defer reportCPU(b, cpu)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, ok := ix.cache.Get(keys[i&63]); !ok {
						b.Error("hit expected")
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkSearchUncached is Search on a query the cache has never seen:
// the index search plus the cache's miss path. It reports the median and
// the 95th percentile of single calls.
func BenchmarkSearchUncached(b *testing.B) {
	queries := benchQueries(256)
	ix := openBench(b, benchCorpus(b))
	ctx := context.Background()
	var durations []time.Duration
	b.ReportAllocs()
	cpu := processCPU()
	for i := 0; b.Loop(); i++ {
		// The suffix makes every query new without changing its ranking:
		// no chunk holds the term.
		q := Query{Text: queries[i%len(queries)] + " zq" + strconv.Itoa(i)}
		start := time.Now()
		r, err := ix.Search(ctx, q)
		durations = append(durations, time.Since(start))
		if err != nil || r.CacheHit {
			b.Fatalf("miss expected: %v", err)
		}
	}
	reportCPU(b, cpu)
	reportPercentiles(b, durations)
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(d[len(d)*95/100].Nanoseconds()), "p95-ns")
}

// BenchmarkIndexBuild is a full rebuild: walk, read and chunk the files,
// build the bleve index, swap. Sub-benchmarks split the two halves.
func BenchmarkIndexBuild(b *testing.B) {
	dir := benchCorpus(b)
	b.Run("full", func(b *testing.B) {
		ix := openBench(b, dir)
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if err := ix.Reindex(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(ix.Stats().Chunks), "chunks")
	})
	b.Run("read+chunk", func(b *testing.B) {
		ix := &Index{cfg: Config{Dir: dir}, log: slog.New(slog.DiscardHandler)}
		b.ReportAllocs()
		for b.Loop() {
			fsys, _, closeFS, err := ix.openCorpus()
			if err != nil {
				b.Fatal(err)
			}
			s := &snapshot{tags: map[string]struct{}{}, phases: map[int]struct{}{}}
			if _, err := ix.readCorpus(context.Background(), fsys, s); err != nil {
				b.Fatal(err)
			}
			closeFS()
		}
	})
	b.Run("bleve", func(b *testing.B) {
		chunks := openBench(b, dir).cur.Load().chunks
		b.ReportAllocs()
		for b.Loop() {
			s := &snapshot{chunks: chunks}
			if err := s.index(context.Background()); err != nil {
				b.Fatal(err)
			}
			_ = s.idx.Close()
		}
	})
}

// BenchmarkIndexMemory reports the live heap that one index of the
// generated corpus holds (chunks, bleve's segment, maps), in bytes per
// chunk and in total, and the bytes of chunk text for comparison.
func BenchmarkIndexMemory(b *testing.B) {
	dir := benchCorpus(b)
	for b.Loop() {
		before := liveHeap()
		ix, err := Open(context.Background(), Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		after := liveHeap()
		s := ix.cur.Load()
		text := 0
		for _, c := range s.chunks {
			text += len(c.Content)
		}
		b.ReportMetric(float64(after-before)/float64(len(s.chunks)), "heap-B/chunk")
		b.ReportMetric(float64(after-before)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(text)/float64(len(s.chunks)), "text-B/chunk")
		runtime.KeepAlive(ix)
		_ = ix.Close()
	}
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
