package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// TestStartArgs: a static workflow takes no spec and lists its phases; a
// dynamic one names its spec option, required unless the workflow ships
// an example spec; unknown and malformed names are errors.
func TestStartArgs(t *testing.T) {
	ctx := t.Context()
	en := newEnv(t, demoWorkflows(t))
	a, err := en.StartArgs(ctx, MustParseWorkflowName("demo"))
	require.NoError(t, err)
	assert.Equal(t, &StartArgs{Title: "Demo", Description: "test workflow", Phases: []PhaseOutline{
		{Number: 0, Name: "Zero", Purpose: "p0", Tasks: 2}, {Number: 1, Name: "One", Purpose: "p1", Tasks: 1}, {Number: 2, Name: "Two", Purpose: "p2"},
	}}, a)

	_, err = en.StartArgs(ctx, MustParseWorkflowName("nope"))
	require.ErrorIs(t, err, state.ErrNotFound)
	_, err = ParseWorkflowName("../demo")
	require.ErrorIs(t, err, state.ErrInvalidArgument)

	// The built-in spec_execution_v1 ships an example spec: spec_path is
	// optional; in a prAxIs OS project, without one, it is required.
	builtin := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(builtin, "spec_execution_v1"), mustSub(t, workflows.BuiltinWorkflows(), "spec_execution_v1")))
	a, err = newEnv(t, builtin).StartArgs(ctx, MustParseWorkflowName("spec_execution_v1"))
	require.NoError(t, err)
	assert.Equal(t, "spec_path", a.SpecOption)
	assert.False(t, a.SpecRequired)

	_, wf := praxisProject(t, "s", readSpec(t, "tasks-small.md"))
	a, err = newEnv(t, wf).StartArgs(ctx, MustParseWorkflowName("spec_execution_v1"))
	require.NoError(t, err)
	assert.Equal(t, "spec_path", a.SpecOption)
	assert.True(t, a.SpecRequired)
}
