package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mcpflow/mcpflow/server"
)

// TestCompletePhaseWithEmptyEvidence: evidence {} leaves the gate's list of
// submitted fields empty (nil in the checkpoint result), and the reply
// still matches complete_phase's output schema, which now declares
// validation_result field by field: the harness has mcp-go validate every
// structured result, so a null list would turn the reply into an error.
func TestCompletePhaseWithEmptyEvidence(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	cs := h.httpClient("empty-evidence", "")
	started := decode[struct {
		ID    string `json:"session_id"`
		Phase int    `json:"current_phase"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "empty.go"}))

	res := mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": started.ID, "phase": started.Phase, "evidence": map[string]any{}})
	out := decode[struct {
		Passed     bool `json:"checkpoint_passed"`
		Validation struct {
			Errors      []string `json:"errors"`
			Diagnostics struct {
				Submitted []string `json:"fields_submitted"`
				Missing   []string `json:"fields_missing"`
			} `json:"diagnostics"`
		} `json:"validation_result"`
	}](t, res)
	assert.False(t, out.Passed)
	assert.NotEmpty(t, out.Validation.Errors)
	assert.NotNil(t, out.Validation.Diagnostics.Submitted, "fields_submitted is [], not null")
	assert.Empty(t, out.Validation.Diagnostics.Submitted)
	assert.Contains(t, out.Validation.Diagnostics.Missing, "reproduced")
}
