package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// approvalWorkflows is the demo workflow with phase 0's gate requiring
// approval.
func approvalWorkflows(t *testing.T) string {
	t.Helper()
	dir := demoWorkflows(t)
	writeFiles(t, dir, map[string]string{"demo/phases/0/gate-definition.yaml": "approval: required\n" + demoGate0})
	return dir
}

func TestApprovalBlocksUntilApproved(t *testing.T) {
	en := newEnv(t, approvalWorkflows(t))
	ctx := t.Context()
	st, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	id := st.SessionID

	res, err := en.CompletePhase(ctx, state.MustParseSessionID(id), 0, demoPass[0])
	require.NoError(t, err)
	assert.True(t, res.CheckpointPassed)
	assert.True(t, res.AwaitingApproval)
	assert.False(t, res.PhaseCompleted)
	assert.Nil(t, res.NextPhase)

	// The next phase stays closed.
	_, err = en.Task(ctx, state.MustParseSessionID(id), 1, 1)
	require.ErrorIs(t, err, state.ErrWrongPhase)
	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, 0, v.Phase)
	assert.True(t, v.AwaitingApproval)
	// A retry with the same evidence still waits, without saving.
	saves := en.store.saves.Load()
	res, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 0, demoPass[0])
	require.NoError(t, err)
	assert.True(t, res.AwaitingApproval)
	assert.Equal(t, saves, en.store.saves.Load())

	d, err := en.Decide(ctx, state.MustParseSessionID(id), 0, state.DecisionApproved, "ana", "looks right")
	require.NoError(t, err)
	require.NotNil(t, d.NextPhase)
	assert.Equal(t, 1, *d.NextPhase)
	v, err = en.CurrentPhase(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, 1, v.Phase)
	assert.False(t, v.AwaitingApproval)

	// The audit: who, when, comment, the evidence approved.
	full, err := en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	require.Len(t, full.Decisions, 1)
	assert.Equal(t, "ana", full.Decisions[0].By)
	assert.Equal(t, "looks right", full.Decisions[0].Comment)
	assert.Equal(t, en.clock.Now().UTC(), full.Decisions[0].At)
	assert.Equal(t, map[string]any{"n": float64(3)}, full.Decisions[0].Evidence)
	assert.Equal(t, state.CheckpointPassed, full.Checkpoints[0])

	// A second decision on the same phase says what happened.
	_, err = en.Decide(ctx, state.MustParseSessionID(id), 0, state.DecisionApproved, "bob", "")
	require.ErrorIs(t, err, state.ErrNotAwaiting)
	assert.Contains(t, err.Error(), "already approved by ana")
}

func TestRejectKeepsPhaseOpenWithComment(t *testing.T) {
	en := newEnv(t, approvalWorkflows(t))
	ctx := t.Context()
	st, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	id := st.SessionID
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 0, demoPass[0])
	require.NoError(t, err)
	_, err = en.Decide(ctx, state.MustParseSessionID(id), 0, state.DecisionRejected, "ana", "n is too small")
	require.NoError(t, err)
	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, 0, v.Phase)
	assert.False(t, v.AwaitingApproval)
	require.NotNil(t, v.Rejection)
	assert.Equal(t, "n is too small", v.Rejection.Comment)
	_, err = en.Decide(ctx, state.MustParseSessionID(id), 0, state.DecisionApproved, "ana", "")
	require.ErrorIs(t, err, state.ErrNotAwaiting)

	// Resubmitting asks again.
	res, err := en.CompletePhase(ctx, state.MustParseSessionID(id), 0, map[string]any{"n": 5})
	require.NoError(t, err)
	assert.True(t, res.AwaitingApproval)
}

func TestWorkflowDefaultApproval(t *testing.T) {
	dir := demoWorkflows(t)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(demoMetadata), &m))
	m["approval"] = "required"
	b, err := json.Marshal(m)
	require.NoError(t, err)
	// Phase 2's gate opts out.
	writeFiles(t, dir, map[string]string{"demo/metadata.json": string(b), "demo/phases/2/gate-definition.yaml": "approval: none\n" + demoGate2})
	en := newEnv(t, dir)
	ctx := t.Context()
	st, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	for phase := range 2 {
		res, err := en.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), phase, demoPass[phase])
		require.NoError(t, err)
		require.True(t, res.AwaitingApproval, "phase %d", phase)
		_, err = en.Decide(ctx, state.MustParseSessionID(st.SessionID), phase, state.DecisionApproved, "ana", "")
		require.NoError(t, err)
	}
	res, err := en.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 2, demoPass[2])
	require.NoError(t, err)
	assert.False(t, res.AwaitingApproval)
	assert.True(t, res.WorkflowComplete)
}

func TestApprovalStateReadableAndKeptInMetadata(t *testing.T) {
	en := newEnv(t, approvalWorkflows(t))
	ctx := t.Context()
	st, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(en.stateDir, st.SessionID+".json"))
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	md := raw["metadata"].(map[string]any)
	require.Contains(t, md, state.ApprovalKey, "extra data lives in metadata, where prAxIs OS keeps it")
	assert.Equal(t, "pending", raw["checkpoints"].(map[string]any)["0"], "prAxIs OS knows only passed, failed, pending")
	back, _, err := state.DecodeState(data)
	require.NoError(t, err)
	require.NotNil(t, back.Awaiting)
	assert.Equal(t, 0, back.Awaiting.Phase)
	assert.NotContains(t, back.Metadata, state.ApprovalKey)
}

// Two approvals and a retried complete_phase race on one phase: it
// advances exactly once, on any number of session objects sharing the
// folder (two engines stand for the server and the command line).
func TestApprovalRaceAdvancesOnce(t *testing.T) {
	for _, n := range []int{2, 8} {
		wf := approvalWorkflows(t)
		dir := t.TempDir()
		a := newEnvAt(t, wf, dir)
		fs2, err := filestore.New(dir)
		require.NoError(t, err)
		t.Cleanup(func() { _ = fs2.Close() })
		b, err := New(Config{WorkflowsDir: wf, Store: fs2})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		ctx := t.Context()
		st, err := a.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
		require.NoError(t, err)
		_, err = a.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, demoPass[0])
		require.NoError(t, err)
		engines := []*Engine{a.Engine, b}
		var approved, advanced [16]bool
		testutil.Release(n+1, func(i int) {
			e := engines[i%2]
			if i == n {
				// The agent's retried complete_phase.
				res, err := e.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, demoPass[0])
				if err != nil {
					t.Errorf("complete_phase retry: %v", err)
				} else if !res.AwaitingApproval && !res.PhaseCompleted {
					t.Errorf("complete_phase retry answered neither awaiting nor completed: %+v", res)
				}
				return
			}
			d, err := e.Decide(ctx, state.MustParseSessionID(st.SessionID), 0, state.DecisionApproved, "r"+itoa(i), "")
			switch {
			case err == nil:
				approved[i] = true
				advanced[i] = d.NextPhase != nil && *d.NextPhase == 1
			case !assert.ErrorIs(t, err, state.ErrNotAwaiting):
			}
		})
		wins := 0
		for i := range n {
			if approved[i] {
				wins++
				assert.True(t, advanced[i])
			}
		}
		assert.Equal(t, 1, wins, "exactly one approval wins")
		full, err := b.State(ctx, state.MustParseSessionID(st.SessionID))
		require.NoError(t, err)
		assert.Len(t, full.Decisions, 1)
		assert.Equal(t, []int{0}, full.CompletedPhases)
		assert.Equal(t, 1, full.CurrentPhase)
	}
}

// A decision saved by another process is seen by the engine's next call
// (the FileStore's LoadNewer), with no re-prompt.
func TestDecisionFromAnotherProcessSeenAtOnce(t *testing.T) {
	wf := approvalWorkflows(t)
	dir := t.TempDir()
	fs1, err := filestore.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fs1.Close() })
	server, err := New(Config{WorkflowsDir: wf, Store: fs1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = server.Close() })
	ctx := t.Context()
	st, err := server.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	_, err = server.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	v, err := server.CurrentPhase(ctx, state.MustParseSessionID(st.SessionID)) // cached now
	require.NoError(t, err)
	require.True(t, v.AwaitingApproval)

	fs2, err := filestore.OpenShared(dir)
	require.NoError(t, err)
	cli, err := New(Config{WorkflowsDir: wf, Store: fs2})
	require.NoError(t, err)
	_, err = cli.Decide(ctx, state.MustParseSessionID(st.SessionID), 0, state.DecisionApproved, "ana", "")
	require.NoError(t, err)
	require.NoError(t, cli.Close())
	require.NoError(t, fs2.Close())

	v, err = server.CurrentPhase(ctx, state.MustParseSessionID(st.SessionID))
	require.NoError(t, err)
	assert.Equal(t, 1, v.Phase)
}

// A rollback voids a pending request for approval: the evidence it was
// made on moved to the history.
func TestRollbackVoidsApprovalRequest(t *testing.T) {
	en := newEnv(t, approvalWorkflows(t))
	ctx := t.Context()
	st, err := en.Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	_, err = en.Rollback(ctx, state.MustParseSessionID(st.SessionID), 0)
	require.NoError(t, err)
	_, err = en.Decide(ctx, state.MustParseSessionID(st.SessionID), 0, state.DecisionApproved, "ana", "")
	require.ErrorIs(t, err, state.ErrNotAwaiting)
	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(st.SessionID))
	require.NoError(t, err)
	assert.False(t, v.AwaitingApproval)
}
