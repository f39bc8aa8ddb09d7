package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
)

// Engine-level benchmarks: the same engine operation on the FileStore (one
// process, fsync on every save, the single-machine deployment) and on the
// Redis store (two replicas, i.e. two engines with their own store and
// connections, sharing one redis-server without persistence). Client i
// calls replica i%2. Each reports, besides ns/op (wall time / ops, the
// inverse of the throughput of all clients together), ops/s and the p50
// and p99 latency of one call.
//
//	go test -run '^$' -bench . -benchtime 3000x ./engine/redisstore/

var benchClients = []int{1, 8, 32}

// replicas returns the engines of a deployment: one on a FileStore, or
// two on Redis stores sharing a prefix.
func replicas(b *testing.B, store string, srv *redistest.Server) ([]*engine.Engine, []*redisstore.Store) {
	b.Helper()
	proj := benchProject(b)
	if store == "file" {
		e, err := engine.New(engine.Config{StateDir: b.TempDir(), ProjectDir: proj})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = e.Close() })
		return []*engine.Engine{e}, nil
	}
	prefix := redistest.Prefix(b)
	var engines []*engine.Engine
	var stores []*redisstore.Store
	for range 2 {
		s := open(b, srv, redisstore.Options{Prefix: prefix})
		stores = append(stores, s)
		e, err := engine.New(engine.Config{Store: s, ProjectDir: proj})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = e.Close() })
		engines = append(engines, e)
	}
	return engines, stores
}

// benchProject is a project folder holding the test report bug_fix's
// phase 3 reads (120 passing tests), dated an hour ahead so that it is
// newer than every phase the benchmark opens.
func benchProject(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	var report strings.Builder
	for i := range 120 {
		fmt.Fprintf(&report, "{\"Action\":\"pass\",\"Package\":\"lexer\",\"Test\":\"Test%d\"}\n", i)
	}
	name := filepath.Join(dir, "report.json")
	if err := os.WriteFile(name, []byte(report.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(name, later, later); err != nil {
		b.Fatal(err)
	}
	return dir
}

// run calls op b.N times from clients goroutines (released together) and
// reports throughput and latency. op gets the client number and the
// client's own call count.
func run(b *testing.B, clients int, op func(client, n int) error) {
	b.Helper()
	lat := make([][]time.Duration, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			<-start
			for n := range quota(b.N, clients, c) {
				began := time.Now()
				if err := op(c, n); err != nil {
					b.Errorf("client %d call %d: %v", c, n, err)
					return
				}
				lat[c] = append(lat[c], time.Since(began))
			}
		})
	}
	b.ResetTimer()
	began := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(began)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/wall.Seconds(), "ops/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

// quota is client c's share of n calls among clients.
func quota(n, clients, c int) int {
	q := n / clients
	if c < n%clients {
		q++
	}
	return q
}

// BenchmarkStart: start_workflow of a new (workflow, target) pair.
func BenchmarkStart(b *testing.B) {
	for _, store := range []string{"file", "redis"} {
		var srv *redistest.Server
		if store == "redis" {
			srv = redistest.Start(b)
		}
		for _, clients := range benchClients {
			b.Run(fmt.Sprintf("store=%s/clients=%d", store, clients), func(b *testing.B) {
				engines, _ := replicas(b, store, srv)
				ctx := context.Background()
				run(b, clients, func(c, n int) error {
					_, err := engines[c%len(engines)].Start(ctx, engine.MustParseWorkflowName("bug_fix"), "c"+strconv.Itoa(c)+"/"+strconv.Itoa(n)+".go", nil)
					return err
				})
			})
		}
	}
}

// completeEvidence passes each phase of bug_fix.
var completeEvidence = map[int]map[string]any{
	1: passEvidence(),
	2: {"root_cause": "the lexer reads past the end of the input", "regression_test": "TestUnterminatedString", "fails_without_fix": true, "files_changed": 1},
	3: {"tests_passed": 120, "tests_failed": 0, "original_repro_fixed": true, "confidence": 0.9, "test_report": "report.json"},
}

// BenchmarkCompletePhase: complete_phase with evidence that passes, on
// sessions of the client's own (phases 1, 2, 3 of bug_fix, then the next
// session). The sessions are started before the timer.
func BenchmarkCompletePhase(b *testing.B) {
	for _, store := range []string{"file", "redis"} {
		var srv *redistest.Server
		if store == "redis" {
			srv = redistest.Start(b)
		}
		for _, clients := range benchClients {
			b.Run(fmt.Sprintf("store=%s/clients=%d", store, clients), func(b *testing.B) {
				engines, _ := replicas(b, store, srv)
				ctx := context.Background()
				ids := make([][]state.SessionID, clients)
				for c := range clients {
					for i := range quota(b.N, clients, c)/3 + 1 {
						r, err := engines[c%len(engines)].Start(ctx, engine.MustParseWorkflowName("bug_fix"), fmt.Sprintf("c%d/%d.go", c, i), nil)
						if err != nil {
							b.Fatal(err)
						}
						ids[c] = append(ids[c], state.MustParseSessionID(r.SessionID))
					}
				}
				run(b, clients, func(c, n int) error {
					phase := n%3 + 1
					res, err := engines[c%len(engines)].CompletePhase(ctx, ids[c][n/3], phase, completeEvidence[phase])
					if err == nil && !res.PhaseCompleted {
						err = fmt.Errorf("phase %d not completed: %v", phase, res.ValidationResult.Errors)
					}
					return err
				})
			})
		}
	}
}

// BenchmarkGetState: get_workflow_state of sessions that exist (a read:
// the session cache for the FileStore, the client-side cache and the
// guard for Redis).
func BenchmarkGetState(b *testing.B) {
	for _, store := range []string{"file", "redis"} {
		var srv *redistest.Server
		if store == "redis" {
			srv = redistest.Start(b)
		}
		for _, clients := range benchClients {
			b.Run(fmt.Sprintf("store=%s/clients=%d", store, clients), func(b *testing.B) {
				engines, _ := replicas(b, store, srv)
				ctx := context.Background()
				ids := make([]state.SessionID, 64)
				for i := range ids {
					r, err := engines[0].Start(ctx, engine.MustParseWorkflowName("bug_fix"), fmt.Sprintf("s%d.go", i), nil)
					if err != nil {
						b.Fatal(err)
					}
					ids[i] = state.MustParseSessionID(r.SessionID)
				}
				for _, e := range engines { // steady state: every replica has read every session once
					for _, id := range ids {
						if _, err := e.State(ctx, id); err != nil {
							b.Fatal(err)
						}
					}
				}
				run(b, clients, func(c, n int) error {
					_, err := engines[c%len(engines)].State(ctx, ids[(c*7+n)%len(ids)])
					return err
				})
			})
		}
	}
}

// BenchmarkContention: every client, on two replicas, submits failing
// evidence for phase 1 of the same session: each call is one save of that
// session, so saves from the two replicas conflict. Reports the CAS
// conflicts per call and the calls that gave up after the engine's
// bounded retries (ErrConflict returned).
func BenchmarkContention(b *testing.B) {
	srv := redistest.Start(b)
	for _, clients := range benchClients {
		b.Run(fmt.Sprintf("store=redis/clients=%d", clients), func(b *testing.B) {
			engines, stores := replicas(b, "redis", srv)
			ctx := context.Background()
			r, err := engines[0].Start(ctx, engine.MustParseWorkflowName("bug_fix"), "hot.go", nil)
			if err != nil {
				b.Fatal(err)
			}
			var gaveUp atomic.Int64
			fail := map[string]any{"reproduced": false}
			run(b, clients, func(c, n int) error {
				_, err := engines[c%2].CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, fail)
				if errors.Is(err, state.ErrConflict) {
					gaveUp.Add(1)
					return nil
				}
				return err
			})
			var conflicts, saves int64
			for _, s := range stores {
				st := s.Stats()
				conflicts += st.CASConflicts
				saves += st.Saves
			}
			b.ReportMetric(float64(conflicts)/float64(b.N), "conflicts/op")
			b.ReportMetric(float64(gaveUp.Load())/float64(b.N), "gave-up/op")
			b.ReportMetric(float64(conflicts)/float64(conflicts+saves), "conflict-rate")
		})
	}
}
