package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

func goroutineCounts() []int { return []int{1, runtime.GOMAXPROCS(0), 100} }

func callerCtx(ctx context.Context, i int) context.Context {
	return WithCaller(ctx, Caller{Transport: "http", Client: fmt.Sprintf("agent-%d", i)})
}

func TestConcurrentStart(t *testing.T) {
	wf := demoWorkflows(t)
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			en := newEnv(t, wf)
			results := make([]*StartResult, n)
			testutil.Release(n, func(i int) {
				r, err := en.Start(callerCtx(t.Context(), i), MustParseWorkflowName("demo"), "same/target.go", nil)
				if err != nil {
					t.Errorf("Start %d: %v", i, err)
					return
				}
				results[i] = r
			})
			fresh := 0
			for i, r := range results {
				require.NotNil(t, r, "goroutine %d", i)
				if r.SessionID != results[0].SessionID {
					t.Errorf("goroutine %d got session %s, goroutine 0 got %s", i, r.SessionID, results[0].SessionID)
				}
				if !r.Resumed {
					fresh++
				}
			}
			assert.Equal(t, 1, fresh, "exactly one Start creates the session; the others resume it")
			assert.Equal(t, int64(1), en.store.creates.Load(), "one state file written")
			assert.Len(t, en.stateFiles(t), 1)
			assert.Equal(t, int64(1), en.Metrics()["sessions"].Entries, "one session object in memory")
			assert.Zero(t, en.store.loads.Load(), "resumes are served from memory")
		})
	}
}

func TestConcurrentFirstAccess(t *testing.T) {
	wf := demoWorkflows(t)
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			first := newEnv(t, wf)
			r, err := first.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
			require.NoError(t, err)
			require.NoError(t, first.Close())

			// A fresh engine on the same folder: the session is on disk only.
			en := newEnvAt(t, wf, first.stateDir)
			hold := make(chan struct{})
			en.store.hold = hold
			en.store.loads.Store(0)

			var waiting atomic.Int64
			objs := make([]*session, n)
			done := make(chan struct{})
			go func() {
				defer close(done)
				testutil.Release(n, func(i int) {
					s, err := en.lookup(callerCtx(context.Background(), i), state.MustParseSessionID(r.SessionID))
					if err != nil {
						t.Errorf("lookup %d: %v", i, err)
						return
					}
					objs[i] = s
				})
			}()
			// Hold the one load until every other caller waits on it, so
			// that each of them is a coalesced waiter, not a later hit.
			deadline := time.Now().Add(10 * time.Second)
			for en.sessions.Metrics().Coalesced < int64(n-1) && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			waiting.Store(en.sessions.Metrics().Coalesced)
			close(hold)
			<-done

			assert.Equal(t, int64(n-1), waiting.Load(), "every other caller waited for the load")
			assert.Equal(t, int64(1), en.store.loads.Load(), "the state file is read once")
			for i := range objs {
				if objs[i] != objs[0] {
					t.Errorf("goroutine %d got session object %p, goroutine 0 got %p", i, objs[i], objs[0])
				}
			}
			logs := en.logs.String()
			if n > 1 {
				assert.Equal(t, 1, strings.Count(logs, "session load coalesced"), "rate-limited to one line per second:\n%s", logs)
				assert.Contains(t, logs, "session_id="+r.SessionID)
				assert.Regexp(t, `loader=http/agent-\d+ waiter=http/agent-\d+`, logs)
				assert.Equal(t, int64(n-1), en.Metrics()["sessions"].Coalesced)
			} else {
				assert.NotContains(t, logs, "coalesced")
			}
		})
	}
}

func TestCoalescedLogIsRateLimited(t *testing.T) {
	var r rateLimit
	now := time.Unix(100, 0)
	_, ok := r.allow(now)
	assert.True(t, ok)
	for range 5 {
		_, ok = r.allow(now.Add(500 * time.Millisecond))
		assert.False(t, ok)
	}
	dropped, ok := r.allow(now.Add(1500 * time.Millisecond))
	assert.True(t, ok)
	assert.Equal(t, int64(5), dropped, "the next line says how many were dropped")
}

func TestConcurrentCompletePhase(t *testing.T) {
	wf := demoWorkflows(t)
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			en := newEnv(t, wf)
			r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
			require.NoError(t, err)
			saves := en.store.saves.Load()

			var advanced, already atomic.Int64
			var winner atomic.Value
			testutil.Release(n, func(i int) {
				note := fmt.Sprintf("goroutine %d", i)
				res, err := en.CompletePhase(callerCtx(t.Context(), i), state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 1, "note": note})
				switch {
				case err == nil && res.PhaseCompleted:
					advanced.Add(1)
					winner.Store(note)
				case errors.Is(err, state.ErrAlreadyCompleted):
					already.Add(1)
					if !strings.Contains(err.Error(), "phase 0") || !strings.Contains(err.Error(), "current phase is 1") {
						t.Errorf("error %q must name the phase and the current phase", err)
					}
				default:
					t.Errorf("goroutine %d: result %+v, error %v", i, res, err)
				}
			})
			assert.Equal(t, int64(1), advanced.Load(), "exactly one advance")
			assert.Equal(t, int64(n-1), already.Load(), "every other caller is told it is already completed")
			assert.Equal(t, saves+1, en.store.saves.Load(), "one save")

			st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
			require.NoError(t, err)
			assert.Equal(t, 1, st.CurrentPhase)
			assert.Equal(t, []int{0}, st.CompletedPhases)
			assert.Equal(t, 1, st.PhaseArtifacts[0].Attempts)
			assert.Equal(t, winner.Load(), st.PhaseArtifacts[0].Evidence["note"], "the winner's evidence is the one stored")

			disk, _, err := en.fstore.Load(t.Context(), r.SessionID)
			require.NoError(t, err)
			assert.Equal(t, st.PhaseArtifacts[0].Evidence, disk.PhaseArtifacts[0].Evidence)
			assert.Equal(t, []int{0}, disk.CompletedPhases)
		})
	}
}

// TestConcurrentFailingSubmissionsAreAllRecorded: submissions that fail
// the gate do not advance, and none is lost: each counts as an attempt.
func TestConcurrentFailingSubmissionsAreAllRecorded(t *testing.T) {
	const n = 50
	en := newEnv(t, demoWorkflows(t))
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	notes := make(map[string]bool)
	for i := range n {
		notes[fmt.Sprintf("g%d", i)] = true
	}
	testutil.Release(n, func(i int) {
		res, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 0, "note": fmt.Sprintf("g%d", i)})
		if err != nil || res.CheckpointPassed {
			t.Errorf("goroutine %d: %+v %v", i, res, err)
		}
	})
	st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, n, st.PhaseArtifacts[0].Attempts)
	assert.True(t, notes[st.PhaseArtifacts[0].Evidence["note"].(string)])
	assert.Equal(t, state.CheckpointFailed, st.Checkpoints[0])
	assert.Equal(t, 0, st.CurrentPhase)
}

// TestConcurrentDeleteLeavesNoZombie: completions racing a delete never
// write the deleted session back.
func TestConcurrentDeleteLeavesNoZombie(t *testing.T) {
	const n = 32
	en := newEnv(t, demoWorkflows(t))
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	testutil.Release(n, func(i int) {
		if i == n/2 {
			if err := en.DeleteSession(t.Context(), state.MustParseSessionID(r.SessionID)); err != nil {
				t.Errorf("delete: %v", err)
			}
			return
		}
		_, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 0})
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			t.Errorf("goroutine %d: %v", i, err)
		}
		_, _ = en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	})
	assert.Empty(t, en.stateFiles(t))
	_, cached := en.sessions.Get(r.SessionID)
	assert.False(t, cached)
	_, err = en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.ErrorIs(t, err, state.ErrNotFound)
}

// TestConcurrentMixed runs every operation at once on a few sessions, for
// the race detector.
func TestConcurrentMixed(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	testutil.Release(16, func(g int) {
		ctx := callerCtx(t.Context(), g)
		for i := range 20 {
			target := fmt.Sprintf("t%d.go", (g+i)%4)
			r, err := en.Start(ctx, MustParseWorkflowName("demo"), target, nil)
			if err != nil {
				t.Errorf("start: %v", err)
				return
			}
			switch i % 5 {
			case 0:
				_, _ = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), r.CurrentPhase, demoPass[r.CurrentPhase])
			case 1:
				_, _ = en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
			case 2:
				_, _ = en.State(ctx, state.MustParseSessionID(r.SessionID))
			case 3:
				_, _ = en.ListSessions(ctx, state.PageQuery{Status: state.StatusActive})
			case 4:
				if g == 0 {
					_ = en.DeleteSession(ctx, state.MustParseSessionID(r.SessionID))
				}
			}
		}
	})
	page, err := en.ListSessions(t.Context(), state.PageQuery{Limit: state.MaxPageLimit})
	require.NoError(t, err)
	require.Nil(t, page.Next)
	active := map[string]int{}
	for _, s := range page.Sessions {
		require.Empty(t, s.Error)
		if s.Status == state.StatusActive {
			active[s.TargetFile]++
		}
	}
	for target, c := range active {
		assert.Equal(t, 1, c, "at most one active session per target (%s)", target)
	}
	entries, err := os.ReadDir(en.stateDir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "no temporary file left: %s", filepath.Join(en.stateDir, e.Name()))
	}
}
