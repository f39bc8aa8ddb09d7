package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// TestStartRefusesABrokenWorkflow: a workflow that mcpflow workflows
// lists with problems (here a task file of its last phase is missing, and
// a gate does not parse) cannot be started, and the refusal names each
// problem; once fixed, it starts.
func TestStartRefusesABrokenWorkflow(t *testing.T) {
	wf := demoWorkflows(t)
	task := filepath.Join(wf, "demo", "phases", "1", "task-1-only.md")
	require.NoError(t, os.Remove(task))
	writeFiles(t, wf, map[string]string{"demo/phases/0/gate-definition.yaml": "evidence_schema: [unclosed"})
	en := newEnv(t, wf)

	_, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), "workflow_type demo is broken")
	assert.Contains(t, err.Error(), "task-1-only.md")
	assert.Contains(t, err.Error(), "gate-definition.yaml")
	assert.Empty(t, en.stateFiles(t), "no session is created for a broken workflow")

	writeFiles(t, wf, map[string]string{"demo/phases/1/task-1-only.md": "only", "demo/phases/0/gate-definition.yaml": demoGate0})
	_, err = en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
}
