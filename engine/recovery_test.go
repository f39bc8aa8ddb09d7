package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestPauseRefusesMutationsUntilResumed(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)

	p, err := en.Pause(ctx, state.MustParseSessionID(r.SessionID), "waiting for review")
	require.NoError(t, err)
	assert.True(t, p.Changed)
	assert.True(t, p.Paused)
	assert.Equal(t, "waiting for review", p.PauseReason)

	again, err := en.Pause(ctx, state.MustParseSessionID(r.SessionID), "another reason")
	require.NoError(t, err)
	assert.False(t, again.Changed, "pausing a paused session changes nothing")
	assert.Equal(t, "waiting for review", again.PauseReason, "the first reason stays")

	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.ErrorIs(t, err, state.ErrPaused)
	fe, ok := errors.AsType[*state.FieldError](err)
	require.True(t, ok)
	assert.Equal(t, "session_id", fe.Field)
	assert.Contains(t, err.Error(), "waiting for review")
	_, err = en.RetryPhase(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.ErrorIs(t, err, state.ErrPaused)
	_, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.ErrorIs(t, err, state.ErrPaused)

	// Reads answer while paused.
	_, err = en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.True(t, st.Paused)

	// The pause is on disk, where prAxIs OS reads it: metadata.paused.
	raw := readJSON(t, filepath.Join(en.stateDir, r.SessionID+".json"))
	assert.Equal(t, true, raw["metadata"].(map[string]any)["paused"])
	again2 := newEnvAt(t, en.wfDir, en.stateDir)
	st, err = again2.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.True(t, st.Paused, "a pause survives a restart")
	assert.Equal(t, "waiting for review", st.Recovery.PauseReason)
	require.NoError(t, again2.Close())

	res, err := en.Resume(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.False(t, res.Paused)
	res, err = en.Resume(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.False(t, res.Changed, "resuming a running session changes nothing")
	c, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	assert.True(t, c.PhaseCompleted)
	raw = readJSON(t, filepath.Join(en.stateDir, r.SessionID+".json"))
	assert.NotContains(t, raw["metadata"], "paused")
}

func TestRetryPhaseKeepsFailedAttempts(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)

	_, err = en.RetryPhase(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.ErrorIs(t, err, state.ErrWrongPhase, "a phase that never failed has nothing to retry")

	for i := range 2 {
		c, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 0, "note": fmt.Sprint("try ", i)})
		require.NoError(t, err)
		require.False(t, c.CheckpointPassed)
		en.clock.Advance(time.Minute)
	}
	errs, err := en.Errors(ctx, state.MustParseSessionID(r.SessionID), -1)
	require.NoError(t, err)
	require.Len(t, errs, 2)
	assert.Equal(t, 0, errs[0].Phase)
	assert.Equal(t, 1, errs[0].Attempt)
	assert.Equal(t, 2, errs[1].Attempt)
	assert.Equal(t, []string{"n", "note"}, errs[0].Fields)
	assert.NotEmpty(t, errs[0].Errors)
	assert.Equal(t, time.Minute, errs[1].At.Sub(errs[0].At))

	_, err = en.RetryPhase(ctx, state.MustParseSessionID(r.SessionID), 1)
	require.ErrorIs(t, err, state.ErrWrongPhase)
	res, err := en.RetryPhase(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Equal(t, []int{0}, res.Reopened)
	res, err = en.RetryPhase(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.NoError(t, err)
	assert.False(t, res.Changed, "a retried retry_phase changes nothing")

	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, state.CheckpointPending, st.Checkpoints[0])
	assert.NotContains(t, st.PhaseArtifacts, 0, "the failed evidence is set aside")
	require.Len(t, st.Recovery.History, 1)
	h := st.Recovery.History[0]
	assert.Equal(t, state.HistoryRetry, h.Reason)
	assert.Equal(t, state.CheckpointFailed, h.Checkpoint)
	assert.Equal(t, "try 1", h.Artifact.Evidence["note"])
	errs, err = en.Errors(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.NoError(t, err)
	assert.Len(t, errs, 2, "the failed attempts stay")

	c, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	assert.True(t, c.PhaseCompleted)
	_, err = en.RetryPhase(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)
}

func TestRollbackReopensLaterPhasesAndKeepsHistory(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	for p := range 2 {
		_, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), p, demoPass[p])
		require.NoError(t, err)
	}
	_, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 3)
	require.ErrorIs(t, err, state.ErrWrongPhase, "to_phase after the current phase")
	_, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 2)
	require.NoError(t, err)

	res, err := en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 1)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Equal(t, []int{1}, res.Reopened)
	assert.Equal(t, 1, res.CurrentPhase)
	assert.Equal(t, []int{0}, res.CompletedPhases)
	res, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 1)
	require.NoError(t, err)
	assert.False(t, res.Changed, "a retried rollback changes nothing")

	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, map[int]state.CheckpointStatus{0: state.CheckpointPassed, 1: state.CheckpointPending}, st.Checkpoints)
	assert.Contains(t, st.PhaseArtifacts, 0, "earlier evidence stays")
	assert.NotContains(t, st.PhaseArtifacts, 1)
	require.Len(t, st.Recovery.History, 1)
	assert.Equal(t, state.HistoryEntry{Phase: 1, Reason: state.HistoryRollback, At: st.UpdatedAt, Checkpoint: state.CheckpointPassed, Artifact: st.Recovery.History[0].Artifact}, st.Recovery.History[0])
	require.NotNil(t, st.Recovery.History[0].Artifact)

	// Phase 1 runs again, then everything back to 0.
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, demoPass[1])
	require.NoError(t, err)
	res, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, res.Reopened)
	st, err = en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Empty(t, st.CompletedPhases)
	assert.Empty(t, st.PhaseArtifacts)
	assert.Len(t, st.Recovery.History, 3)

	_, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), -1)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	for p := range 3 {
		_, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), p, demoPass[p])
		require.NoError(t, err)
	}
	_, err = en.Rollback(ctx, state.MustParseSessionID(r.SessionID), 0)
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)

	// The history is in the state file and reads back after a restart.
	again := newEnvAt(t, en.wfDir, en.stateDir)
	back, err := again.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Len(t, back.Recovery.History, 3)
	assert.Equal(t, st.Recovery.History[0].Artifact.Evidence, back.Recovery.History[0].Artifact.Evidence)
}

// TestConcurrentRecoveryTakesEffectOnce releases n callers of one recovery
// action on one session together: exactly one call changes the session and
// saves, every other one finds it already changed.
func TestConcurrentRecoveryTakesEffectOnce(t *testing.T) {
	wf := demoWorkflows(t)
	type action struct {
		name  string
		setup func(t *testing.T, en *env, id string)
		call  func(ctx context.Context, en *env, id string) (*RecoveryResult, error)
	}
	failPhase0 := func(t *testing.T, en *env, id string) {
		t.Helper()
		_, err := en.CompletePhase(t.Context(), state.MustParseSessionID(id), 0, map[string]any{"n": 0})
		require.NoError(t, err)
	}
	actions := []action{
		{"Pause", nil, func(ctx context.Context, en *env, id string) (*RecoveryResult, error) {
			return en.Pause(ctx, state.MustParseSessionID(id), "concurrent")
		}},
		{"Resume", func(t *testing.T, en *env, id string) {
			t.Helper()
			_, err := en.Pause(t.Context(), state.MustParseSessionID(id), "")
			require.NoError(t, err)
		}, func(ctx context.Context, en *env, id string) (*RecoveryResult, error) {
			return en.Resume(ctx, state.MustParseSessionID(id))
		}},
		{"RetryPhase", failPhase0, func(ctx context.Context, en *env, id string) (*RecoveryResult, error) {
			return en.RetryPhase(ctx, state.MustParseSessionID(id), 0)
		}},
		{"Rollback", func(t *testing.T, en *env, id string) {
			t.Helper()
			for p := range 2 {
				_, err := en.CompletePhase(t.Context(), state.MustParseSessionID(id), p, demoPass[p])
				require.NoError(t, err)
			}
		}, func(ctx context.Context, en *env, id string) (*RecoveryResult, error) {
			return en.Rollback(ctx, state.MustParseSessionID(id), 0)
		}},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			for _, n := range goroutineCounts() {
				t.Run(fmt.Sprint(n), func(t *testing.T) {
					en := newEnv(t, wf)
					r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
					require.NoError(t, err)
					if a.setup != nil {
						a.setup(t, en, r.SessionID)
					}
					saves := en.store.saves.Load()
					var changed, unchanged atomic.Int64
					testutil.Release(n, func(i int) {
						res, err := a.call(callerCtx(t.Context(), i), en, r.SessionID)
						switch {
						case err != nil:
							t.Errorf("caller %d: %v", i, err)
						case res.Changed:
							changed.Add(1)
						default:
							unchanged.Add(1)
						}
					})
					assert.Equal(t, int64(1), changed.Load(), "exactly one call changes the session")
					assert.Equal(t, int64(n-1), unchanged.Load())
					assert.Equal(t, saves+1, en.store.saves.Load(), "one save")
					st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
					require.NoError(t, err)
					if a.name == "RetryPhase" || a.name == "Rollback" {
						assert.Len(t, st.Recovery.History, map[string]int{"RetryPhase": 1, "Rollback": 2}[a.name], "one history entry per re-opened phase, once")
					}
				})
			}
		})
	}
}

// TestRecoveryRecordIsBounded: a session retried without end keeps the
// latest MaxFailedAttempts failures.
func TestRecoveryRecordIsBounded(t *testing.T) {
	list := []int{}
	for i := range 5 {
		list = appendBounded(list, 3, i)
	}
	assert.Equal(t, []int{2, 3, 4}, list)
	shared := make([]int, 2, 10)
	a := appendBounded(shared, 3, 7)
	b := appendBounded(shared, 3, 8)
	assert.Equal(t, []int{0, 0, 7}, a, "appending never writes into a shared backing array")
	assert.Equal(t, []int{0, 0, 8}, b)
}

// praxisSpecSession is a session file in prAxIs OS's shape for the
// spec_execution_v1 workflow: the spec path in metadata, naive times,
// phases 0 and 1 done.
const praxisSpecSession = `{
  "session_id": "%[1]s",
  "workflow_type": "spec_execution_v1",
  "target_file": "thread-safety",
  "current_phase": 2,
  "completed_phases": [0, 1],
  "phase_artifacts": {
    "0": {"phase_number": 0, "evidence": {"spec_read": true}, "outputs": {}, "commands_executed": [], "timestamp": "2025-10-20T09:15:00.100000"},
    "1": {"phase_number": 1, "evidence": {"tests_passing": 12, "notes": {"nested": ["a", "b"]}}, "outputs": {}, "commands_executed": [], "timestamp": "2025-10-20T10:02:30.250000"}
  },
  "checkpoints": {"0": "passed", "1": "passed"},
  "created_at": "2025-10-20T09:14:00.000001",
  "updated_at": "2025-10-20T10:02:30.250001",
  "metadata": {"spec_path": "%[2]s", "total_phases": 5, "owner": "someone"}
}`

func TestPraxisSessionFindsItsSpecInMetadata(t *testing.T) {
	root, wf := praxisProject(t, "2025-10-13-thread-safety", readSpec(t, "tasks-thread-safety.md"))
	stateDir := t.TempDir()
	id := uuid.NewString()
	writeFiles(t, stateDir, map[string]string{id + ".json": fmt.Sprintf(praxisSpecSession, id, ".praxis-os/specs/2025-10-13-thread-safety")})
	en := newEnvAt(t, wf, stateDir, func(c *Config) { c.ProjectDir = root })
	ctx := t.Context()

	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(id))
	require.NoError(t, err, "metadata.spec_path names the spec, as prAxIs OS stores it")
	assert.Equal(t, 2, v.Phase)
	assert.NotEmpty(t, v.Tasks)
	assert.Equal(t, 5, v.TotalPhases)

	// Moved: the session still answers, and its phase read names the
	// field and the path.
	require.NoError(t, os.Rename(filepath.Join(root, ".praxis-os", "specs", "2025-10-13-thread-safety"), filepath.Join(root, ".praxis-os", "specs", "moved")))
	en2 := newEnvAt(t, wf, stateDir, func(c *Config) { c.ProjectDir = root })
	st, err := en2.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, 2, st.CurrentPhase)
	assert.Equal(t, state.StatusActive, st.Status)
	_, err = en2.CurrentPhase(ctx, state.MustParseSessionID(id))
	require.ErrorIs(t, err, state.ErrSpecMissing)
	require.NotErrorIs(t, err, state.ErrCorrupt)
	fe, ok := errors.AsType[*state.FieldError](err)
	require.True(t, ok)
	assert.Equal(t, "metadata.spec_path", fe.Field)
	assert.Contains(t, err.Error(), "2025-10-13-thread-safety")
	_, err = en2.CompletePhase(ctx, state.MustParseSessionID(id), 2, map[string]any{})
	require.ErrorIs(t, err, state.ErrSpecMissing)
}

// praxisFinished is a finished prAxIs OS session: current_phase one past
// the last phase of the demo workflow (0-2), no status.
const praxisFinished = `{
  "session_id": "%s", "workflow_type": "demo", "target_file": "done.go",
  "current_phase": 3, "completed_phases": [0, 1, 2],
  "phase_artifacts": {}, "checkpoints": {"0": "passed", "1": "passed", "2": "passed"},
  "created_at": "2025-10-22T17:00:00.000000", "updated_at": "2025-10-22T18:00:00.000000",
  "metadata": {"feature_name": "Done"}
}`

func TestPraxisSessionPastLastPhaseIsComplete(t *testing.T) {
	wf := demoWorkflows(t)
	stateDir := t.TempDir()
	id := uuid.NewString()
	writeFiles(t, stateDir, map[string]string{id + ".json": fmt.Sprintf(praxisFinished, id)})
	en := newEnvAt(t, wf, stateDir)
	ctx := t.Context()

	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.True(t, v.WorkflowComplete)
	assert.Equal(t, 3, v.TotalPhases)
	st, err := en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, state.StatusCompleted, st.Status)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 3, nil)
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "done.go", nil)
	require.NoError(t, err)
	assert.False(t, r.Resumed, "a finished session is not resumed")
	assert.NotEqual(t, id, r.SessionID)
}

func TestPraxisSessionWithoutItsWorkflowUsesTotalPhases(t *testing.T) {
	stateDir := t.TempDir()
	done, open := uuid.NewString(), uuid.NewString()
	body := func(id string, cur int, completed string) string {
		return fmt.Sprintf(`{"session_id": %q, "workflow_type": "gone_v1", "target_file": "x", "current_phase": %d, "completed_phases": %s,
"phase_artifacts": {}, "checkpoints": {}, "created_at": "2025-10-23T11:46:44.286154", "updated_at": "2025-10-23T11:46:44.286214", "metadata": {"total_phases": 6}}`, id, cur, completed)
	}
	writeFiles(t, stateDir, map[string]string{done + ".json": body(done, 6, "[0,1,2,3,4,5]"), open + ".json": body(open, 0, "[]")})
	en := newEnvAt(t, demoWorkflows(t), stateDir)
	ctx := t.Context()
	st, err := en.State(ctx, state.MustParseSessionID(done))
	require.NoError(t, err)
	assert.Equal(t, state.StatusCompleted, st.Status)
	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(done))
	require.NoError(t, err)
	assert.True(t, v.WorkflowComplete)
	assert.Equal(t, 6, v.TotalPhases)
	st, err = en.State(ctx, state.MustParseSessionID(open))
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, st.Status)
	_, err = en.CurrentPhase(ctx, state.MustParseSessionID(open))
	require.ErrorIs(t, err, state.ErrNotFound, "its workflow is not in this project")
}

func TestStartWritesWhatPraxisReads(t *testing.T) {
	root, wf := praxisProject(t, "2025-10-13-thread-safety", readSpec(t, "tasks-thread-safety.md"))
	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
	r, err := en.Start(t.Context(), MustParseWorkflowName("spec_execution_v1"), "ts", map[string]any{"spec_path": ".praxis-os/specs/2025-10-13-thread-safety"})
	require.NoError(t, err)
	md := readJSON(t, filepath.Join(en.stateDir, r.SessionID+".json"))["metadata"].(map[string]any)
	assert.Equal(t, ".praxis-os/specs/2025-10-13-thread-safety", md["spec_path"])
	assert.InDelta(t, r.TotalPhases, md["total_phases"], 0)
	assert.True(t, strings.HasPrefix(fmt.Sprint(md["options"]), "map["))
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// TestFinishedSessionIsFinishedForPraxis: a session mcpflow finishes is
// written as prAxIs OS finishes one, current_phase one past the last phase
// with total_phases in metadata, which its is_complete reads as done.
func TestFinishedSessionIsFinishedForPraxis(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	for p := range 3 {
		_, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), p, demoPass[p])
		require.NoError(t, err)
	}
	raw := readJSON(t, filepath.Join(en.stateDir, r.SessionID+".json"))
	assert.InDelta(t, 3, raw["current_phase"], 0)
	assert.InDelta(t, 3, raw["metadata"].(map[string]any)["total_phases"], 0)
	again := newEnvAt(t, en.wfDir, en.stateDir)
	v, err := again.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.True(t, v.WorkflowComplete)
	assert.Equal(t, 3, v.TotalPhases)
}
