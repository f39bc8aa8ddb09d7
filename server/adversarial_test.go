package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/server"
)

// The adversarial suite: each test pins one defect an attack run found,
// against the real server on a loopback port.

// nested returns an object nested depth levels deep ({"k":{"k":...}}).
func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = map[string]any{"k": v}
	}
	return v
}

// TestNestedArgumentsAreRefused pins the 200 MB state file of a 60 KB
// request: arguments nested deeper than 64 levels are refused naming the
// argument, and an accepted one is stored compact.
func TestNestedArgumentsAreRefused(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	cs := h.httpClient("nested", "")
	id := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "nested.go"})).ID

	evidence := validRepro()
	evidence["environment"] = nested(server.MaxArgDepth) // evidence itself is one level more
	res := callTool(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 1, "evidence": evidence})
	require.True(t, res.IsError, "accepted: %s", textOf(res))
	assert.Contains(t, textOf(res), "evidence: nested deeper than 64 levels")

	res = callTool(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "opts.go", "options": nested(200)})
	require.True(t, res.IsError, "accepted: %s", textOf(res))
	assert.Contains(t, textOf(res), "options: nested deeper than 64 levels")

	// At the limit it is accepted, and the state file is compact.
	evidence["environment"] = nested(server.MaxArgDepth - 1)
	out := decode[struct {
		Passed bool `json:"checkpoint_passed"`
	}](t, mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 1, "evidence": evidence}))
	require.True(t, out.Passed)
	data, err := os.ReadFile(filepath.Join(h.stateDir, id+".json"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "\n", "the state file is not indented")
	assert.Less(t, len(data), 8<<10, "64 levels of evidence cost a few KB, not the square of the depth")
}

// TestStalledBodyIsDisconnected pins the connections held for ever by a
// client that announces a body and sends one byte, or trickles it: the
// server answers and closes the connection at the body timeout.
func TestStalledBodyIsDisconnected(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken, tweak: func(c *server.Config) {
		c.BodyTimeout = 200 * time.Millisecond
		c.MaxBodyBytes = 64 << 10
	}})
	u, err := url.Parse(h.url)
	require.NoError(t, err)
	const (
		stalled   = "HTTP/1.1 400"
		overLimit = "HTTP/1.1 413"
	)
	for _, c := range []struct {
		name, method, path string
		length             int
		trickle            bool
		want, wantBody     string
	}{
		{name: "one byte of 60000", method: "POST", path: server.PathMCP, length: 60000, want: stalled},
		{name: "a byte at a time", method: "POST", path: server.PathMCP, length: 60000, trickle: true, want: stalled},
		{name: "DELETE with a body", method: "DELETE", path: server.PathMCP, length: 60000, want: stalled},
		{name: "healthz with a body", method: "GET", path: server.PathHealth, length: 60000, want: stalled},
		// Refused unread for its length, then drained by net/http: the
		// drain ends at the body deadline too.
		{name: "one byte of 100000, over the limit", method: "POST", path: server.PathMCP, length: 100000, want: overLimit, wantBody: "--max-body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			require.NoError(t, err)
			defer func() { _ = conn.Close() }()
			_, err = fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
				c.method, c.path, u.Host, testToken, c.length)
			require.NoError(t, err)
			stop := make(chan struct{})
			trickled := make(chan struct{})
			go func() {
				defer close(trickled)
				if !c.trickle {
					return
				}
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for range 1000 { // bounded: 20 s at most
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			// The bound is a safety net for a regression, far above the
			// 200 ms body timeout; the server must close well before it.
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
			start := time.Now()
			resp, err := io.ReadAll(conn)
			close(stop)
			<-trickled
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the server did not close the connection within 15 s (read %q)", resp)
			}
			// EOF (err nil) or a reset: either way the server closed it.
			assert.Contains(t, string(resp), c.want, "the client is told why")
			if c.wantBody == "" {
				c.wantBody = "could not read the request body"
			}
			assert.Contains(t, string(resp), c.wantBody)
			t.Logf("closed after %v", time.Since(start).Round(time.Millisecond))
		})
	}
}

// postJSON sends one JSON-RPC message on a session and returns the status,
// headers and body.
func postJSON(t *testing.T, u, session, body string) (int, http.Header, string) {
	t.Helper()
	return rawHTTP(t, http.MethodPost, u, authJSON(map[string]string{"Mcp-Session-Id": session}), []byte(body))
}

const pingMsg = `{"jsonrpc":"2.0","id":5,"method":"ping"}`

// openStream opens an SSE GET stream on session and returns its status;
// the stream stays open until the test ends or close is called.
func openStream(t *testing.T, u, session string) (status int, body string, closeStream func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	require.NoError(t, err)
	for k, v := range authJSON(map[string]string{"Mcp-Session-Id": session, "Accept": "text/event-stream", "Content-Type": ""}) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	closeStream = func() {
		cancel()
		_ = resp.Body.Close()
	}
	t.Cleanup(closeStream)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp.StatusCode, body, closeStream
}

// TestSessionFloodIsBounded pins the 888 MB of 60,000 sessions never
// closed: past the cap, a new session ends the one idle the longest, and
// when every session is busy a new one gets a clear 503.
func TestSessionFloodIsBounded(t *testing.T) {
	const limit = 8
	h := startHarness(t, harnessOpts{http: true, token: testToken, tweak: func(c *server.Config) { c.MaxSessions = limit }})
	ids := make([]string, 3*limit)
	for i := range ids {
		ids[i] = legacySession(t, h.url)
	}
	for i, id := range ids {
		status, _, body := postJSON(t, h.url, id, pingMsg)
		if i < len(ids)-limit {
			assert.Equal(t, http.StatusNotFound, status, "session %d was idle the longest and ended: %s", i, body)
		} else {
			assert.Equal(t, http.StatusOK, status, "session %d is among the %d newest: %s", i, limit, body)
		}
	}

	// Every live session busy (an SSE stream open on each): no room.
	live := ids[len(ids)-limit:]
	for _, id := range live {
		status, body, _ := openStream(t, h.url, id)
		require.Equal(t, http.StatusOK, status, body)
	}
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	status, hdr, body := rawHTTP(t, http.MethodPost, h.url, authJSON(nil), []byte(init))
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	assert.Contains(t, body, "--max-sessions")
	assert.Contains(t, body, `"error"`, "a JSON-RPC error the client can show")
	assert.NotEmpty(t, hdr.Get("Retry-After"))
	for _, id := range live {
		status, _, body := postJSON(t, h.url, id, pingMsg)
		assert.Equal(t, http.StatusOK, status, "busy sessions are never ended: %s", body)
	}
}

// TestSessionIDsAreChecked pins session IDs that worked after DELETE or
// were never issued: both get 404 on every method, as the streamable HTTP
// specification asks.
func TestSessionIDsAreChecked(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	forged := "mcp-session-" + uuid.NewString()
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		status, _, body := rawHTTP(t, m, h.url, authJSON(map[string]string{"Mcp-Session-Id": forged}), []byte(pingMsg))
		assert.Equal(t, http.StatusNotFound, status, "%s with a forged session ID: %s", m, body)
	}

	id := legacySession(t, h.url)
	status, _, body := postJSON(t, h.url, id, pingMsg)
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = rawHTTP(t, http.MethodDelete, h.url, authJSON(map[string]string{"Mcp-Session-Id": id}), nil)
	require.Equal(t, http.StatusOK, status, body)
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		status, _, body := rawHTTP(t, m, h.url, authJSON(map[string]string{"Mcp-Session-Id": id}), []byte(pingMsg))
		assert.Equal(t, http.StatusNotFound, status, "%s after DELETE: %s", m, body)
		assert.Contains(t, strings.ToLower(body), "session")
	}
	status, _, body = rawHTTP(t, http.MethodGet, h.url, authJSON(map[string]string{"Mcp-Session-Id": ""}), nil)
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "Mcp-Session-Id header is required")

	// Each refusal is counted: 3 forged, 3 after DELETE, 1 without an ID.
	status, _, body = rawHTTP(t, http.MethodGet, strings.TrimSuffix(h.url, server.PathMCP)+server.PathMetrics, authJSON(nil), nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `mcpflow_http_rejected_total{reason="session"} 7`)
}

// TestSSEStreamsAreCapped pins 2,000 streams holding 8,000 goroutines:
// streams are capped per session and over all sessions.
func TestSSEStreamsAreCapped(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken, tweak: func(c *server.Config) { c.MaxStreams = server.StreamsPerSession + 1 }})
	a, b, c := legacySession(t, h.url), legacySession(t, h.url), legacySession(t, h.url)
	for range server.StreamsPerSession {
		status, body, _ := openStream(t, h.url, a)
		require.Equal(t, http.StatusOK, status, body)
	}
	status, body, _ := openStream(t, h.url, a)
	assert.Equal(t, http.StatusTooManyRequests, status, body)
	assert.Contains(t, body, "SSE streams open")
	status, body, closeB := openStream(t, h.url, b)
	require.Equal(t, http.StatusOK, status, body)
	status, body, _ = openStream(t, h.url, c)
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	assert.Contains(t, body, "--max-streams")

	// A stream closed makes room once the server has seen it end.
	closeB()
	require.Eventually(t, func() bool {
		status, _, closeC := openStream(t, h.url, c)
		closeC()
		return status == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
}

// TestHTTPProtocolErrors pins the obscure answers to a batch, a message
// without a method and an unsupported HTTP method.
func TestHTTPProtocolErrors(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	sid := legacySession(t, h.url)

	status, hdr, body := rawHTTP(t, http.MethodPut, h.url, authJSON(map[string]string{"Mcp-Session-Id": sid}), []byte(pingMsg))
	assert.Equal(t, http.StatusMethodNotAllowed, status, body)
	assert.Equal(t, "GET, HEAD, POST, DELETE", hdr.Get("Allow"))

	status, _, body = postJSON(t, h.url, sid, `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`)
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "batches are not supported in this protocol version")

	for _, msg := range []string{`{"jsonrpc":"2.0","id":9}`, `{"jsonrpc":"2.0"}`, `{"jsonrpc":"2.0","id":9,"params":{}}`} {
		status, _, body = postJSON(t, h.url, sid, msg)
		assert.Equal(t, http.StatusBadRequest, status, "%s: %s", msg, body)
		var m struct {
			ID    any `json:"id"`
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &m), body)
		assert.Equal(t, -32600, m.Error.Code)
		assert.Contains(t, m.Error.Message, "method: required")
	}

	// A client's answer to a ping is still accepted.
	status, _, body = postJSON(t, h.url, sid, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	assert.Equal(t, http.StatusAccepted, status, body)
}

// stalledStore fails every save the way the Redis store does while Redis
// is paused: its own deadline passes.
type stalledStore struct{ state.Store }

func (stalledStore) Save(context.Context, *state.SessionState, state.Version) (state.Version, error) {
	return 0, fmt.Errorf("redisstore: Redis unavailable: save: 127.0.0.1:6379 did not answer within 2s (%w); check that Redis is running and reachable", context.DeadlineExceeded)
}

// TestStoreDeadlineIsAToolError pins -32603 protocol errors during a Redis
// pause: a store's own deadline is a tool error saying Redis is
// unavailable, as when Redis is down.
func TestStoreDeadlineIsAToolError(t *testing.T) {
	fs, err := filestore.New(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = fs.Close() })
	h := startHarness(t, harnessOpts{http: true, store: stalledStore{fs}})
	cs := h.httpClient("paused", "")
	res := callTool(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "paused.go"})
	require.True(t, res.IsError, "want a tool error: %s", textOf(res))
	assert.Contains(t, textOf(res), "Redis unavailable")
}

// TestDeepNestingBeyondTheDecoder sends evidence nested 9,990 levels, as
// the attack did, in a raw request: it is refused naming the field and the
// server keeps serving.
func TestDeepNestingBeyondTheDecoder(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	sid := legacySession(t, h.url)
	const depth = 9990
	var b bytes.Buffer
	b.WriteString(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"complete_phase","arguments":{"session_id":"` + uuid.NewString() + `","phase":1,"evidence":`)
	b.WriteString(strings.Repeat(`{"k":`, depth))
	b.WriteString(`1`)
	b.WriteString(strings.Repeat(`}`, depth))
	b.WriteString(`}}}`)
	status, _, body := postJSON(t, h.url, sid, b.String())
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "evidence: nested deeper than 64 levels")
	assert.Contains(t, body, `"isError":true`)
	status, _, body = postJSON(t, h.url, sid, pingMsg)
	assert.Equal(t, http.StatusOK, status, body)
}

// TestInvalidTextInArgumentsIsRefused pins two raw names mapping to one
// target: a lone surrogate escape or invalid UTF-8 in an argument is
// refused naming the argument, over HTTP and stdio, before encoding/json
// could turn it into U+FFFD.
func TestInvalidTextInArgumentsIsRefused(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, stdio: true, token: testToken})
	sid := legacySession(t, h.url)
	call := func(target string) string {
		return `{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflow_type":"bug_fix","target_file":"` + target + `"}}}`
	}
	for _, c := range []struct {
		name, target string
		bad          bool
	}{
		{name: "lone high surrogate", target: `a\ud800b`, bad: true},
		{name: "lone low surrogate", target: `a\uDC00`, bad: true},
		{name: "high surrogate at the end", target: `a\ud83d`, bad: true},
		{name: "two high surrogates", target: `\ud83d\ud83d`, bad: true},
		{name: "invalid byte", target: "a\xffb", bad: true},
		{name: "a pair", target: `smile\ud83d\ude00.go`},
		{name: "an escaped backslash before u", target: `dir\\ud800.go`},
		{name: "plain", target: `plain.go`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := postJSON(t, h.url, sid, call(c.target))
			require.Equal(t, http.StatusOK, status, body)
			if c.bad {
				assert.Contains(t, body, "target_file: is not valid UTF-8")
				assert.Contains(t, body, `"isError":true`)
				assert.Contains(t, body, `"id":11`)
			} else {
				assert.NotContains(t, body, "isError", "accepted")
				assert.Contains(t, body, "session_id")
			}
		})
	}

	// The same over stdio, answered by the gate.
	out := bufio.NewReader(h.stdoutR)
	_, err := io.WriteString(h.stdinW, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
	require.NoError(t, err)
	_, err = out.ReadString('\n')
	require.NoError(t, err)
	_, err = io.WriteString(h.stdinW, call(`x\udfffy`)+"\n")
	require.NoError(t, err)
	line, err := out.ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, "target_file: is not valid UTF-8")
	assert.Contains(t, line, `"isError":true`)
}

// TestRedisPauseIsAToolError pins the same defect on a real Redis stopped
// with SIGSTOP: calls fail as tool errors saying Redis is unavailable, and
// work again once it resumes.
func TestRedisPauseIsAToolError(t *testing.T) {
	srv := redistest.Start(t)
	rs, err := redisstore.Open(t.Context(), redisstore.Options{Addr: srv.Addr, Prefix: redistest.Prefix(t), Timeout: 300 * time.Millisecond, CacheTTL: time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rs.Close() })
	h := startHarness(t, harnessOpts{http: true, store: rs})
	cs := h.httpClient("paused", "")
	mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "before.go"})

	srv.Pause(t)
	res := callTool(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "paused.go"})
	srv.Resume(t)
	require.True(t, res.IsError, "want a tool error: %s", textOf(res))
	assert.Contains(t, textOf(res), "Redis unavailable")
	mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "after.go"})
}
