package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// TestStateFileWithBadWorkflowType: a state file is an edge too. A
// session whose state names a workflow_type that is not a workflow name
// still loads (its state is served), and every call that needs its
// workflow fails as a corrupt state, with the message it always had.
func TestStateFileWithBadWorkflowType(t *testing.T) {
	wf := demoWorkflows(t)
	en := newEnv(t, wf)
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	st, ver, err := en.fstore.Load(ctx, r.SessionID)
	require.NoError(t, err)
	st.WorkflowType = "../demo"
	_, err = en.fstore.Save(ctx, st, ver)
	require.NoError(t, err)

	// Another engine over the same state folder reads the edited file.
	other := newEnvAt(t, wf, en.stateDir)
	sid := state.MustParseSessionID(r.SessionID)
	got, err := other.State(ctx, sid)
	require.NoError(t, err)
	assert.Equal(t, "../demo", got.WorkflowType)
	want := "engine: corrupt: session " + r.SessionID + `: engine: invalid argument: workflow_type "../demo": must be the name of a workflow folder (letters, digits, '_', '-', '.', not starting with '.')`
	_, err = other.CompletePhase(ctx, sid, 0, map[string]any{"n": 1})
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Equal(t, want, err.Error())
	_, err = other.CurrentPhase(ctx, sid)
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Equal(t, want, err.Error())
}
