package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// BenchmarkListPage: one page of 50 sessions from the summary index, with
// MCPFLOW_BENCH_SESSIONS (default 10,000) sessions in Redis, first and
// from a cursor in the middle; and the 2,000-session scan of a
// completion. Before the index, a list read every session document with
// SCAN and HMGET.
//
//	MCPFLOW_BENCH_SESSIONS=100000 go test -run '^$' -bench ListPage -benchtime 200x ./engine/redisstore/
func BenchmarkListPage(b *testing.B) {
	n := 10_000
	if v := os.Getenv("MCPFLOW_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("MCPFLOW_BENCH_SESSIONS=%q is not a positive number", v)
		}
	}
	s := open(b, redistest.Shared(b), redisstore.Options{Prefix: redistest.Prefix(b), Timeout: 10 * time.Second})
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	workers := 4 * runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				at := base.Add(time.Duration(i) * time.Second)
				st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "demo", TargetFile: fmt.Sprintf("pkg/file%d.go", i%(n/10+1)),
					CompletedPhases: []int{0}, Status: state.StatusActive, CreatedAt: at, UpdatedAt: at,
					PhaseArtifacts: map[int]*state.PhaseArtifact{0: {Evidence: map[string]any{"summary": "reproduced with go test ./..."}, Timestamp: at}}}
				if _, err := s.Save(ctx, st, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	mid, err := s.ListPage(ctx, state.PageQuery{Limit: min(n/2, state.MaxPageLimit)})
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
				p, err := s.ListPage(ctx, state.PageQuery{After: tc.after, Limit: state.DefaultPageLimit})
				if err != nil || len(p.Sessions) != state.DefaultPageLimit {
					b.Fatal(len(p.Sessions), err)
				}
			}
			testutil.ReportCPU(b, cpu)
		})
	}
	b.Run(fmt.Sprintf("sessions=%d/completion-scan=2000", n), func(b *testing.B) {
		b.ReportAllocs()
		cpu := testutil.CPUTime()
		for b.Loop() {
			seen := map[string]struct{}{}
			q := state.PageQuery{Limit: state.MaxPageLimit}
			for range 4 {
				p, err := s.ListPage(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				for i := range p.Sessions {
					seen[p.Sessions[i].TargetFile] = struct{}{}
				}
				if q.After = p.Next; q.After == nil {
					break
				}
			}
		}
		testutil.ReportCPU(b, cpu)
	})
}
