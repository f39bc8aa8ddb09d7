package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
)

// impls names the session caches measured. The comparison of shard.Cache
// with the RWMutex baseline lives in shard/ and bench/; the engine runs on
// its one cache, and the sub-benchmark names keep "impl=shard" so that
// earlier results compare with benchstat.
var impls = []string{"shard"}

// benchEngine returns an engine on the demo workflow whose FileStore skips
// fsync unless sync is set.
func benchEngine(b *testing.B, sync bool) *Engine {
	b.Helper()
	fs, err := filestore.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	fs.SetNoSync(!sync)
	e, err := New(Config{WorkflowsDir: demoWorkflowsB(b), Store: fs})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = e.Close()
		_ = fs.Close()
	})
	return e
}

func demoWorkflowsB(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	for name, content := range map[string]string{
		"demo/metadata.json":                 demoMetadata,
		"demo/phases/0/phase.md":             "# Phase zero\n",
		"demo/phases/0/task-0-zero.md":       "task zero text\n",
		"demo/phases/0/task-1-one.md":        "task one text\n",
		"demo/phases/0/gate-definition.yaml": demoGate0,
		"demo/phases/1/phase.md":             "# Phase one\n",
		"demo/phases/1/task-1-only.md":       "only task\n",
		"demo/phases/2/phase.md":             "# Phase two\n",
		"demo/phases/2/gate-definition.yaml": demoGate2,
	} {
		writeFileB(b, dir, name, content)
	}
	return dir
}

func startN(b *testing.B, e *Engine, n int) []state.SessionID {
	b.Helper()
	ids := make([]state.SessionID, n)
	for i := range ids {
		r, err := e.Start(context.Background(), MustParseWorkflowName("demo"), fmt.Sprintf("target-%d.go", i), nil)
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = state.MustParseSessionID(r.SessionID)
	}
	return ids
}

// BenchmarkSessionLookupHit: the engine's session lookup (the first step of
// every session operation) when the session is in memory.
func BenchmarkSessionLookupHit(b *testing.B) {
	for _, impl := range impls {
		e := benchEngine(b, false)
		ids := startN(b, e, 1024)
		ctx := context.Background()
		b.Run("impl="+impl+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			cpu := startCPU()
			for b.Loop() {
				if _, err := e.lookup(ctx, ids[i&1023]); err != nil {
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
				i := int(uuid.New().ID())
				for pb.Next() {
					if _, err := e.lookup(ctx, ids[i&1023]); err != nil {
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

// BenchmarkStart: Start of a new (workflow, target) pair: read
// metadata.json and phase.md, write the state file. "nosync" skips the
// fsyncs; "fsync" is the real cost.
func BenchmarkStart(b *testing.B) {
	for _, impl := range impls {
		for _, sync := range []bool{false, true} {
			b.Run(fmt.Sprintf("impl=%s/%s", impl, syncName(sync)), func(b *testing.B) {
				e := benchEngine(b, sync)
				ctx := context.Background()
				b.ReportAllocs()
				i := 0
				cpu := startCPU()
				for b.Loop() {
					if _, err := e.Start(ctx, MustParseWorkflowName("demo"), fmt.Sprintf("t%d", i), nil); err != nil {
						b.Fatal(err)
					}
					i++
				}
				cpu.report(b)
			})
		}
	}
	b.Run("impl=shard/resume", func(b *testing.B) {
		e := benchEngine(b, false)
		ctx := context.Background()
		startN(b, e, 1)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, err := e.Start(ctx, MustParseWorkflowName("demo"), "target-0.go", nil); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
}

// BenchmarkCompletePhase: CompletePhase of phase 0 of a fresh session
// (gate passes, session advances, next phase read, state saved), and a
// submission that fails the gate (stored, no advance).
func BenchmarkCompletePhase(b *testing.B) {
	for _, impl := range impls {
		for _, sync := range []bool{false, true} {
			b.Run(fmt.Sprintf("impl=%s/pass/%s", impl, syncName(sync)), func(b *testing.B) {
				e := benchEngine(b, sync)
				ids := startN(b, e, b.N)
				ctx := context.Background()
				ev := map[string]any{"n": 3, "note": "all good"}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for i := range b.N {
					res, err := e.CompletePhase(ctx, ids[i], 0, ev)
					if err != nil || !res.PhaseCompleted {
						b.Fatal(res, err)
					}
				}
				cpu.report(b)
			})
		}
		b.Run(fmt.Sprintf("impl=%s/fail/nosync", impl), func(b *testing.B) {
			e := benchEngine(b, false)
			id := startN(b, e, 1)[0]
			ctx := context.Background()
			ev := map[string]any{"n": 0}
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				res, err := e.CompletePhase(ctx, id, 0, ev)
				if err != nil || res.CheckpointPassed {
					b.Fatal(res, err)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkFileStoreSave isolates the fsync cost: the same save with and
// without its two fsyncs (file, folder).
func BenchmarkFileStoreSave(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(syncName(sync), func(b *testing.B) {
			fs, err := filestore.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = fs.Close() }()
			fs.SetNoSync(!sync)
			now := time.Now().UTC()
			st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "demo", TargetFile: "t", CompletedPhases: []int{},
				PhaseArtifacts: map[int]*state.PhaseArtifact{0: {Evidence: map[string]any{"n": 3.0, "note": "all good"}, Timestamp: now}},
				Checkpoints:    map[int]state.CheckpointStatus{0: state.CheckpointPassed}, Status: state.StatusActive, CreatedAt: now, UpdatedAt: now}
			ctx := context.Background()
			var ver state.Version
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if ver, err = fs.Save(ctx, st, ver); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkRawReplace is the file system's own cost of what a save does,
// without JSON, os.Root or version checks: write a temporary file of the
// size of a state file and rename it over the previous one.
func BenchmarkRawReplace(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 1200)
	target := filepath.Join(dir, "state.json")
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, target); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

func syncName(sync bool) string {
	if sync {
		return "fsync"
	}
	return "nosync"
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

// plainStore hides a store's LoadNewer: the engine then serves a session
// from memory without asking the store whether it moved (the FileStore's
// behaviour before it became a SharedStore).
type plainStore struct{ state.Store }

// BenchmarkSessionRead: State on a session in memory, with the FileStore's
// freshness check (a stat of the state file per call, so that a decision
// saved by another process is seen at once) and without it.
func BenchmarkSessionRead(b *testing.B) {
	for _, mode := range []string{"stat", "nocheck"} {
		b.Run("check="+mode, func(b *testing.B) {
			fs, err := filestore.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			fs.SetNoSync(true)
			var store state.Store = fs
			if mode == "nocheck" {
				store = plainStore{fs}
			}
			e, err := New(Config{WorkflowsDir: demoWorkflowsB(b), Store: store})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				_ = e.Close()
				_ = fs.Close()
			})
			ids := startN(b, e, 64)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, _, err := e.get(ctx, ids[i&63]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
