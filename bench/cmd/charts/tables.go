package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// column is one column of a markdown table: a header and how to read the
// cell for an implementation at a GOMAXPROCS.
type column struct {
	head string
	cell func(impl string, procs int) (string, bool)
}

// metric returns a column that shows the median of unit for base/workload,
// formatted by format.
func metric(head, base, workload, unit string, format func(float64) string) column {
	return column{head: head, cell: func(impl string, procs int) (string, bool) {
		m, ok := current.median(key{base, workload, impl, procs}, unit)
		if !ok {
			return "", false
		}
		return format(m), true
	}}
}

// current is the result set the table columns read.
var current results

func mops(v float64) string   { return fmt.Sprintf("%.2f", v/1e6) }
func plain(v float64) string  { return fmt.Sprintf("%.3g", v) }
func whole(v float64) string  { return fmt.Sprintf("%.0f", v) }
func pct(v float64) string    { return fmt.Sprintf("%.1f", v) }
func dur(ns float64) string   { return time.Duration(ns).Round(durRound(ns)).String() }
func msec(sec float64) string { return fmt.Sprintf("%.2f", sec*1e3) }

func durRound(ns float64) time.Duration {
	switch {
	case ns >= 1e6:
		return 10 * time.Microsecond
	case ns >= 1e3:
		return 10 * time.Nanosecond
	default:
		return time.Nanosecond
	}
}

// errWriter writes until the first error and keeps it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// table writes one markdown table: a row per implementation that has any
// cell, a column per column.
func table(w *errWriter, procs int, cols []column) {
	w.printf("| impl |")
	for _, c := range cols {
		w.printf(" %s |", c.head)
	}
	w.printf("\n|---|%s\n", strings.Repeat("---:|", len(cols)))
	for _, im := range impls {
		cells := make([]string, len(cols))
		has := false
		for i, c := range cols {
			if s, ok := c.cell(im.name, procs); ok {
				cells[i], has = s, true
			} else {
				cells[i] = "–"
			}
		}
		if has {
			w.printf("| %s | %s |\n", im.name, strings.Join(cells, " | "))
		}
	}
	w.printf("\n")
}

// ratio returns a column that shows num's median of unit over den's, for
// the implementation in the row as num (or as den when rowIsDen).
func ratio(head, base, workload, unit, other string, rowIsDen bool) column {
	return column{head: head, cell: func(impl string, procs int) (string, bool) {
		a, okA := current.median(key{base, workload, impl, procs}, unit)
		b, okB := current.median(key{base, workload, other, procs}, unit)
		if !okA || !okB || a == 0 || b == 0 {
			return "", false
		}
		if rowIsDen {
			a, b = b, a
		}
		return fmt.Sprintf("%.2f×", a/b), true
	}}
}

// writeTables writes every table of docs/benchmarks/peers.md's results
// section, as markdown, from res (and hit, the hit-ratio results, if any).
func writeTables(out io.Writer, res, hit results) error {
	w := &errWriter{w: out}
	current = res
	for _, p := range res.procs("Throughput") {
		w.printf("#### Throughput, million ops/s, GOMAXPROCS=%d (median)\n\n", p)
		table(w, p, []column{
			metric("reads 100%", "Throughput", "reads=100%", "ops/s", mops),
			metric("75%", "Throughput", "reads=75%", "ops/s", mops),
			metric("50%", "Throughput", "reads=50%", "ops/s", mops),
			metric("25%", "Throughput", "reads=25%", "ops/s", mops),
			metric("0%", "Throughput", "reads=0%", "ops/s", mops),
			metric("get-or-load hits", "GetOrLoadHits", "", "ops/s", mops),
			metric("misses, Background ctx", "GetOrLoadMisses", "ctx=background", "ops/s", mops),
			metric("misses, cancellable ctx", "GetOrLoadMisses", "ctx=cancel", "ops/s", mops),
		})
	}
	for _, p := range res.procs("Throughput") {
		w.printf("#### CPU time per operation, ns, GOMAXPROCS=%d (median)\n\n", p)
		table(w, p, []column{
			metric("reads 100%", "Throughput", "reads=100%", "cpu-ns/op", whole),
			metric("75%", "Throughput", "reads=75%", "cpu-ns/op", whole),
			metric("50%", "Throughput", "reads=50%", "cpu-ns/op", whole),
			metric("25%", "Throughput", "reads=25%", "cpu-ns/op", whole),
			metric("0%", "Throughput", "reads=0%", "cpu-ns/op", whole),
			metric("get-or-load hits", "GetOrLoadHits", "", "cpu-ns/op", whole),
			metric("misses, Background ctx", "GetOrLoadMisses", "ctx=background", "cpu-ns/op", whole),
			metric("misses, cancellable ctx", "GetOrLoadMisses", "ctx=cancel", "cpu-ns/op", whole),
		})
	}
	for _, p := range res.procs("Throughput") {
		w.printf("#### Each row against otter by CPU time, GOMAXPROCS=%d (otter's CPU ns/op ÷ the row's; above 1 is cheaper than otter)\n\n", p)
		table(w, p, []column{
			ratio("reads 100%", "Throughput", "reads=100%", "cpu-ns/op", "otter", true),
			ratio("reads 75%", "Throughput", "reads=75%", "cpu-ns/op", "otter", true),
			ratio("reads 0%", "Throughput", "reads=0%", "cpu-ns/op", "otter", true),
			ratio("get-or-load hits", "GetOrLoadHits", "", "cpu-ns/op", "otter", true),
			ratio("misses, Background", "GetOrLoadMisses", "ctx=background", "cpu-ns/op", "otter", true),
			ratio("misses, cancellable", "GetOrLoadMisses", "ctx=cancel", "cpu-ns/op", "otter", true),
		})
	}
	for _, p := range res.procs("Throughput") {
		w.printf("#### Each row against otter by wall-clock throughput, GOMAXPROCS=%d (row ÷ otter; above 1 is faster)\n\n", p)
		table(w, p, []column{
			ratio("reads 100%", "Throughput", "reads=100%", "ops/s", "otter", false),
			ratio("reads 75%", "Throughput", "reads=75%", "ops/s", "otter", false),
			ratio("reads 0%", "Throughput", "reads=0%", "ops/s", "otter", false),
			ratio("get-or-load hits", "GetOrLoadHits", "", "ops/s", "otter", false),
			ratio("misses, Background", "GetOrLoadMisses", "ctx=background", "ops/s", "otter", false),
			ratio("misses, cancellable", "GetOrLoadMisses", "ctx=cancel", "ops/s", "otter", false),
		})
	}
	for _, p := range res.procs("GetOrLoadHits") {
		w.printf("#### Allocations per call, GOMAXPROCS=%d\n\n", p)
		table(w, p, []column{
			metric("hits B/op", "GetOrLoadHits", "", "B/op", whole),
			metric("hits allocs/op", "GetOrLoadHits", "", "allocs/op", plain),
			metric("misses B/op", "GetOrLoadMisses", "ctx=background", "B/op", whole),
			metric("misses allocs/op", "GetOrLoadMisses", "ctx=background", "allocs/op", plain),
			metric("misses (cancellable) allocs/op", "GetOrLoadMisses", "ctx=cancel", "allocs/op", plain),
			metric("misses loads/op", "GetOrLoadMisses", "ctx=background", "loads/op", plain),
		})
	}
	for _, p := range res.procs("Blocking") {
		w.printf("#### Other-key get-or-load latency during a 20 ms load, GOMAXPROCS=%d (median of runs)\n\n", p)
		table(w, p, []column{
			metric("hits p50", "Blocking", "others=hit", "p50-ns", dur),
			metric("hits p99.9", "Blocking", "others=hit", "p99.9-ns", dur),
			metric("hits max", "Blocking", "others=hit", "max-ns", dur),
			metric("hits ≥1 ms per load", "Blocking", "others=hit", "stalls/op", plain),
			metric("misses p50", "Blocking", "others=miss", "p50-ns", dur),
			metric("misses p99.9", "Blocking", "others=miss", "p99.9-ns", dur),
			metric("misses max", "Blocking", "others=miss", "max-ns", dur),
			metric("misses ≥1 ms per load", "Blocking", "others=miss", "stalls/op", plain),
			ratio("hits p99.9 ÷ shard", "Blocking", "others=hit", "p99.9-ns", "shard", false),
			ratio("misses p99.9 ÷ shard", "Blocking", "others=miss", "p99.9-ns", "shard", false),
		})
	}
	for _, p := range res.procs("Blocking") {
		if !res.has("Blocking", "others=grow", p) {
			continue
		}
		w.printf("#### Other-key get-or-load latency during a 20 ms load while the table grows, GOMAXPROCS=%d (median of runs)\n\n", p)
		table(w, p, []column{
			metric("p50", "Blocking", "others=grow", "p50-ns", dur),
			metric("p99.9", "Blocking", "others=grow", "p99.9-ns", dur),
			metric("max", "Blocking", "others=grow", "max-ns", dur),
			metric("≥1 ms per load", "Blocking", "others=grow", "stalls/op", plain),
			ratio("p99.9 ÷ shard", "Blocking", "others=grow", "p99.9-ns", "shard", false),
		})
	}
	for _, p := range res.procs("Stampede") {
		w.printf("#### Stampede: 64 goroutines miss one key together, 1 ms loader, GOMAXPROCS=%d\n\n", p)
		table(w, p, []column{
			metric("loads per key (mean)", "Stampede", "", "loads/key", plain),
			metric("loads per key (max)", "Stampede", "", "max-loads/key", plain),
			metric("ms per stampede", "Stampede", "", "sec/op", msec),
			metric("CPU µs per stampede", "Stampede", "", "cpu-ns/op", func(v float64) string { return fmt.Sprintf("%.0f", v/1e3) }),
			metric("allocs per stampede", "Stampede", "", "allocs/op", plain),
		})
	}
	for _, p := range res.procs("Sweep") {
		w.printf("#### Sweep of 32K expired among 64K entries with GOMAXPROCS readers, GOMAXPROCS=%d\n\n", p)
		table(w, p, []column{
			metric("ms per sweep", "Sweep", "", "sec/op", msec),
			metric("removed", "Sweep", "", "removed/op", whole),
			metric("reads during it", "Sweep", "", "reads/op", whole),
			metric("read p99.9", "Sweep", "", "read-p99.9-ns", dur),
			metric("read max", "Sweep", "", "read-max-ns", dur),
		})
	}
	for _, p := range res.procs("LostWrites") {
		w.printf("#### Lost writes: 64K concurrent Sets into room for 128K, GOMAXPROCS=%d (%% of keys)\n\n", p)
		table(w, p, []column{
			metric("not found after Set", "LostWrites", "", "lost%", pct),
			metric("not found after Wait", "LostWrites", "", "lost-after-wait%", pct),
			metric("Set returned false", "LostWrites", "", "set-false%", pct),
		})
	}
	if hit == nil {
		return w.err
	}
	current = hit
	for _, p := range hit.procs("HitRatio") {
		w.printf("#### Hit ratio, %% (512K accesses over 128K keys, one goroutine)\n\n")
		table(w, p, []column{
			metric("zipf 0.99, 1K", "HitRatio", "zipf=0.99/cap=1000", "hit%", pct),
			metric("zipf 0.99, 10K", "HitRatio", "zipf=0.99/cap=10000", "hit%", pct),
			metric("zipf 0.8, 1K", "HitRatio", "zipf=0.8/cap=1000", "hit%", pct),
			metric("zipf 0.8, 10K", "HitRatio", "zipf=0.8/cap=10000", "hit%", pct),
		})
	}
	return w.err
}
