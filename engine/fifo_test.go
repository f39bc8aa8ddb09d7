//go:build unix

package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestFIFOInWorkflowsIsRefusedNotWaitedOn: a named pipe as a workflow's
// metadata.json, a phase's gate-definition.yaml or a task file makes the
// call that reads it fail with the path, at once, and nothing else.
func TestFIFOInWorkflowsIsRefusedNotWaitedOn(t *testing.T) {
	wf := demoWorkflows(t)
	require.NoError(t, os.MkdirAll(filepath.Join(wf, "piped"), 0o755))
	testutil.MakeFIFO(t, filepath.Join(wf, "piped", "metadata.json"))

	var en *env
	if !testutil.Returns(t, "engine start", func() { en = newEnv(t, wf) }) {
		return
	}
	ctx := t.Context()
	var err error
	if testutil.Returns(t, "list_workflows", func() { _, err = en.ListWorkflows(ctx) }) {
		require.NoError(t, err)
	}
	if testutil.Returns(t, "start of the piped workflow", func() { _, err = en.Start(ctx, MustParseWorkflowName("piped"), "a", nil) }) {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "metadata.json")
		assert.Contains(t, err.Error(), "named pipe")
	}
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)

	// The gate and a task file become pipes while the session runs.
	gate := filepath.Join(wf, "demo", "phases", "0", "gate-definition.yaml")
	task := filepath.Join(wf, "demo", "phases", "0", "task-1-one.md")
	for _, p := range []string{gate, task} {
		require.NoError(t, os.Remove(p))
		testutil.MakeFIFO(t, p)
	}
	en.clock.Advance(2 * time.Second) // past GateRecheck: the gate is looked at again
	if testutil.Returns(t, "get_task", func() { _, err = en.Task(ctx, state.MustParseSessionID(r.SessionID), 0, 1) }) {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "task-1-one.md")
	}
	if testutil.Returns(t, "complete_phase", func() { _, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0]) }) {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "gate-definition.yaml")
	}
	if testutil.Returns(t, "a second start of demo", func() { _, err = en.Start(ctx, MustParseWorkflowName("demo"), "b", nil) }) {
		require.Error(t, err)
		assert.Contains(t, err.Error(), "named pipe")
	}
}

// TestStateFileNotARegularFile: a state file replaced by a named pipe or
// by a folder is that session's error (corrupt, naming the file), is
// listed with it, and the session can be deleted; the other sessions work.
func TestStateFileNotARegularFile(t *testing.T) {
	stateDir := t.TempDir()
	pipe, folder := uuid.NewString(), uuid.NewString()
	testutil.MakeFIFO(t, filepath.Join(stateDir, pipe+".json"))
	writeFiles(t, stateDir, map[string]string{folder + ".json/inside.txt": "x"})
	en := newEnvAt(t, demoWorkflows(t), stateDir)
	ctx := t.Context()
	good, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)

	for _, id := range []string{pipe, folder} {
		if !testutil.Returns(t, "get_workflow_state", func() { _, err = en.State(ctx, state.MustParseSessionID(id)) }) {
			continue
		}
		require.ErrorIs(t, err, state.ErrCorrupt, id)
		assert.Contains(t, err.Error(), id+".json")
		assert.Contains(t, err.Error(), "not a regular file")
		assert.Contains(t, err.Error(), "deleted")
	}
	var list state.Page
	if testutil.Returns(t, "list_sessions", func() { list, err = en.ListSessions(ctx, state.PageQuery{}) }) {
		require.NoError(t, err)
		errs := map[string]string{}
		for _, s := range list.Sessions {
			errs[s.SessionID] = s.Error
		}
		assert.Len(t, list.Sessions, 3)
		assert.Empty(t, errs[good.SessionID])
		assert.Contains(t, errs[pipe], "named pipe")
		assert.Contains(t, errs[folder], "folder")
	}
	for _, id := range []string{pipe, folder} {
		if testutil.Returns(t, "delete_session", func() { err = en.DeleteSession(ctx, state.MustParseSessionID(id)) }) {
			require.NoError(t, err, id)
			_, err = os.Lstat(filepath.Join(stateDir, id+".json"))
			require.ErrorIs(t, err, os.ErrNotExist, id)
		}
	}
	_, err = en.State(ctx, state.MustParseSessionID(good.SessionID))
	require.NoError(t, err)
}
