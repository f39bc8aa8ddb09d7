package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/workflows"
)

// TestStartResultOverview: Start's overview is the metadata.json it read;
// a static workflow's total_phases is its count, a dynamic one's counts
// metadata.json's phases list, the "1-N" entry included, while Phases
// leaves that entry out.
func TestStartResultOverview(t *testing.T) {
	ctx := t.Context()
	r, err := newEnv(t, demoWorkflows(t)).Start(ctx, MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	o := r.Overview()
	require.NotNil(t, o)
	assert.Equal(t, "demo", o.WorkflowType)
	assert.Equal(t, "0.1.0", o.Version)
	assert.Equal(t, "test workflow", o.Description)
	assert.Equal(t, 3, o.TotalPhases)
	assert.Equal(t, "1 hour", o.EstimatedDuration)
	assert.Equal(t, []string{"x"}, o.PrimaryOutputs)
	require.Len(t, o.Phases, 3)
	assert.Equal(t, "Zero", o.Phases[0].PhaseName)
	assert.Len(t, o.Phases[0].Tasks, 2)
	assert.False(t, o.DynamicPhases)
	assert.Nil(t, o.DynamicConfig)

	builtin := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(builtin, "spec_execution_v1"), mustSub(t, workflows.BuiltinWorkflows(), "spec_execution_v1")))
	r, err = newEnv(t, builtin).Start(ctx, MustParseWorkflowName("spec_execution_v1"), "b.go", nil)
	require.NoError(t, err)
	o = r.Overview()
	require.NotNil(t, o)
	assert.Equal(t, 2, o.TotalPhases, `"dynamic" counts metadata.json's two entries`)
	require.Len(t, o.Phases, 1, "the 1-N entry stands for the spec's phases")
	assert.Equal(t, 0, o.Phases[0].PhaseNumber)
	assert.True(t, o.DynamicPhases)
	require.NotNil(t, o.DynamicConfig)
	assert.Equal(t, "spec_path", o.DynamicConfig.SourcePathKey)
	assert.Equal(t, "example-spec/tasks.md", o.DynamicConfig.ExampleSpec)

	assert.Nil(t, (&StartResult{}).Overview(), "no metadata, no overview")
}
