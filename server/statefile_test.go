//go:build unix

package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// TestStateFileNotARegularFileOverHTTP: a session whose state file was
// replaced by a folder, or by a named pipe, gets a clear error naming its
// file from get_workflow_state (not "internal error", not a hang), shows
// that error in list_sessions, and delete_session removes it; the server
// on 127.0.0.1 keeps serving the other sessions.
func TestStateFileNotARegularFileOverHTTP(t *testing.T) {
	stateDir := t.TempDir()
	folder, pipe := uuid.NewString(), uuid.NewString()
	require.NoError(t, os.MkdirAll(filepath.Join(stateDir, folder+".json", "inside"), 0o755))
	testutil.MakeFIFO(t, filepath.Join(stateDir, pipe+".json"))
	h := startHarness(t, harnessOpts{http: true, stateDir: stateDir})
	cs := h.httpClient("statefile", "1")
	good := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "a.go"}))

	for _, id := range []string{folder, pipe} {
		var (
			res *mcp.CallToolResult
			err error
		)
		if !testutil.Returns(t, "get_workflow_state", func() {
			res, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolGetWorkflowState, Arguments: map[string]any{"session_id": id}})
		}) {
			continue
		}
		require.NoError(t, err)
		text := textOf(res)
		assert.True(t, res.IsError, text)
		assert.Contains(t, text, id+".json")
		assert.Contains(t, text, "not a regular file")
		assert.NotContains(t, text, "internal error")
	}
	list := decode[struct {
		Sessions []struct {
			ID    string `json:"session_id"`
			Error string `json:"error"`
		} `json:"sessions"`
	}](t, mustOK(t, cs, server.ToolListSessions, map[string]any{}))
	errs := map[string]string{}
	for _, s := range list.Sessions {
		errs[s.ID] = s.Error
	}
	assert.Contains(t, errs, good.ID)
	assert.Contains(t, errs[folder], "not a regular file")
	assert.Contains(t, errs[pipe], "not a regular file")

	for _, id := range []string{folder, pipe} {
		mustOK(t, cs, server.ToolDeleteSession, map[string]any{"session_id": id})
		_, err := os.Lstat(filepath.Join(stateDir, id+".json"))
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	mustOK(t, cs, server.ToolGetWorkflowState, map[string]any{"session_id": good.ID})
}
