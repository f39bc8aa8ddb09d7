package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// The throughput key set and stream: 2^16 keys of about 40 bytes and 2^20
// scrambled-zipf draws (exponent 0.99, YCSB's) over them.
const (
	numKeys    = 1 << 16
	streamLen  = 1 << 20
	streamMask = streamLen - 1
	zipfS      = 0.99
)

var fixtures = sync.OnceValues(func() ([]string, []uint32) {
	return KeySet(numKeys, 1), ScrambledZipf(numKeys, streamLen, zipfS, 2)
})

// implsFor returns the implementations a workload compares: the load-only
// variants only when the workload loads, and only those keep accepts (when
// keep is nil, every one but the diagnostic variants).
func implsFor(loads bool, keep func(Impl) bool) []Impl {
	var out []Impl
	for _, impl := range Impls() {
		if impl.LoadVariant && !loads {
			continue
		}
		if (keep == nil && impl.Diagnostic) || (keep != nil && !keep(impl)) {
			continue
		}
		out = append(out, impl)
	}
	return out
}

// lazyCache builds a cache the first time a sub-benchmark function runs and
// hands the same one to the later runs of that sub-benchmark (the testing
// package calls it several times while it picks b.N), so that populating
// 64K keys is not repeated. The caller closes it after b.Run returns.
type lazyCache struct {
	c     Cache
	build func() Cache
}

func (l *lazyCache) get(b *testing.B) Cache {
	b.Helper()
	if l.c == nil {
		b.StopTimer()
		l.c = l.build()
		b.StartTimer()
	}
	return l.c
}

func (l *lazyCache) close() {
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
}

// populated returns a cache of impl holding every key of keys, or fails b.
func populated(b *testing.B, impl Impl, o Options, keys []string) Cache {
	b.Helper()
	c := impl.New(o)
	if missing := Populate(c, keys, 5); missing > 0 {
		b.Logf("%s: %d of %d keys still missing after 5 rounds of Set and Wait", impl.Name, missing, len(keys))
	}
	return c
}

func reportOps(b *testing.B) {
	b.Helper()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

// cpuMeter measures the process CPU time of a benchmark's timed part: the
// benchmark goroutines', the implementation's own background goroutines'
// and the garbage collector's.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

// startCPU starts a cpuMeter; call it right after b.ResetTimer.
func startCPU() cpuMeter {
	t, ok := ProcessCPU()
	return cpuMeter{start: t, ok: ok}
}

// report adds cpu-ns/op, the CPU time per operation, to b's metrics.
func (m cpuMeter) report(b *testing.B) {
	b.Helper()
	if t, ok := ProcessCPU(); ok && m.ok && b.N > 0 {
		b.ReportMetric(float64(t-m.start)/float64(b.N), "cpu-ns/op")
	}
}

var bg = context.Background()

// withDiagnostics keeps every implementation, the diagnostic variants too.
func withDiagnostics(Impl) bool { return true }

func name(parts ...any) string {
	s := ""
	for i := 0; i+1 < len(parts); i += 2 {
		s += fmt.Sprintf("%v=%v/", parts[i], parts[i+1])
	}
	return s
}
