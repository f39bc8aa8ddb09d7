package checkpoint

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mcpflow/mcpflow/internal/baseline"
)

// BenchmarkGateLookupHit: the gate of a (workflow, phase) when it is
// cached, through the Loader (shard.Cache) and through the same lookup
// built on the RWMutex baseline, over 8 gates.
func BenchmarkGateLookupHit(b *testing.B) {
	dir := b.TempDir()
	keys := make([]gateKey, 0, 8)
	for _, wf := range []string{"feature_delivery", "bug_fix"} {
		for phase := range 4 {
			p := fmt.Sprintf("%s/%s/phases/%d", dir, wf, phase)
			if err := os.MkdirAll(p, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p+"/"+GateFile, []byte(gateV2), 0o644); err != nil {
				b.Fatal(err)
			}
			keys = append(keys, gateKey{wf, phase})
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	l, err := NewLoader(LoaderConfig{FS: root.FS(), Recheck: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// The baseline fills itself through the Loader and only replaces the
	// lookup: an RWMutex map keyed by (workflow, phase).
	base := baseline.New[gateKey, *Gate]()
	ctx := context.Background()
	baseGate := func(k gateKey) (*Gate, error) {
		return base.GetOrLoad(ctx, k, func(ctx context.Context, k gateKey) (*Gate, error) {
			return l.Gate(ctx, WorkflowName{k.workflow}, k.phase)
		})
	}
	for _, k := range keys {
		if _, err := l.Gate(ctx, WorkflowName{k.workflow}, k.phase); err != nil {
			b.Fatal(err)
		}
		if _, err := baseGate(k); err != nil {
			b.Fatal(err)
		}
	}
	lookups := map[string]func(gateKey) (*Gate, error){
		"shard":    func(k gateKey) (*Gate, error) { return l.Gate(ctx, WorkflowName{k.workflow}, k.phase) },
		"baseline": baseGate,
	}
	for _, impl := range []string{"shard", "baseline"} {
		get := lookups[impl]
		b.Run("impl="+impl+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			cpu := startCPU()
			for b.Loop() {
				if g, err := get(keys[i&7]); g == nil || err != nil {
					b.Fatal(err)
				}
				i++
			}
			cpu.report(b)
		})
		b.Run("impl="+impl+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if g, err := get(keys[i&7]); g == nil || err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			cpu.report(b)
		})
	}
}

// BenchmarkValidate: checking a typical submission against a gate.
func BenchmarkValidate(b *testing.B) {
	g, err := ParseGate([]byte(fullGate), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ev := map[string]any{"done": true, "count": 2.0, "ratio": 0.5, "name": "beta", "info": map[string]any{}, "items": []any{1.0, 2.0}}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if r := Validate(g, ev); !r.CheckpointPassed {
			b.Fatal(r.Errors)
		}
	}
	cpu.report(b)
}

// cpuMeter reports the process CPU time per operation as cpu-ns/op.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	b.Helper()
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-m.start)/float64(b.N), "cpu-ns/op")
	}
}
