package server_test

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// TestPosWorkflowRecoveryActions runs prAxIs OS's documented recovery
// actions through pos_workflow over HTTP with output validation on: a
// failed gate, get_errors, retry_phase, pause (which refuses
// complete_phase, naming the remedy), resume, rollback.
func TestPosWorkflowRecoveryActions(t *testing.T) {
	cs := praxisClient(t)
	pos := func(action string, args map[string]any) map[string]any {
		t.Helper()
		a := map[string]any{"action": action}
		maps.Copy(a, args)
		return decode[map[string]any](t, mustOK(t, cs, server.ToolPosWorkflow, a))
	}
	start := pos("start", map[string]any{"workflow_type": "spec_execution_v1", "target_file": "ts", "options": map[string]any{"spec_path": threadSafetySpec}})
	id := start["session_id"].(string)
	sid := map[string]any{"session_id": id}
	with := func(kv ...any) map[string]any {
		m := maps.Clone(sid)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}

	failed := pos("complete_phase", with("phase", 0, "evidence", map[string]any{}))
	assert.Equal(t, false, failed["validation_passed"])
	errs := pos("get_errors", sid)
	assert.InDelta(t, 1, errs["count"], 0)
	first := errs["errors"].([]any)[0].(map[string]any)
	assert.InDelta(t, 0, first["phase"], 0)
	assert.NotEmpty(t, first["errors"])
	assert.NotEmpty(t, first["at"])

	r := pos("retry_phase", with("phase", 0))
	assert.Equal(t, true, r["changed"])
	assert.Equal(t, []any{0.0}, r["reopened"])
	r = pos("retry_phase", with("phase", 0))
	assert.Equal(t, false, r["changed"], "a retried retry_phase changes nothing")

	p := pos("pause", with("reason", "waiting for review"))
	assert.Equal(t, true, p["paused"])
	refused := callTool(t, cs, server.ToolPosWorkflow, with("action", "complete_phase", "phase", 0, "evidence", map[string]any{"spec_read": true}))
	require.True(t, refused.IsError)
	assert.Contains(t, textOf(refused), "paused")
	assert.Contains(t, textOf(refused), "waiting for review")
	assert.Contains(t, textOf(refused), "resume_session")
	st := pos("get_state", sid)
	assert.Equal(t, true, st["paused"])
	assert.Equal(t, "paused", st["session_status"], "prAxIs OS's status for a paused session")
	assert.Equal(t, true, pos("resume", sid)["changed"])
	assert.Equal(t, false, pos("resume", sid)["changed"])

	done := pos("complete_phase", with("phase", 0, "evidence", map[string]any{"spec_read": true, "phases_found": 5, "plan_summary": "five phases"}))
	require.Equal(t, true, done["validation_passed"], "%v", done)
	back := pos("rollback", with("to_phase", 0))
	assert.Equal(t, true, back["changed"])
	assert.InDelta(t, 0, back["current_phase"], 0)
	assert.Equal(t, []any{}, back["completed_phases"])
	assert.Equal(t, false, pos("rollback", with("to_phase", 0))["changed"])

	bad := callTool(t, cs, server.ToolPosWorkflow, with("action", "rollback", "to_phase", 3))
	require.True(t, bad.IsError)
	assert.Contains(t, textOf(bad), "to_phase 3 is after the current phase 0")
}

// TestMovedSpecIsNotCorrupt: a session whose spec folder moved still
// answers get_workflow_state; its phase read names the missing spec_path
// and what to do, and never says corrupt.
func TestMovedSpecIsNotCorrupt(t *testing.T) {
	root, workflows := praxisLayout(t)
	cs := praxisClientIn(t, root, workflows)
	start := decode[map[string]any](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "spec_execution_v1", "target_file": "ts", "options": map[string]any{"spec_path": threadSafetySpec}}))
	id := start["session_id"].(string)
	specDir := filepath.Join(root, filepath.FromSlash(threadSafetySpec))
	require.NoError(t, os.Rename(specDir, specDir+"-moved"))
	// A server started after the move (the first one would serve its
	// cached plan for up to a second).
	cs = praxisClientIn(t, root, workflows)

	st := decode[map[string]any](t, mustOK(t, cs, server.ToolGetWorkflowState, map[string]any{"session_id": id}))
	assert.InDelta(t, 0, st["current_phase"], 0)
	res := callTool(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": id})
	require.True(t, res.IsError)
	msg := textOf(res)
	assert.Contains(t, msg, "options.spec_path")
	assert.Contains(t, msg, threadSafetySpec)
	assert.Contains(t, msg, "move the spec back")
	assert.NotContains(t, msg, "corrupt")
}
