package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// writeApprovalProject writes a project whose workflow "review" has two
// phases; phase 0's gate requires a human's approval.
func writeApprovalProject(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	testutil.WriteApprovalWorkflow(t, filepath.Join(root, ".mcpflow", "workflows"),
		"approval: required\ncheckpoint:\n  strict: true\nevidence_schema:\n  plan:\n    type: string\n    required: true\n")
	return root
}

// runBin runs the built binary and returns its exit status, stdout and
// stderr.
func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = withoutEnv(os.Environ(), "MCPFLOW_STATE", "MCPFLOW_ROOT", "MCPFLOW_AS", "MCPFLOW_COMMENT", "MCPFLOW_STATUS", "MCPFLOW_JSON")
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errOut.String()
}

type phaseReply struct {
	Phase     int  `json:"current_phase"`
	Awaiting  bool `json:"awaiting_approval"`
	Rejection *struct {
		By      string `json:"by"`
		Comment string `json:"comment"`
	} `json:"rejection"`
}

// TestBinaryApprovalFromTheCommandLine: a server runs; an agent's passing
// evidence waits for approval; the command line lists the session first,
// shows it, rejects it with a comment (the agent's next get_current_phase
// shows the comment first) and approves it (the agent's next call is on
// the next phase), on the FileStore and on Redis.
func TestBinaryApprovalFromTheCommandLine(t *testing.T) {
	bin := testutil.Binary(t)
	for _, kind := range []string{"file", "redis"} {
		t.Run(kind, func(t *testing.T) {
			root := writeApprovalProject(t)
			store := []string{"--root", root}
			if kind == "redis" {
				srv := redistest.Start(t)
				// A cache_ttl far above seesDecision's wait: only Redis's
				// invalidation can bring the command line's decision in.
				store = append(store, "--state", srv.URL(0, "approve")+"&cache_ttl=1h")
			}
			_, _, _, url := startServe(t, bin, root, append(store[2:], "--transport", "http", "--http", "127.0.0.1:0")...)
			agent := httpSession(t, url, "", false)
			started := toolJSON[struct {
				ID string `json:"session_id"`
			}](t, agent, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "a.go"})
			id := started.ID
			// A second, finished-looking session that awaits nothing.
			toolJSON[struct{}](t, agent, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "b.go"})

			res, err := agent.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolCompletePhase,
				Arguments: map[string]any{"session_id": id, "phase": 0, "evidence": map[string]any{"plan": "<script>alert(1)</script> do it"}}})
			require.NoError(t, err)
			require.False(t, res.IsError)
			text := res.Content[0].(*mcp.TextContent).Text
			assert.Contains(t, text, "AWAITING APPROVAL")
			assert.Contains(t, text, "mcpflow approve --state ")
			assert.Contains(t, text, id+" 0")
			p := toolJSON[phaseReply](t, agent, server.ToolGetCurrentPhase, map[string]any{"session_id": id})
			assert.Equal(t, 0, p.Phase)
			assert.True(t, p.Awaiting)

			code, out, errOut := runBin(t, bin, append([]string{"sessions"}, store...)...)
			require.Equal(t, 0, code, errOut)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			require.Len(t, lines, 3, out)
			assert.Contains(t, lines[1], id, "pending approvals first")
			assert.Contains(t, lines[1], "AWAITING APPROVAL (phase 0)")
			assert.Contains(t, lines[1], "phase 1 of 2")
			code, out, errOut = runBin(t, bin, append([]string{"sessions", "--json", "--status", "awaiting"}, store...)...)
			require.Equal(t, 0, code, errOut)
			var listed struct {
				Count    int `json:"count"`
				Sessions []struct {
					ID       string `json:"session_id"`
					Total    int    `json:"total_phases"`
					Awaiting *int   `json:"awaiting_approval"`
				} `json:"sessions"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &listed))
			require.Equal(t, 1, listed.Count)
			assert.Equal(t, id, listed.Sessions[0].ID)
			assert.Equal(t, 2, listed.Sessions[0].Total)

			code, out, errOut = runBin(t, bin, append([]string{"session", id}, store...)...)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "AWAITING APPROVAL: phase 0")
			assert.Contains(t, out, `"plan":"\u003cscript\u003ealert(1)\u003c/script\u003e do it"`)

			code, _, errOut = runBin(t, bin, append([]string{"reject", id, "0"}, store...)...)
			assert.Equal(t, 2, code)
			assert.Contains(t, errOut, "--comment")
			code, out, errOut = runBin(t, bin, append([]string{"reject", id, "0", "--comment", "name the tests", "--as", "ana"}, store...)...)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "rejected by ana")

			// The running server sees it: the comment comes first.
			seesDecision(t, kind, agent, id, func(text string, _ phaseReply) bool { return strings.HasPrefix(text, "REJECTED by ana") })
			p = toolJSON[phaseReply](t, agent, server.ToolGetCurrentPhase, map[string]any{"session_id": id})
			require.NotNil(t, p.Rejection)
			assert.Equal(t, "name the tests", p.Rejection.Comment)
			assert.False(t, p.Awaiting)

			toolJSON[struct{}](t, agent, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 0, "evidence": map[string]any{"plan": "tests named"}})
			code, _, errOut = runBin(t, bin, append([]string{"approve", id, "0", "--as", "bob", "--comment", "good"}, store...)...)
			require.Equal(t, 0, code, errOut)
			// The agent moves on without a re-prompt.
			seesDecision(t, kind, agent, id, func(_ string, p phaseReply) bool { return p.Phase == 1 })
			code, _, errOut = runBin(t, bin, append([]string{"approve", id, "0"}, store...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, "already approved by bob")

			st := toolJSON[struct {
				Decisions []struct {
					Decision string         `json:"decision"`
					By       string         `json:"by"`
					Comment  string         `json:"comment"`
					Evidence map[string]any `json:"evidence"`
				} `json:"decisions"`
			}](t, agent, server.ToolGetWorkflowState, map[string]any{"session_id": id})
			require.Len(t, st.Decisions, 2)
			assert.Equal(t, "rejected", st.Decisions[0].Decision)
			assert.Equal(t, "approved", st.Decisions[1].Decision)
			assert.Equal(t, "bob", st.Decisions[1].By)
			assert.Equal(t, "tests named", st.Decisions[1].Evidence["plan"])
		})
	}
}

// seesDecision asserts that the server's get_current_phase for session id
// shows a decision the command line has just saved (ok holds for its text
// and reply). The FileStore stats the state file before every call, so on
// "file" the very next call must show it. A Redis replica sees another
// process's save once Redis's invalidation has reached its client-side
// cache, which is asynchronous (engine/redisstore's guarantees): on
// "redis" the test asks again until ok holds, for at most a minute, and
// the server's cache_ttl of an hour leaves the invalidation the only way
// the decision can arrive.
func seesDecision(t *testing.T, kind string, agent *mcp.ClientSession, id string, ok func(text string, p phaseReply) bool) {
	t.Helper()
	var text string
	current := func() bool {
		res, err := agent.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolGetCurrentPhase, Arguments: map[string]any{"session_id": id}})
		if err != nil || res.IsError || len(res.Content) == 0 {
			text = fmt.Sprintf("get_current_phase: %v %v", err, res)
			return false
		}
		text = res.Content[0].(*mcp.TextContent).Text
		var p phaseReply
		b, err := json.Marshal(res.StructuredContent)
		if err != nil || json.Unmarshal(b, &p) != nil {
			return false
		}
		return ok(text, p)
	}
	if kind == "file" {
		require.True(t, current(), "the next call shows the decision; it shows:\n%s", text)
		return
	}
	deadline := time.Now().Add(time.Minute)
	for calls := 1; !current(); calls++ {
		if calls == 1 {
			t.Log("the invalidation had not arrived by the next call; asking again")
		}
		require.True(t, time.Now().Before(deadline), "no invalidation from Redis within a minute; the server shows:\n%s", text)
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
