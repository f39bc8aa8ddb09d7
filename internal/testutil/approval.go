package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// ApprovalOnly is a gate-definition.yaml that asks for a human's approval
// and for no evidence.
const ApprovalOnly = "approval: required\n"

// WriteApprovalWorkflow writes the workflow "review" into the workflows
// folder dir: two phases, Plan (0) and Build (1), with gate, a
// gate-definition.yaml (ApprovalOnly, or one that also asks for
// evidence), as phase 0's gate.
func WriteApprovalWorkflow(tb testing.TB, dir, gate string) {
	tb.Helper()
	files := map[string]string{
		"review/metadata.json": `{"workflow_type":"review","version":"1","total_phases":2,"estimated_duration":"1h","primary_outputs":["x"],
 "phases":[{"phase_number":0,"phase_name":"Plan","purpose":"p","estimated_effort":"1m","key_deliverables":[],"validation_criteria":[],"tasks":[]},
           {"phase_number":1,"phase_name":"Build","purpose":"b","estimated_effort":"1m","key_deliverables":[],"validation_criteria":[],"tasks":[]}]}`,
		"review/phases/0/phase.md":             "# Plan\n",
		"review/phases/0/gate-definition.yaml": gate,
		"review/phases/1/phase.md":             "# Build\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatalf("approval workflow: %v", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatalf("approval workflow: %v", err)
		}
	}
}
