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

// TestZeroWorkflowNameIsRefused: library code can hold a WorkflowName it
// never parsed (the zero value). Every call that takes one refuses it the
// way ParseWorkflowName refuses an empty name, and reads nothing, not even
// a metadata.json at the workflows folder's root.
func TestZeroWorkflowNameIsRefused(t *testing.T) {
	wf := demoWorkflows(t)
	en := newEnv(t, wf)
	ctx := t.Context()
	var zero WorkflowName
	_, want := ParseWorkflowName("")
	require.Error(t, want)
	check := func(what string, err error) {
		t.Helper()
		require.ErrorIs(t, err, state.ErrInvalidArgument, what)
		assert.Equal(t, want.Error(), err.Error(), what)
	}
	_, err := en.Start(ctx, zero, "a", nil)
	check("Start", err)
	_, err = en.StartArgs(ctx, zero)
	check("StartArgs", err)
	_, err = en.Metadata(ctx, zero)
	check("Metadata", err)
	_, err = en.WorkflowPhases(ctx, zero)
	check("WorkflowPhases", err)
	_, err = en.PhaseFiles(ctx, zero, 1)
	check("PhaseFiles", err)
	_, err = en.ReadPhaseFile(ctx, zero, 1, "task.md")
	check("ReadPhaseFile", err)
}
