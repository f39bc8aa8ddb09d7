package server_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// TestToolErrorsGiveOneRemedy pins the second hint on top: the engine's
// message said which tool to call, and the server appended another. Now
// the engine names the field and the server alone names the tools, once.
func TestToolErrorsGiveOneRemedy(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	cs := h.httpClient("remedy", "")
	const unknown = "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"
	deleted := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "remedy.go"})).ID
	mustOK(t, cs, server.ToolDeleteSession, map[string]any{"session_id": deleted})

	cases := []struct {
		name, tool string
		args       map[string]any
		want       []string // each appears in the text
		once       []string // each appears exactly once
	}{
		{"unknown session", server.ToolGetWorkflowState, map[string]any{"session_id": unknown},
			[]string{"session_id " + unknown + ": no such session"}, []string{"list_sessions", "start_workflow"}},
		{"deleted session", server.ToolDeleteSession, map[string]any{"session_id": deleted},
			[]string{"session_id " + deleted + ": no such session"}, []string{"list_sessions", "start_workflow"}},
		{"unknown workflow", server.ToolStartWorkflow, map[string]any{"workflow_type": "no_such_flow", "target_file": "a.go"},
			[]string{"workflow_type no_such_flow: no such workflow"}, []string{"list_workflows"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := callTool(t, cs, c.tool, c.args)
			require.True(t, res.IsError)
			text := textOf(res)
			for _, w := range c.want {
				assert.Contains(t, text, w)
			}
			for _, w := range c.once {
				assert.Equal(t, 1, strings.Count(text, w), "%q once in %q", w, text)
			}
		})
	}
}
