//go:build countchecks

package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/server"
)

// TestCompletePhaseChecksSessionID counts the checks of one complete_phase
// call's session ID, from the MCP call through the engine to the state
// store: the server's decoder parses it, the engine takes it as it is, and
// the store checks the state's ID once more as it saves (it names the
// file). The session is in the engine's cache, as it is after start. Run
// with:
//
//	go test -tags countchecks -run TestCompletePhaseChecksSessionID ./server/
func TestCompletePhaseChecksSessionID(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	cs := h.httpClient("count", "2025-06-18")
	st := decode[struct {
		SessionID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "internal/lexer/lexer.go"}))
	require.NotEmpty(t, st.SessionID)
	for _, ev := range []map[string]any{
		{"reproduced": true}, // the gate refuses it: state saved, no advance
		{"repro_steps": []any{"go test ./internal/lexer"}, "reproduced": true, "severity": 2, "environment": map[string]any{"go": "1.26"}, "expected": "an error", "actual": "a panic"},
	} {
		before := state.SessionIDParses()
		mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": st.SessionID, "phase": 1, "evidence": ev})
		assert.Equal(t, int64(2), state.SessionIDParses()-before, "checks of the session ID in one complete_phase: the server's parse and the store's save")
	}
}

// TestWorkflowNameChecks counts the checks of a workflow name in one
// start_workflow and one complete_phase call, from the MCP call through
// the engine to the gate loader: start_workflow's decoder parses the name
// and everything below takes it as it is (it was 4: the server, Start,
// the metadata lookup and the gate loader's first sight); complete_phase
// uses the name its session parsed when it was loaded or started (it was
// 1: the metadata lookup). Run with:
//
//	go test -tags countchecks -run TestWorkflowNameChecks ./server/
func TestWorkflowNameChecks(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	cs := h.httpClient("count", "2025-06-18")
	before := checkpoint.WorkflowNameChecks()
	st := decode[struct {
		SessionID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "internal/lexer/lexer.go"}))
	require.NotEmpty(t, st.SessionID)
	assert.Equal(t, int64(1), checkpoint.WorkflowNameChecks()-before, "checks of the workflow name in one start_workflow: the server's parse")
	for _, ev := range []map[string]any{
		{"reproduced": true}, // the gate refuses it: state saved, no advance
		{"repro_steps": []any{"go test ./internal/lexer"}, "reproduced": true, "severity": 2, "environment": map[string]any{"go": "1.26"}, "expected": "an error", "actual": "a panic"},
	} {
		before := checkpoint.WorkflowNameChecks()
		mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": st.SessionID, "phase": 1, "evidence": ev})
		assert.Equal(t, int64(0), checkpoint.WorkflowNameChecks()-before, "checks of the workflow name in one complete_phase: none, the session holds it parsed")
	}
}
