//go:build countchecks

package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// TestSessionParsesWorkflowTypeOnce counts the checks of a session's
// workflow_type when the session is read from its state file: one, as
// the state enters the engine; the calls after it take the parsed name.
// Run with:
//
//	go test -tags countchecks -run TestSessionParsesWorkflowTypeOnce ./engine/
func TestSessionParsesWorkflowTypeOnce(t *testing.T) {
	wf := demoWorkflows(t)
	en := newEnv(t, wf)
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)

	// Another engine over the same state folder has the session only in
	// its state file.
	other := newEnvAt(t, wf, en.stateDir)
	sid := state.MustParseSessionID(r.SessionID)
	before := checkpoint.WorkflowNameChecks()
	_, err = other.CompletePhase(ctx, sid, 0, map[string]any{"n": 1})
	require.NoError(t, err)
	assert.Equal(t, int64(1), checkpoint.WorkflowNameChecks()-before, "the load parses the state's workflow_type")
	before = checkpoint.WorkflowNameChecks()
	_, err = other.CompletePhase(ctx, sid, 1, map[string]any{})
	require.NoError(t, err)
	_, err = other.CurrentPhase(ctx, sid)
	require.NoError(t, err)
	assert.Equal(t, int64(0), checkpoint.WorkflowNameChecks()-before, "calls on the cached session take the parsed name")
}
