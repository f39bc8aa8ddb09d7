package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// TestBugFixPhase3ReadsTheTestReport: the built-in bug_fix's phase 3 lists
// its test-report check, and complete_phase catches a false count: the
// evidence says no test failed, the report the server reads has one.
func TestBugFixPhase3ReadsTheTestReport(t *testing.T) {
	proj := t.TempDir()
	h := startHarness(t, harnessOpts{http: true, token: testToken, project: proj})
	cs := h.httpClient("checks", "")
	start := decode[map[string]any](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "lexer.go"}))
	id := start["session_id"].(string)
	mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 1, "evidence": validRepro()})
	// The fix: phase 2 changes code (changes_code), or it warns of a bypass.
	require.NoError(t, os.WriteFile(filepath.Join(proj, "lexer.go"), []byte("package lexer\n"), 0o644))
	later := time.Now().Add(time.Minute) // newer than the phase's start, whatever the file system's clock
	require.NoError(t, os.Chtimes(filepath.Join(proj, "lexer.go"), later, later))
	mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 2, "evidence": map[string]any{
		"root_cause": "the lexer reads past the end of the input", "regression_test": "TestUnterminatedString", "fails_without_fix": true, "files_changed": 1,
	}})

	phase := decode[struct {
		CurrentPhase int `json:"current_phase"`
		Checks       []struct {
			Name, Kind, Summary string
			Strict              bool
		} `json:"checks"`
	}](t, mustOK(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": id}))
	require.Equal(t, 3, phase.CurrentPhase)
	require.Len(t, phase.Checks, 1)
	assert.Equal(t, "checks[0].test_report", phase.Checks[0].Name)
	assert.True(t, phase.Checks[0].Strict)
	assert.Contains(t, phase.Checks[0].Summary, "evidence tests_passed and tests_failed must match its counts")

	report := `{"Action":"run","Package":"lexer","Test":"TestUnterminatedString"}
{"Action":"pass","Package":"lexer","Test":"TestUnterminatedString"}
{"Action":"run","Package":"lexer","Test":"TestEscapes"}
{"Action":"output","Package":"lexer","Test":"TestEscapes","Output":"lexer_test.go:41: got \"\\\\t\", want tab\n"}
{"Action":"fail","Package":"lexer","Test":"TestEscapes"}
{"Action":"fail","Package":"lexer"}
`
	name := filepath.Join(proj, ".mcpflow", "test-report.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(t, os.WriteFile(name, []byte(report), 0o644))
	require.NoError(t, os.Chtimes(name, later, later))
	res := mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 3, "evidence": map[string]any{
		"tests_passed": 2, "tests_failed": 0, "original_repro_fixed": true, "confidence": 0.95, "test_report": ".mcpflow/test-report.json",
	}})
	out := decode[struct {
		CheckpointPassed bool `json:"checkpoint_passed"`
		ValidationResult struct {
			Errors []string `json:"errors"`
			Checks []struct {
				Name, Verdict, Message, Remediation string
			} `json:"checks"`
			NextSteps []string `json:"next_steps"`
		} `json:"validation_result"`
	}](t, res)
	assert.False(t, out.CheckpointPassed)
	require.Len(t, out.ValidationResult.Checks, 1)
	c := out.ValidationResult.Checks[0]
	assert.Equal(t, "failed", c.Verdict)
	assert.Equal(t, "evidence tests_passed says 2, the report has 1; evidence tests_failed says 0, the report has 1; .mcpflow/test-report.json (go_test_json): 1 passed, 1 failed, 0 skipped (failed: TestEscapes)", c.Message)
	assert.Equal(t, []string{"checks[0].test_report: " + c.Message}, out.ValidationResult.Errors)
	assert.Contains(t, strings.Join(out.ValidationResult.NextSteps, "\n"), "Make the check checks[0].test_report pass")
	if testing.Verbose() {
		var pretty map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &pretty)
		vr, _ := json.MarshalIndent(pretty["validation_result"], "", "  ")
		t.Logf("validation_result: %s", vr)
	}

	base := strings.TrimSuffix(h.url, server.PathMCP)
	status, _, body := rawHTTP(t, http.MethodGet, base+server.PathMetrics, map[string]string{"Authorization": "Bearer " + testToken}, nil)
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{
		`mcpflow_gate_checks_total{kind="test_report"} 1`,
		`mcpflow_gate_checks_failed_total{kind="test_report"} 1`,
		`mcpflow_gate_checks_total{kind="bypass"} 1`,
		`mcpflow_gate_checks_failed_total{kind="bypass"} 0`,
		`mcpflow_gate_checks_timed_out_total{kind="command"} 0`,
	} {
		assert.Contains(t, body, want)
	}
}
