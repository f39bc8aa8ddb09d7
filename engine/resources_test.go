package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// TestPhaseFilesListAndRead lists the demo workflow's phases and files
// and reads one; names that would leave the phase folder, files of other
// kinds and a symlink leading outside are refused.
func TestPhaseFilesListAndRead(t *testing.T) {
	wf := demoWorkflows(t)
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.md": "SECRET"})
	writeFiles(t, wf, map[string]string{"demo/phases/0/notes.txt": "not served", "demo/phases/0/.hidden.md": "hidden"})
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(wf, "demo", "phases", "0", "link.md")))
	en := newEnv(t, wf)
	ctx := t.Context()

	names, err := en.WorkflowNames(ctx)
	require.NoError(t, err)
	assert.Contains(t, names, "demo")
	phases, err := en.WorkflowPhases(ctx, MustParseWorkflowName("demo"))
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2}, phases)
	files, err := en.PhaseFiles(ctx, MustParseWorkflowName("demo"), 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"gate-definition.yaml", "phase.md", "task-0-zero.md", "task-1-one.md"}, files)

	b, err := en.ReadPhaseFile(ctx, MustParseWorkflowName("demo"), 0, "task-0-zero.md")
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(wf, "demo", "phases", "0", "task-0-zero.md"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(b))

	for _, bad := range []string{"../../metadata.json", "/etc/passwd", "notes.txt", ".hidden.md", "a/b.md", "x\x00.md", ""} {
		_, err := en.ReadPhaseFile(ctx, MustParseWorkflowName("demo"), 0, bad)
		require.ErrorIs(t, err, state.ErrInvalidArgument, "file %q", bad)
	}
	_, err = en.ReadPhaseFile(ctx, MustParseWorkflowName("demo"), 0, "link.md")
	require.Error(t, err, "a symlink leading outside")
	assert.NotContains(t, err.Error(), "SECRET")
	_, err = en.ReadPhaseFile(ctx, MustParseWorkflowName("demo"), 7, "phase.md")
	require.ErrorIs(t, err, state.ErrNotFound)
	_, err = ParseWorkflowName("../demo")
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	_, err = en.WorkflowPhases(ctx, MustParseWorkflowName("nope"))
	require.ErrorIs(t, err, state.ErrNotFound)
	m, err := en.Metadata(ctx, MustParseWorkflowName("demo"))
	require.NoError(t, err)
	assert.Equal(t, "Demo", m.Name)
}
