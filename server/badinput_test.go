package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

const testToken = "s3cret-token-for-tests"

// rawHTTP sends one request to the server with the given headers and
// returns the status and body.
func rawHTTP(t *testing.T, method, url string, header map[string]string, body []byte) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// legacySession opens a session-based MCP session by hand and returns its
// ID, for raw JSON-RPC requests after initialize.
func legacySession(t *testing.T, url string) string {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	status, hdr, out := rawHTTP(t, http.MethodPost, url, authJSON(nil), []byte(body))
	require.Equal(t, http.StatusOK, status, out)
	id := hdr.Get("Mcp-Session-Id")
	require.NotEmpty(t, id)
	return id
}

// authJSON returns the headers of an authorized JSON POST, plus extra.
func authJSON(extra map[string]string) map[string]string {
	h := map[string]string{
		"Content-Type":         "application/json",
		"Accept":               "application/json, text/event-stream",
		"Authorization":        "Bearer " + testToken,
		"Mcp-Protocol-Version": "2025-06-18",
	}
	for k, v := range extra {
		if v == "" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return h
}

// TestBadInput sends one bad request after another, over HTTP and stdio,
// and checks that each gets a clear error naming what is wrong and that
// the server keeps serving.
func TestBadInput(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, http: true, token: testToken})
	cs := h.httpClient("bad-input", "")
	stdio := h.stdioClient("bad-input-stdio", "")
	sid := legacySession(t, h.url)
	session := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "bad/input.go"})).ID

	type tc struct {
		name string
		// one of: a tool call (tool set), or a raw HTTP request (method set)
		tool   string
		args   any
		viaIO  bool // over stdio instead of HTTP
		proto  bool // expect a protocol error instead of an isError result
		method string
		path   string
		header map[string]string
		body   string
		status int
		want   string
	}
	bigEvidence := map[string]any{"notes": strings.Repeat("x", testEvidenceLimit+1)}
	rawCall := func(args string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search_standards","arguments":` + args + `}}`
	}
	cases := []tc{
		// Missing and ill-typed arguments.
		{name: "search without query", tool: server.ToolSearchStandards, args: map[string]any{}, want: "query: required"},
		{name: "query not a string", tool: server.ToolSearchStandards, args: map[string]any{"query": 42}, want: "query: must be a string, got a number"},
		{name: "blank query", tool: server.ToolSearchStandards, args: map[string]any{"query": "   "}, want: "query: must not be empty"},
		{name: "query too long", tool: server.ToolSearchStandards, args: map[string]any{"query": strings.Repeat("word ", 400)}, want: "query: is 2000 characters long; the limit is 1000"},
		{name: "n_results zero", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "n_results": 0}, want: "n_results: must be between 1 and 50"},
		{name: "n_results fractional", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "n_results": 2.5}, want: "n_results: must be a whole number"},
		{name: "n_results as string", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "n_results": "5"}, want: "n_results: must be a whole number, got a string"},
		{name: "phase negative", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "phase": -1}, want: "phase: must be between 0"},
		{name: "tags not a list", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "tags": "testing"}, want: "tags: must be an array of strings, got a string"},
		{name: "tag not a string", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "tags": []any{1}}, want: "tags: item 0 must be a string"},
		{name: "unknown tag", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "tags": []any{"no-such-tag"}}, want: "tags:"},
		{name: "unknown argument", tool: server.ToolSearchStandards, args: map[string]any{"query": "tests", "limit": 3}, want: `"limit": unknown argument; this tool takes query, n_results, phase, tags`},
		{name: "arguments not an object", tool: server.ToolSearchStandards, args: []any{"tests"}, want: "arguments: must be a JSON object, got an array"},
		{name: "argument to a tool without any", tool: server.ToolGetServerInfo, args: map[string]any{"all": true}, want: `"all": unknown argument; this tool takes no arguments`},
		{name: "unknown argument of list_workflows", tool: server.ToolListWorkflows, args: map[string]any{"all": true}, want: `"all": unknown argument; this tool takes category`},
		{name: "start without workflow_type", tool: server.ToolStartWorkflow, args: map[string]any{"target_file": "a.go"}, want: "workflow_type: required; call list_workflows"},
		{name: "start with empty target", tool: server.ToolStartWorkflow, args: map[string]any{"workflow_type": "bug_fix", "target_file": ""}, want: "target_file: must not be empty"},
		{name: "target with NUL", tool: server.ToolStartWorkflow, args: map[string]any{"workflow_type": "bug_fix", "target_file": "a\x00b"}, want: "target_file: contains a NUL"},
		{name: "options not an object", tool: server.ToolStartWorkflow, args: map[string]any{"workflow_type": "bug_fix", "target_file": "a.go", "options": "fast"}, want: "options: must be a JSON object, got a string"},
		{name: "unknown workflow", tool: server.ToolStartWorkflow, args: map[string]any{"workflow_type": "no_such_flow", "target_file": "a.go"}, want: "no_such_flow"},
		{name: "get_task task_number missing", tool: server.ToolGetTask, args: map[string]any{"session_id": session, "phase": 1}, want: "task_number: required"},
		{name: "get_task phase as word", tool: server.ToolGetTask, args: map[string]any{"session_id": session, "phase": "one", "task_number": 1}, want: "phase: must be a whole number, got a string"},
		{name: "get_task task out of range", tool: server.ToolGetTask, args: map[string]any{"session_id": session, "phase": 1, "task_number": 99}, want: "task"},
		{name: "complete without evidence", tool: server.ToolCompletePhase, args: map[string]any{"session_id": session, "phase": 1}, want: "evidence: required"},
		{name: "evidence not an object", tool: server.ToolCompletePhase, args: map[string]any{"session_id": session, "phase": 1, "evidence": []any{1}}, want: "evidence: must be a JSON object, got an array"},
		{name: "oversize evidence", tool: server.ToolCompletePhase, args: map[string]any{"session_id": session, "phase": 1, "evidence": bigEvidence}, want: "evidence"},
		{name: "complete the wrong phase", tool: server.ToolCompletePhase, args: map[string]any{"session_id": session, "phase": 3, "evidence": validRepro()}, want: "get_current_phase"},
		{name: "status not in enum", tool: server.ToolListSessions, args: map[string]any{"status": "halted"}, want: "status: must be one of active, completed, error, paused, all"},
		// Traversal and junk in IDs and names.
		{name: "session_id traversal", tool: server.ToolGetCurrentPhase, args: map[string]any{"session_id": "../../../etc/passwd"}, want: `session_id: "../../../etc/passwd" is not a session ID`},
		{name: "session_id absolute path", tool: server.ToolDeleteSession, args: map[string]any{"session_id": "/etc/passwd"}, want: "session_id"},
		{name: "session_id with NUL", tool: server.ToolGetWorkflowState, args: map[string]any{"session_id": "1234\x00"}, want: "session_id"},
		{name: "session_id unknown", tool: server.ToolGetWorkflowState, args: map[string]any{"session_id": "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"}, want: "list_sessions"},
		{name: "workflow_type traversal", tool: server.ToolStartWorkflow, args: map[string]any{"workflow_type": "../../etc", "target_file": "a.go"}, want: `workflow_type: "../../etc" is not a workflow name`},
		{name: "workflow_type absolute", tool: server.ToolStartWorkflow, args: map[string]any{"workflow_type": "/tmp", "target_file": "a.go"}, want: "workflow_type"},
		{name: "stdio: bad argument", tool: server.ToolGetTask, viaIO: true, args: map[string]any{"session_id": "nope"}, want: `session_id: "nope" is not a session ID`},
		// Protocol errors.
		{name: "unknown tool", tool: "drop_database", proto: true, want: "drop_database"},
		{name: "stdio: unknown tool", tool: "rm_rf", viaIO: true, proto: true, want: "rm_rf"},
		// Raw HTTP: malformed JSON-RPC, bodies, tokens, origins, hosts.
		{name: "malformed JSON", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Mcp-Session-Id": sid}), body: `{"jsonrpc":"2.0","id":1,`, status: http.StatusBadRequest, want: "not valid json"},
		{name: "JSON-RPC batch", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Mcp-Session-Id": sid}), body: `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, status: http.StatusBadRequest, want: "batches are not supported in this protocol version"},
		{name: "method not a string", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Mcp-Session-Id": sid}), body: `{"jsonrpc":"2.0","id":1,"method":5}`, status: http.StatusBadRequest, want: "-32700"},
		{name: "tools/call without a name", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Mcp-Session-Id": sid}), body: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{}}`, want: `"error"`},
		{name: "raw arguments as number", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Mcp-Session-Id": sid}), body: rawCall(`17`), status: http.StatusOK, want: "arguments: must be a JSON object, got a number"},
		{name: "unknown session", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Mcp-Session-Id": "mcp-session-not-a-uuid"}), body: rawCall(`{"query":"x"}`), status: http.StatusNotFound, want: "session"},
		{name: "wrong content type", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Content-Type": "text/plain"}), body: `{}`, status: http.StatusBadRequest, want: "content type"},
		{name: "oversize body", method: "POST", path: server.PathMCP, header: authJSON(nil), body: rawCall(`{"query":"` + strings.Repeat("a", 2<<20) + `"}`), status: http.StatusRequestEntityTooLarge, want: "--max-body"},
		{name: "missing token", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Authorization": ""}), body: `{}`, status: http.StatusUnauthorized, want: "bearer token"},
		{name: "wrong token", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Authorization": "Bearer guess"}), body: `{}`, status: http.StatusUnauthorized, want: "bearer token"},
		{name: "wrong auth scheme", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Authorization": "Basic " + testToken}), body: `{}`, status: http.StatusUnauthorized, want: "Authorization: Bearer"},
		{name: "metrics without token", method: "GET", path: server.PathMetrics, status: http.StatusUnauthorized, want: "bearer token"},
		{name: "foreign Origin", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Origin": "https://evil.example"}), body: `{}`, status: http.StatusForbidden, want: "is not allowed; only loopback origins are accepted"},
		{name: "null Origin", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Origin": "null"}), body: `{}`, status: http.StatusForbidden, want: "Origin"},
		{name: "rebinding Host", method: "POST", path: server.PathMCP, header: authJSON(map[string]string{"Host": "evil.example:4242"}), body: `{}`, status: http.StatusForbidden, want: "is not allowed (DNS rebinding protection)"},
		{name: "unknown path", method: "GET", path: "/../../etc/passwd", status: http.StatusNotFound, want: "/mcp"},
	}
	require.GreaterOrEqual(t, len(cases), 30)

	base := strings.TrimSuffix(h.url, server.PathMCP)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.method != "":
				status, _, body := rawHTTP(t, c.method, base+c.path, c.header, []byte(c.body))
				if c.status != 0 {
					assert.Equal(t, c.status, status, body)
				}
				assert.Contains(t, body, c.want)
			default:
				client := cs
				if c.viaIO {
					client = stdio
				}
				res, err := client.CallTool(t.Context(), &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
				if c.proto {
					require.Error(t, err, "want a protocol error")
					assert.Contains(t, err.Error(), c.want)
					return
				}
				require.NoError(t, err, "want a tool error, not a protocol error")
				require.True(t, res.IsError, "want isError, got %s", textOf(res))
				assert.Nil(t, res.StructuredContent, "an error result must not carry structured content")
				assert.Contains(t, textOf(res), c.want)
			}
			// Still serving, on both transports.
			mustOK(t, cs, server.ToolListSessions, nil)
		})
	}
	mustOK(t, stdio, server.ToolListWorkflows, nil)

	// A gate that fails is not an error: it is the answer, naming fields.
	res := mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": session, "phase": 1, "evidence": map[string]any{"reproduced": "yes"}})
	out := decode[struct {
		Passed bool `json:"checkpoint_passed"`
	}](t, res)
	assert.False(t, out.Passed)
	assert.Contains(t, textOf(res), "repro_steps")
	assert.Contains(t, textOf(res), "reproduced")
}

// TestStdioBadInput writes malformed and oversize lines to the server's
// stdin by hand and checks each gets a JSON-RPC error and the next request
// is still answered.
func TestStdioBadInput(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, tweak: func(c *server.Config) { c.MaxBodyBytes = 4096 }})
	out := bufio.NewReader(h.stdoutR)
	send := func(line string) map[string]any {
		t.Helper()
		_, err := io.WriteString(h.stdinW, line+"\n")
		require.NoError(t, err)
		resp, err := out.ReadString('\n')
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(resp), &m), resp)
		return m
	}
	errMsg := func(m map[string]any) string {
		e, _ := m["error"].(map[string]any)
		msg, _ := e["message"].(string)
		return msg
	}
	init := send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	require.NotNil(t, init["result"], init)

	m := send(`{"jsonrpc":"2.0","id":2,"method":`)
	assert.Contains(t, strings.ToLower(errMsg(m)), "parse error")

	m = send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_standards","arguments":{"query":"` + strings.Repeat("q", 5000) + `"}}}`)
	assert.Contains(t, errMsg(m), "--max-body")
	assert.InDelta(t, 3, m["id"], 0, "the error answers the oversize request by its ID")

	m = send(`{"jsonrpc":"2.0","id":"four","method":"tools/call","params":{"name":"search_standards","arguments":{"query":"tests","n_results":1}}}`)
	assert.Equal(t, "four", m["id"])
	require.NotNil(t, m["result"], m)
	assert.Nil(t, m["result"].(map[string]any)["isError"])

	m = send(`{"jsonrpc":"2.0","id":5,"method":"no/such/method"}`)
	assert.NotEmpty(t, errMsg(m))

	require.NoError(t, h.stdinW.Close())
	require.NoError(t, h.wait(5*time.Second))
}
