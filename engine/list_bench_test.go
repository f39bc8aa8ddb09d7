package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// benchSessions is how many sessions the listing benchmarks seed:
// MCPFLOW_BENCH_SESSIONS, or 10,000. docs/benchmarks/sessions.md has the
// 100,000-session figures and the command that made them.
func benchSessions(b *testing.B) int {
	b.Helper()
	if v := os.Getenv("MCPFLOW_BENCH_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("MCPFLOW_BENCH_SESSIONS=%q is not a positive number", v)
		}
		return n
	}
	return 10_000
}

// seedStateFolder writes n state files into dir as earlier runs would
// have left them: one workflow, n/10 distinct targets, a quarter
// completed, each with a phase of evidence.
func seedStateFolder(b *testing.B, dir string, n int) {
	b.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "demo", TargetFile: fmt.Sprintf("pkg/sub%d/file%d.go", i%97, i%(n/10+1)),
			CurrentPhase: 1, CompletedPhases: []int{0}, Status: state.StatusActive, CreatedAt: at, UpdatedAt: at,
			PhaseArtifacts: map[int]*state.PhaseArtifact{0: {PhaseNumber: 0, Evidence: map[string]any{"summary": "reproduced with go test ./...", "tests_passed": 12}, Timestamp: at, Attempts: 1}},
			Checkpoints:    map[int]state.CheckpointStatus{0: state.CheckpointPassed, 1: state.CheckpointPending}}
		if i%4 == 0 {
			st.Status = state.StatusCompleted
		}
		data, err := state.EncodeState(st, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, st.SessionID+".json"), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// openStats is what listBench measured when it opened the engine.
type openStats struct {
	heapPerSession float64
	opened         time.Duration
}

// report reports s as metrics of b.
func (s openStats) report(b *testing.B) {
	b.Helper()
	b.ReportMetric(s.heapPerSession, "heap-B/session")
	b.ReportMetric(float64(s.opened.Milliseconds()), "open-ms")
}

// listBench opens an engine on a folder of benchSessions sessions and
// returns the heap its index holds per session and the time to open.
func listBench(b *testing.B) (*Engine, openStats) {
	b.Helper()
	n := benchSessions(b)
	dir := b.TempDir()
	seedStateFolder(b, dir, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	e, err := New(Config{WorkflowsDir: demoWorkflowsB(b), StateDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	opened := time.Since(start)
	b.Cleanup(func() { _ = e.Close() })
	runtime.GC()
	runtime.ReadMemStats(&after)
	return e, openStats{heapPerSession: float64(after.HeapAlloc-before.HeapAlloc) / float64(n), opened: opened}
}

// BenchmarkListSessions: one page of list_sessions (50 sessions, the
// default), first and from a cursor in the middle, with
// MCPFLOW_BENCH_SESSIONS sessions in the state folder. Before the summary
// index, one call read and decoded every state file.
func BenchmarkListSessions(b *testing.B) {
	n := benchSessions(b)
	e, opened := listBench(b)
	ctx := context.Background()
	mid, err := e.ListSessions(ctx, state.PageQuery{Limit: min(n/2, state.MaxPageLimit)})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		after *state.ListKey
	}{{"first", nil}, {"middle", mid.Next}} {
		b.Run(fmt.Sprintf("sessions=%d/page=%s", n, tc.name), func(b *testing.B) {
			b.ReportAllocs()
			cpu := testutil.CPUTime()
			for b.Loop() {
				p, err := e.ListSessions(ctx, state.PageQuery{After: tc.after, Limit: state.DefaultPageLimit})
				if err != nil || len(p.Sessions) != state.DefaultPageLimit {
					b.Fatal(len(p.Sessions), err)
				}
			}
			testutil.ReportCPU(b, cpu)
			opened.report(b)
		})
	}
}

// BenchmarkCompletionScan: what one completion/complete of target_file
// costs in the engine: the newest 2,000 sessions of the index, their
// targets de-duplicated with a set (the server's maxCompletionScan).
// Before, it read every state file and de-duplicated in quadratic time.
func BenchmarkCompletionScan(b *testing.B) {
	n := benchSessions(b)
	e, opened := listBench(b)
	ctx := context.Background()
	b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
		b.ReportAllocs()
		cpu := testutil.CPUTime()
		for b.Loop() {
			seen := map[string]struct{}{}
			err := e.RecentSessions(ctx, 2000, func(x *state.SessionSummary) bool {
				if x.WorkflowType == "demo" {
					seen[x.TargetFile] = struct{}{}
				}
				return true
			})
			if err != nil || len(seen) == 0 {
				b.Fatal(err)
			}
		}
		testutil.ReportCPU(b, cpu)
		opened.report(b)
	})
}
