package redisstore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestApprovalRaceOnReplicas: approvals from two replicas (two engines,
// two stores, one Redis) and a retried complete_phase race on one phase
// that awaits approval: exactly one approval wins, the phase advances
// once, and each replica's next read is on the next phase.
func TestApprovalRaceOnReplicas(t *testing.T) {
	wf := t.TempDir()
	for name, content := range map[string]string{
		"review/metadata.json": `{"workflow_type":"review","version":"1","total_phases":2,"estimated_duration":"1h","primary_outputs":["x"],
 "phases":[{"phase_number":0,"phase_name":"Plan","purpose":"p","estimated_effort":"1m","key_deliverables":[],"validation_criteria":[],"tasks":[]},
           {"phase_number":1,"phase_name":"Build","purpose":"b","estimated_effort":"1m","key_deliverables":[],"validation_criteria":[],"tasks":[]}]}`,
		"review/phases/0/phase.md":             "# Plan\n",
		"review/phases/0/gate-definition.yaml": "approval: required\n",
		"review/phases/1/phase.md":             "# Build\n",
	} {
		p := filepath.Join(wf, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	replicas := make([]*engine.Engine, 2)
	for i := range replicas {
		e, err := engine.New(engine.Config{WorkflowsDir: wf, Store: open(t, srv, redisstore.Options{Prefix: prefix})})
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close() })
		replicas[i] = e
	}
	ctx := t.Context()
	st, err := replicas[0].Start(ctx, engine.MustParseWorkflowName("review"), "a.go", nil)
	require.NoError(t, err)
	ev := map[string]any{"plan": "p"}
	res, err := replicas[0].CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, ev)
	require.NoError(t, err)
	require.True(t, res.AwaitingApproval)
	// Both replicas hold the session in memory before the race.
	for _, e := range replicas {
		v, err := e.CurrentPhase(ctx, state.MustParseSessionID(st.SessionID))
		require.NoError(t, err)
		require.True(t, v.AwaitingApproval)
	}
	const approvers = 6
	var won [approvers]bool
	testutil.Release(approvers+1, func(i int) {
		e := replicas[i%2]
		if i == approvers {
			if _, err := e.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, ev); err != nil {
				t.Errorf("retried complete_phase: %v", err)
			}
			return
		}
		_, err := e.Decide(ctx, state.MustParseSessionID(st.SessionID), 0, state.DecisionApproved, "r", "")
		if err == nil {
			won[i] = true
		} else {
			assert.ErrorIs(t, err, state.ErrNotAwaiting)
		}
	})
	wins := 0
	for _, w := range won {
		if w {
			wins++
		}
	}
	assert.Equal(t, 1, wins, "exactly one approval wins")
	for _, e := range replicas {
		v, err := e.CurrentPhase(ctx, state.MustParseSessionID(st.SessionID))
		require.NoError(t, err)
		assert.Equal(t, 1, v.Phase, "every replica sees the approval at once")
	}
	full, err := replicas[1].State(ctx, state.MustParseSessionID(st.SessionID))
	require.NoError(t, err)
	assert.Len(t, full.Decisions, 1)
	assert.Equal(t, []int{0}, full.CompletedPhases)
}
