package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/server"
)

// Protocol 2026-07-28 by hand over HTTP (issue 21): updates over
// subscriptions/listen, logs per request, -32002 for unknown resources.

const modernVersion = "2026-07-28"

// sseMsg is one JSON-RPC message read from a response stream.
type sseMsg struct {
	ID     any             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// modernCall is one protocol 2026-07-28 request whose response stream is
// read message by message.
type modernCall struct {
	t      *testing.T
	status int
	msgs   chan sseMsg
	cancel context.CancelFunc
}

// modernRequest sends method with params (a JSON object without _meta)
// and the _meta of the revision plus extraMeta, and reads the response.
func modernRequest(t *testing.T, u, method string, id int, params, extraMeta string) *modernCall {
	t.Helper()
	meta := `"io.modelcontextprotocol/protocolVersion":"` + modernVersion + `","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}` + extraMeta
	p := strings.TrimSuffix(strings.TrimSpace(params), "}")
	if strings.TrimSpace(p) != "{" {
		p += ","
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s"_meta":{%s}}}`, id, method, p, meta)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range authJSON(map[string]string{"Mcp-Protocol-Version": modernVersion, "Mcp-Method": method}) {
		req.Header.Set(k, v)
	}
	if method == "tools/call" || method == "prompts/get" {
		var n struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal([]byte(params), &n))
		req.Header.Set("Mcp-Name", n.Name)
	}
	if method == "resources/read" {
		var n struct {
			URI string `json:"uri"`
		}
		require.NoError(t, json.Unmarshal([]byte(params), &n))
		req.Header.Set("Mcp-Name", n.URI)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	c := &modernCall{t: t, status: resp.StatusCode, msgs: make(chan sseMsg, 64), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		defer close(c.msgs)
		defer func() { _ = resp.Body.Close() }()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			var m sseMsg
			b, _ := io.ReadAll(resp.Body)
			if json.Unmarshal(b, &m) == nil {
				c.msgs <- m
			}
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var m sseMsg
			if json.Unmarshal([]byte(data), &m) == nil {
				c.msgs <- m
			}
		}
	}()
	return c
}

// next returns the next message, or fails after a generous bound.
func (c *modernCall) next(what string) sseMsg {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		require.True(c.t, ok, "the stream ended before %s", what)
		return m
	case <-time.After(10 * time.Second):
		c.t.Fatalf("no %s within 10 s", what)
		return sseMsg{}
	}
}

// until returns the first message with the method (or, for "", the
// response), failing on the end of the stream.
func (c *modernCall) until(method string) sseMsg {
	c.t.Helper()
	for {
		m := c.next(method)
		if m.Method == method && (method != "" || m.ID != nil) {
			return m
		}
	}
}

// rest drains the stream to its end and returns what it held.
func (c *modernCall) rest() []sseMsg {
	c.t.Helper()
	var out []sseMsg
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return out
			}
			out = append(out, m)
		case <-time.After(10 * time.Second):
			c.t.Fatal("the stream did not end within 10 s")
			return out
		}
	}
}

func methods(ms []sseMsg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Method
	}
	return out
}

func paramsOf(t *testing.T, m sseMsg) map[string]any {
	t.Helper()
	var p map[string]any
	require.NoError(t, json.Unmarshal(m.Params, &p), string(m.Params))
	return p
}

// cancelModern sends notifications/cancelled for request id.
func cancelModern(t *testing.T, u string, id int) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"reason":"done","_meta":{"io.modelcontextprotocol/protocolVersion":%q}}}`, id, modernVersion)
	status, _, out := rawHTTP(t, http.MethodPost, u, authJSON(map[string]string{"Mcp-Protocol-Version": modernVersion, "Mcp-Method": "notifications/cancelled"}), []byte(body))
	require.Equal(t, http.StatusAccepted, status, out)
}

// TestListenDeliversResourceUpdates: a subscriptions/listen stream of
// protocol 2026-07-28 gets notifications/resources/updated for each URI it
// subscribed to when the file changes, resources/list_changed when it
// opted in, nothing it did not opt into, and ends cleanly on
// notifications/cancelled.
func TestListenDeliversResourceUpdates(t *testing.T) {
	dir := writeStandards(t, map[string]string{"a.md": "# Alpha\n\nOne.\n", "b.md": "# Beta\n\nTwo.\n"})
	h := startHarness(t, harnessOpts{http: true, token: testToken, standards: dir})
	uriA := server.StandardsURI("a.md")

	all := modernRequest(t, h.url, "subscriptions/listen", 41, `{"notifications":{"resourcesListChanged":true,"resourceSubscriptions":["`+uriA+`"]}}`, "")
	require.Equal(t, http.StatusOK, all.status)
	ack := all.until("notifications/subscriptions/acknowledged")
	assert.Contains(t, string(ack.Params), uriA)
	// Opted into prompts only: no resource notification reaches it.
	prompts := modernRequest(t, h.url, "subscriptions/listen", 42, `{"notifications":{"promptsListChanged":true}}`, "")
	require.Equal(t, http.StatusOK, prompts.status)
	prompts.until("notifications/subscriptions/acknowledged")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.md"), []byte("# Beta\n\nEdited, not subscribed.\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte("# Alpha\n\nEdited.\n"), 0o644))
	require.NoError(t, h.ix.Reindex(t.Context()))
	up := all.until("notifications/resources/updated")
	p := paramsOf(t, up)
	assert.Equal(t, uriA, p["uri"])
	assert.InDelta(t, 41, p["_meta"].(map[string]any)["io.modelcontextprotocol/subscriptionId"], 0, "tagged with the listen request's id")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.md"), []byte("# Gamma\n\nNew.\n"), 0o644))
	require.NoError(t, h.ix.Reindex(t.Context()))
	all.until("notifications/resources/list_changed")

	cancelModern(t, h.url, 41)
	end := all.rest()
	require.NotEmpty(t, end, "the stream ends with the listen request's result")
	last := end[len(end)-1]
	assert.InDelta(t, 41, last.ID, 0)
	assert.NotEmpty(t, last.Result, "a result, not an error: %s", last.Error)

	cancelModern(t, h.url, 42)
	for _, m := range prompts.rest() {
		assert.NotContains(t, m.Method, "resources", "a stream that did not opt in got %s", m.Method)
	}
}

// TestLogsPerRequest: a protocol 2026-07-28 request that asks for logs
// through _meta io.modelcontextprotocol/logLevel gets the
// notifications/message its own work causes, at that level or above, on
// its own stream; one that does not ask gets none.
func TestLogsPerRequest(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	const logLevel = `,"io.modelcontextprotocol/logLevel":"info"`

	asked := modernRequest(t, h.url, "tools/call", 5, `{"name":"reindex_standards","arguments":{}}`, logLevel)
	all := asked.rest()
	require.Contains(t, methods(all), "notifications/message", "the reindex_done event")
	for _, m := range all {
		if m.Method == "notifications/message" {
			p := paramsOf(t, m)
			assert.Equal(t, "info", p["level"])
			assert.Equal(t, "reindex_done", p["data"].(map[string]any)["event"])
		}
	}
	assert.NotEmpty(t, all[len(all)-1].Result)

	silent := modernRequest(t, h.url, "tools/call", 6, `{"name":"reindex_standards","arguments":{}}`, "")
	assert.NotContains(t, methods(silent.rest()), "notifications/message", "no logs unasked")

	// A level above the event's: none either.
	high := modernRequest(t, h.url, "tools/call", 7, `{"name":"reindex_standards","arguments":{}}`, `,"io.modelcontextprotocol/logLevel":"error"`)
	assert.NotContains(t, methods(high.rest()), "notifications/message", "info is below error")

	// A gate that refuses evidence: a warning for the caller.
	start := modernRequest(t, h.url, "tools/call", 8, `{"name":"start_workflow","arguments":{"workflow_type":"bug_fix","target_file":"x.go"}}`, "")
	res := start.rest()
	var out struct {
		StructuredContent struct {
			SessionID string `json:"session_id"`
		} `json:"structuredContent"`
	}
	require.NoError(t, json.Unmarshal(res[len(res)-1].Result, &out), string(res[len(res)-1].Result))
	gate := modernRequest(t, h.url, "tools/call", 9, `{"name":"complete_phase","arguments":{"session_id":"`+out.StructuredContent.SessionID+`","phase":1,"evidence":{}}}`, `,"io.modelcontextprotocol/logLevel":"warning"`)
	var events []string
	for _, m := range gate.rest() {
		if m.Method == "notifications/message" {
			events = append(events, fmt.Sprint(paramsOf(t, m)["data"].(map[string]any)["event"]))
		}
	}
	assert.Equal(t, []string{"gate_failed"}, events)
}

// TestUnknownResourceIsNotFoundInBothRevisions: resources/read of a URI
// that names no resource gets -32002 in protocol 2025-06-18 and
// 2026-07-28, whether or not a template matches it.
func TestUnknownResourceIsNotFoundInBothRevisions(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	sid := legacySession(t, h.url)
	for i, uri := range []string{"standards://nope.md", "workflow://bug_fix/phases/9/phase.md", "file:///etc/passwd"} {
		status, _, body := postJSON(t, h.url, sid, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":%q}}`, i+1, uri))
		require.Equal(t, http.StatusOK, status, body)
		r := parseReply(t, body)
		require.NotNil(t, r.Error, body)
		assert.Equal(t, -32002, r.Error.Code, "2025-06-18 %s: %s", uri, body)

		m := modernRequest(t, h.url, "resources/read", i+1, fmt.Sprintf(`{"uri":%q}`, uri), "").rest()
		require.Len(t, m, 1)
		var e struct {
			Code int `json:"code"`
		}
		require.NoError(t, json.Unmarshal(m[0].Error, &e), string(m[0].Result))
		assert.Equal(t, -32002, e.Code, "2026-07-28 %s", uri)
	}
}

// TestListenGetsPromptsListChangedWhenWorkflowsChange: a listen stream
// that opted into prompts/list_changed gets it when a workflow is added to
// the workflows folder, with no prompts request in between; one that did
// not opt in gets none.
func TestListenGetsPromptsListChangedWhenWorkflowsChange(t *testing.T) {
	dir := t.TempDir()
	sub, err := fs.Sub(workflows.BuiltinWorkflows(), "bug_fix")
	require.NoError(t, err)
	require.NoError(t, os.CopyFS(filepath.Join(dir, "bug_fix"), sub))
	h := startHarness(t, harnessOpts{http: true, token: testToken, workflows: dir})

	prompts := modernRequest(t, h.url, "subscriptions/listen", 51, `{"notifications":{"promptsListChanged":true}}`, "")
	prompts.until("notifications/subscriptions/acknowledged")
	resources := modernRequest(t, h.url, "subscriptions/listen", 52, `{"notifications":{"resourcesListChanged":true}}`, "")
	resources.until("notifications/subscriptions/acknowledged")

	require.NoError(t, os.CopyFS(filepath.Join(dir, "bug_fix_copy"), sub))
	prompts.until("notifications/prompts/list_changed")

	cancelModern(t, h.url, 52)
	for _, m := range resources.rest() {
		assert.NotEqual(t, "notifications/prompts/list_changed", m.Method, "a stream that did not opt in")
	}
	cancelModern(t, h.url, 51)
	prompts.rest()
}

// modernLine is a protocol 2026-07-28 request for stdio.
func modernLine(id int, method, params string) string {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"` + modernVersion + `","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	p := strings.TrimSuffix(strings.TrimSpace(params), "}")
	if strings.TrimSpace(p) != "{" {
		p += ","
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s%s}}`, id, method, p, meta)
}

// TestStdioListenIsOptIn: on stdio in protocol 2026-07-28, resource
// updates and list_changed notifications reach the client only while a
// listen request that opted into them runs, tagged with its id.
func TestStdioListenIsOptIn(t *testing.T) {
	dir := writeStandards(t, map[string]string{"a.md": "# Alpha\n\nOne.\n"})
	h := startHarness(t, harnessOpts{stdio: true, standards: dir})
	rs := newRawStdio(h)
	uriA := server.StandardsURI("a.md")
	next := func(method string) map[string]any {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case line, ok := <-rs.lines:
				require.True(t, ok, "stdout closed before %s", method)
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &m), line)
				if m["method"] == method || (method == "" && m["method"] == nil) {
					return m
				}
				assert.NotContains(t, fmt.Sprint(m["method"]), "list_changed", "unasked: %s", line)
			case <-deadline:
				t.Fatalf("no %s within 10 s", method)
			}
		}
	}
	subID := func(m map[string]any) any {
		params, _ := m["params"].(map[string]any)
		meta, _ := params["_meta"].(map[string]any)
		return meta["io.modelcontextprotocol/subscriptionId"]
	}

	rs.send(modernLine(61, "subscriptions/listen", `{"notifications":{"resourcesListChanged":true,"resourceSubscriptions":["`+uriA+`"]}}`))
	next("notifications/subscriptions/acknowledged")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte("# Alpha\n\nEdited.\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.md"), []byte("# Gamma\n\nNew.\n"), 0o644))
	require.NoError(t, h.ix.Reindex(t.Context()))
	assert.InDelta(t, 61, subID(next("notifications/resources/list_changed")), 0)
	up := next("notifications/resources/updated")
	assert.Equal(t, uriA, up["params"].(map[string]any)["uri"])
	assert.InDelta(t, 61, subID(up), 0)

	rs.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":61,"_meta":{"io.modelcontextprotocol/protocolVersion":"` + modernVersion + `"}}}`)
	r := rs.reply(61)
	assert.Nil(t, r.Error)

	// No listen runs: a new file's list_changed is not sent.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d.md"), []byte("# Delta\n\nNew.\n"), 0o644))
	require.NoError(t, h.ix.Reindex(t.Context()))
	rs.send(modernLine(62, "ping", `{}`))
	next("") // the ping's answer; fails on any list_changed before it
}

// TestCapabilitiesAreTruthful pins what server/discover (2026-07-28) and
// initialize (2025-06-18) advertise, each of which works in that revision
// (the tests above exercise listen, list changes and logs in 2026-07-28;
// primitives_test.go the earlier one). resources/subscribe is not in
// 2026-07-28, so server/discover does not advertise resources.subscribe.
func TestCapabilitiesAreTruthful(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	want := map[string]any{
		"completions": map[string]any{},
		"logging":     map[string]any{},
		"prompts":     map[string]any{"listChanged": true},
		"resources":   map[string]any{"subscribe": true, "listChanged": true},
		"tools":       map[string]any{},
	}
	var res struct {
		Capabilities map[string]any `json:"capabilities"`
	}
	discover := modernRequest(t, h.url, "server/discover", 1, `{}`, "").rest()
	require.Len(t, discover, 1)
	require.NoError(t, json.Unmarshal(discover[0].Result, &res), string(discover[0].Error))
	modern := maps.Clone(want)
	modern["resources"] = map[string]any{"listChanged": true}
	assert.Equal(t, modern, res.Capabilities, "server/discover")
	res.Capabilities = nil

	status, _, body := rawHTTP(t, http.MethodPost, h.url, authJSON(nil), []byte(okInit))
	require.Equal(t, http.StatusOK, status, body)
	r := parseReply(t, body)
	require.NoError(t, json.Unmarshal(r.Result, &res))
	assert.Equal(t, want, res.Capabilities, "initialize")
}

// TestStdioLogsPerRequestPrecedeTheResponse: on stdio in protocol
// 2026-07-28, the notifications/message a request asked for is written
// before the request's response, so that a client that reads the
// response has it already.
func TestStdioLogsPerRequestPrecedeTheResponse(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true})
	rs := newRawStdio(h)
	rs.send(modernLine(71, "tools/call", `{"name":"start_workflow","arguments":{"workflow_type":"bug_fix","target_file":"x.go"}}`))
	var started struct {
		StructuredContent struct {
			SessionID string `json:"session_id"`
		} `json:"structuredContent"`
	}
	require.NoError(t, json.Unmarshal(rs.reply(71).Result, &started))
	line := modernLine(72, "tools/call", `{"name":"complete_phase","arguments":{"session_id":"`+started.StructuredContent.SessionID+`","phase":1,"evidence":{}}}`)
	rs.send(strings.Replace(line, `"_meta":{`, `"_meta":{"io.modelcontextprotocol/logLevel":"warning",`, 1))
	var seen []string
	for {
		select {
		case l, ok := <-rs.lines:
			require.True(t, ok, "stdout closed")
			var m sseMsg
			require.NoError(t, json.Unmarshal([]byte(l), &m), l)
			if m.ID != nil {
				assert.Contains(t, seen, "gate_failed", "the log came before the response")
				return
			}
			if m.Method == "notifications/message" {
				seen = append(seen, fmt.Sprint(paramsOf(t, m)["data"].(map[string]any)["event"]))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no response within 10 s")
		}
	}
}
