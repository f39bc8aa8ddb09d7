package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// TestTaskFilesCannotLeaveTheFolder: task files named with "..", an
// absolute path or a NUL byte are refused before any file is opened, and
// a task file that is a symlink leading outside is not followed.
func TestTaskFilesCannotLeaveTheFolder(t *testing.T) {
	wf := demoWorkflows(t)
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.md": "SECRET"})
	rel, err := filepath.Rel(filepath.Join(wf, "demo", "phases", "0"), filepath.Join(outside, "secret.md"))
	require.NoError(t, err)
	meta := strings.NewReplacer(
		`"file": "task-0-zero.md"`, `"file": "`+filepath.ToSlash(rel)+`"`,
		`"file": "task-1-one.md"`, `"file": "`+filepath.Join(outside, "secret.md")+`"`,
		`"file": "task-1-only.md"`, `"file": "task\u0000.md"`,
	).Replace(demoMetadata)
	en := newEnv(t, wf)
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	// The definition goes bad while the session runs (metadata.json is
	// read live): a new session is refused, the running one still may
	// not read outside.
	writeFiles(t, wf, map[string]string{"demo/metadata.json": meta})
	_, err = en.Start(ctx, MustParseWorkflowName("demo"), "b", nil)
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), "workflow_type demo is broken")

	for task := range 2 {
		tv, err := en.Task(ctx, state.MustParseSessionID(r.SessionID), 0, task)
		require.ErrorIs(t, err, state.ErrCorrupt, "task %d", task)
		assert.Contains(t, err.Error(), "must be a relative path inside the phase folder")
		assert.Nil(t, tv)
	}
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	_, err = en.Task(ctx, state.MustParseSessionID(r.SessionID), 1, 1)
	require.ErrorIs(t, err, state.ErrCorrupt, "NUL byte")

	// A well-named task file that is a symlink to a file outside.
	writeFiles(t, wf, map[string]string{"demo/metadata.json": demoMetadata})
	link := filepath.Join(wf, "demo", "phases", "0", "task-0-zero.md")
	require.NoError(t, os.Remove(link))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.md"), link))
	_, err = en.Task(ctx, state.MustParseSessionID(r.SessionID), 0, 0)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRET")
}

func TestWorkflowSymlinkOutsideIsRefused(t *testing.T) {
	wf := demoWorkflows(t)
	outside := t.TempDir()
	// A complete copy of the demo workflow outside the folder, linked in.
	writeFiles(t, outside, map[string]string{
		"metadata.json":           strings.ReplaceAll(demoMetadata, `"demo"`, `"linked"`),
		"phases/0/phase.md":       "outside phase",
		"phases/0/task-0-zero.md": "x",
	})
	require.NoError(t, os.Symlink(outside, filepath.Join(wf, "linked")))
	// And a phase.md of the real workflow that is a symlink outside.
	pm := filepath.Join(wf, "demo", "phases", "0", "phase.md")
	require.NoError(t, os.Remove(pm))
	require.NoError(t, os.Symlink(filepath.Join(outside, "phases", "0", "phase.md"), pm))

	en := newEnv(t, wf)
	_, err := en.Start(t.Context(), MustParseWorkflowName("linked"), "a", nil)
	require.Error(t, err)
	_, err = en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.NotContains(t, err.Error(), "outside phase")
	assert.Empty(t, en.stateFiles(t), "no session is created for a workflow that cannot be read")
}

func TestStateFileSymlinkOutsideIsRefused(t *testing.T) {
	wf := demoWorkflows(t)
	stateDir, outside := t.TempDir(), t.TempDir()
	id := "0b0c5e4e-8d1b-4c52-9d0f-2b1a3c4d5e6f"
	writeFiles(t, outside, map[string]string{"s.json": strings.Replace(praxisState, "%s", id, 1)})
	require.NoError(t, os.Symlink(filepath.Join(outside, "s.json"), filepath.Join(stateDir, id+".json")))
	en := newEnvAt(t, wf, stateDir)
	_, err := en.State(t.Context(), state.MustParseSessionID(id))
	require.Error(t, err)
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "src/legacy.py", nil)
	require.NoError(t, err)
	assert.False(t, r.Resumed, "a session outside the state folder is not resumed")
}
