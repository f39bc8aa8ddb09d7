package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// The second adversarial round (issue 20): each test pins one defect of
// the transports, against the real server on a loopback port.

// rpcReply is a JSON-RPC response as the tests read it.
type rpcReply struct {
	ID     any             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func parseReply(t *testing.T, body string) rpcReply {
	t.Helper()
	var r rpcReply
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	return r
}

const okInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// TestMalformedInitializeHoldsNoSlot pins the lock-out by 20 malformed
// initialize requests with --max-sessions 8: an initialize whose params
// are not an object, that has no id, or that mcp-go answers with an error,
// is refused with a JSON-RPC error, gets no session, and holds no slot.
func TestMalformedInitializeHoldsNoSlot(t *testing.T) {
	const limit = 4
	h := startHarness(t, harnessOpts{http: true, token: testToken, tweak: func(c *server.Config) { c.MaxSessions = limit }})
	bad := []struct {
		name, body string
		code       int
	}{
		{"params an array", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":[]}`, -32602},
		{"params a string", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":"x"}`, -32602},
		{"params missing", `{"jsonrpc":"2.0","id":1,"method":"initialize"}`, -32602},
		{"params that do not decode", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":5}}`, -32602},
		{"a notification", `{"jsonrpc":"2.0","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, -32600},
		{"a null id", `{"jsonrpc":"2.0","id":null,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, -32600},
		// Passes every check of the table; mcp-go creates the session and
		// answers with an error. The session must end all the same.
		{"a JSON-RPC version mcp-go refuses", `{"jsonrpc":"1.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, -32600},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			for range 5 * limit {
				status, hdr, body := rawHTTP(t, http.MethodPost, h.url, authJSON(nil), []byte(c.body))
				assert.NotEqual(t, http.StatusServiceUnavailable, status, "locked out: %s", body)
				assert.Empty(t, hdr.Get("Mcp-Session-Id"), "no session is handed out")
				r := parseReply(t, body)
				require.NotNil(t, r.Error, "a JSON-RPC error: %s", body)
				assert.Equal(t, c.code, r.Error.Code, body)
			}
		})
	}

	// Every slot is free: limit sessions at once, each kept busy by a
	// stream so that none can be ended to make room.
	for range limit {
		id := legacySession(t, h.url)
		status, body, _ := openStream(t, h.url, id)
		require.Equal(t, http.StatusOK, status, body)
	}
	status, _, body := rawHTTP(t, http.MethodPost, h.url, authJSON(nil), []byte(okInit))
	assert.Equal(t, http.StatusServiceUnavailable, status, "the limit still holds: %s", body)
}

// stream is an SSE GET stream opened by hand.
type stream struct {
	resp   *http.Response
	cancel context.CancelFunc
}

func getStream(t *testing.T, u, session string) (int, *stream) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	require.NoError(t, err)
	for k, v := range authJSON(map[string]string{"Mcp-Session-Id": session, "Accept": "text/event-stream", "Content-Type": ""}) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	st := &stream{resp: resp, cancel: cancel}
	t.Cleanup(st.close)
	return resp.StatusCode, st
}

func (s *stream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// ended reports whether the server ended the stream within the bound.
func (s *stream) ended(bound time.Duration) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, s.resp.Body)
	}()
	select {
	case <-done:
		return true
	case <-time.After(bound):
		s.close()
		<-done
		return false
	}
}

// TestDeleteEndsStreams pins the bypass of --max-streams through DELETE:
// deleting a session ends its GET stream, and a stream counts until its
// handler has returned, so the streams open never exceed the limit.
func TestDeleteEndsStreams(t *testing.T) {
	const limit = 2
	h := startHarness(t, harnessOpts{http: true, token: testToken, tweak: func(c *server.Config) { c.MaxStreams = limit }})
	for i := range 3 * limit {
		id := legacySession(t, h.url)
		var st *stream
		// The previous round's stream stops counting once its handler has
		// returned, which follows its end by a moment.
		require.Eventually(t, func() bool {
			var status int
			status, st = getStream(t, h.url, id)
			if status != http.StatusOK {
				st.close()
				return false
			}
			return true
		}, 10*time.Second, 10*time.Millisecond, "round %d: a stream slot", i)
		status, _, body := rawHTTP(t, http.MethodDelete, h.url, authJSON(map[string]string{"Mcp-Session-Id": id}), nil)
		require.Equal(t, http.StatusOK, status, body)
		require.True(t, st.ended(10*time.Second), "round %d: the stream of a deleted session stays open", i)
	}
}

// modernHeaders are the headers of a protocol 2026-07-28 request.
func modernHeaders(method string) map[string]string {
	return authJSON(map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": method})
}

const listenMsg = `{"jsonrpc":"2.0","id":%d,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true,"resourcesListChanged":true},` +
	`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`

// openListen opens a subscriptions/listen stream and returns its status
// and, when refused, its body.
func openListen(t *testing.T, u string, id int) (int, string, *stream) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(fmt.Sprintf(listenMsg, id)))
	require.NoError(t, err)
	for k, v := range modernHeaders("subscriptions/listen") {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	st := &stream{resp: resp, cancel: cancel}
	t.Cleanup(st.close)
	body := ""
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	return resp.StatusCode, body, st
}

// TestListenStreamsCountAgainstMaxStreams pins the 40 listen streams open
// with --max-streams 4: in protocol 2026-07-28, subscriptions/listen
// streams count against the same limit as GET streams.
func TestListenStreamsCountAgainstMaxStreams(t *testing.T) {
	const limit = 3
	h := startHarness(t, harnessOpts{http: true, token: testToken, tweak: func(c *server.Config) { c.MaxStreams = limit }})
	var open []*stream
	for i := range limit {
		status, body, st := openListen(t, h.url, i+1)
		require.Equal(t, http.StatusOK, status, body)
		open = append(open, st)
	}
	status, body, _ := openListen(t, h.url, 99)
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	assert.Contains(t, body, "--max-streams")
	assert.Equal(t, -32603, parseReply(t, body).Error.Code, body)

	// A GET stream of the earlier revision shares the limit.
	id := legacySession(t, h.url)
	status, gst := getStream(t, h.url, id)
	gst.close()
	assert.Equal(t, http.StatusServiceUnavailable, status)

	// A listen stream closed makes room once its handler has returned.
	open[0].close()
	require.Eventually(t, func() bool {
		status, _, st := openListen(t, h.url, 100)
		st.close()
		return status == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)
}

// TestClientThatNeverReadsIsDisconnected pins the 600 MB held by 30
// clients that never read the reply to resources/read of a large file:
// a response whose write stalls fails at the write deadline, and the
// server lets go of the connection.
func TestClientThatNeverReadsIsDisconnected(t *testing.T) {
	// Each < is six bytes in the reply (\u003c): 12 MB, more than the
	// kernel's socket buffers hold.
	const size = 2 << 20
	dir := writeStandards(t, map[string]string{"big.md": "# Big\n\n" + strings.Repeat(strings.Repeat("<", 63)+"\n", size/64)})
	stalled := newLogSignal("Failed to write response")
	h := startHarness(t, harnessOpts{http: true, token: testToken, standards: dir, logs: stalled, tweak: func(c *server.Config) {
		c.WriteTimeout = 300 * time.Millisecond
	}})
	sid := legacySession(t, h.url)
	u, err := url.Parse(h.url)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	// A fixed receive buffer, so that the kernel does not grow it to hold
	// the whole reply; above the loopback MSS, so that the window still
	// opens once the client reads.
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(256<<10))
	msg := `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"standards://big.md"}}`
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-06-18\r\nMcp-Session-Id: %s\r\nContent-Length: %d\r\n\r\n%s",
		u.Path, u.Host, testToken, sid, len(msg), msg)
	require.NoError(t, err)

	// The client reads nothing until the server gives up on the write.
	select {
	case <-stalled.seen:
	case <-time.After(15 * time.Second):
		t.Fatal("the server kept writing to a client that does not read for 15 s")
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
	got, err := io.Copy(io.Discard, bufio.NewReader(conn))
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the server did not close the connection (read %d bytes)", got)
	assert.Less(t, got, int64(6*size), "the reply was cut off, not held")
}

// rawStdio speaks JSON-RPC by hand on the harness's stdio pipes.
type rawStdio struct {
	t     *testing.T
	h     *harness
	lines chan string
}

func newRawStdio(h *harness) *rawStdio {
	r := &rawStdio{t: h.t, h: h, lines: make(chan string, 64)}
	go func() {
		defer close(r.lines)
		sc := bufio.NewScanner(h.stdoutR)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	return r
}

func (r *rawStdio) send(msg string) {
	r.t.Helper()
	_, err := io.WriteString(r.h.stdinW, msg+"\n")
	require.NoError(r.t, err)
}

// reply waits for the response whose id is id, skipping the others.
func (r *rawStdio) reply(id float64) rpcReply {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-r.lines:
			require.True(r.t, ok, "stdout closed before the answer to %v", id)
			var m rpcReply
			if json.Unmarshal([]byte(line), &m) == nil && m.ID == id {
				return m
			}
		case <-deadline:
			r.t.Fatalf("no answer to %v within 10 s", id)
		}
	}
}

// TestStdioPendingCountsWhatMcpGoAnswers pins the stuck pending count: a
// message carrying both method and result, or an id of 1e400, was counted
// and never answered, so the metric stayed above 0 and stdin EOF waited
// the whole shutdown timeout.
func TestStdioPendingCountsWhatMcpGoAnswers(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, http: true, token: testToken, shutdown: time.Minute})
	rs := newRawStdio(h)
	rs.send(`{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`)
	rs.send(`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`)
	rs.send(`{"jsonrpc":"2.0","id":2,"method":"tools/list","result":{"x":1}}`)
	rs.send(`{"jsonrpc":"2.0","id":3}`) // no method: answered, method not found
	assert.NotNil(t, rs.reply(3).Error)
	rs.send(`{"jsonrpc":"2.0","id":4,"method":"ping"}`)
	require.Nil(t, rs.reply(4).Error)

	status, _, body := rawHTTP(t, http.MethodGet, strings.TrimSuffix(h.url, server.PathMCP)+server.PathMetrics, authJSON(nil), nil)
	require.Equal(t, http.StatusOK, status)
	var pending string
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, "mcpflow_stdio_pending_requests "); ok {
			pending = strings.TrimSpace(v)
		}
	}
	assert.Equal(t, "0", pending, "requests read and not answered")

	// stdin EOF: nothing is pending, so the server stops at once rather
	// than at the one-minute shutdown timeout.
	require.NoError(t, h.stdinW.Close())
	require.NoError(t, h.wait(10*time.Second))
}

// TestSubscribeIsCheckedAndCapped pins the 290 MB of 1,000 subscriptions
// to 200 KB URIs: an unknown URI gets -32002, a session's subscriptions
// are capped, and an unsubscribe makes room, on both transports.
func TestSubscribeIsCheckedAndCapped(t *testing.T) {
	const limit = 2
	dir := writeStandards(t, map[string]string{"a.md": "# A\n\nOne.\n", "b.md": "# B\n\nTwo.\n", "c.md": "# C\n\nThree.\n"})
	sub := func(id int, uri string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/subscribe","params":{"uri":%q}}`, id, uri)
	}
	unsub := func(id int, uri string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/unsubscribe","params":{"uri":%q}}`, id, uri)
	}
	check := func(t *testing.T, do func(msg string, id int) rpcReply) {
		t.Helper()
		for i, uri := range []string{"standards://nope.md", "standards://" + strings.Repeat("x", 200<<10), "file:///etc/passwd", "workflow://bug_fix/phases/1/nope.md"} {
			r := do(sub(10+i, uri), 10+i)
			require.NotNil(t, r.Error, "%.60s accepted", uri)
			assert.Equal(t, -32002, r.Error.Code, "%.60s: %s", uri, r.Error.Message)
			assert.Contains(t, r.Error.Message, "no such resource")
			assert.Less(t, len(r.Error.Message), 1024, "the refusal does not echo a huge URI")
		}
		assert.Nil(t, do(sub(20, "standards://a.md"), 20).Error)
		assert.Nil(t, do(sub(21, "workflow://bug_fix/phases/1/phase.md"), 21).Error)
		assert.Nil(t, do(sub(22, "standards://a.md"), 22).Error, "subscribing again is no new subscription")
		r := do(sub(23, "standards://b.md"), 23)
		require.NotNil(t, r.Error, "over the limit")
		assert.Contains(t, r.Error.Message, "--max-subscriptions")
		assert.Nil(t, do(unsub(24, "standards://a.md"), 24).Error)
		assert.Nil(t, do(sub(25, "standards://b.md"), 25).Error, "an unsubscribe makes room")
	}
	tweak := func(c *server.Config) { c.MaxSubscriptions = limit }
	t.Run("http", func(t *testing.T) {
		h := startHarness(t, harnessOpts{http: true, token: testToken, standards: dir, tweak: tweak})
		sid := legacySession(t, h.url)
		check(t, func(msg string, _ int) rpcReply {
			status, _, body := postJSON(t, h.url, sid, msg)
			require.Equal(t, http.StatusOK, status, body)
			return parseReply(t, body)
		})
	})
	t.Run("stdio", func(t *testing.T) {
		h := startHarness(t, harnessOpts{stdio: true, standards: dir, tweak: tweak})
		rs := newRawStdio(h)
		check(t, func(msg string, id int) rpcReply {
			rs.send(msg)
			return rs.reply(float64(id))
		})
	})
}

// TestHeadAndOriginChecks pins two smaller holes: HEAD /mcp answered 200
// for a session that is not live, and only the first Origin header was
// checked.
func TestHeadAndOriginChecks(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, token: testToken})
	sid := legacySession(t, h.url)
	status, _, _ := rawHTTP(t, http.MethodHead, h.url, authJSON(map[string]string{"Mcp-Session-Id": sid}), nil)
	assert.Equal(t, http.StatusOK, status, "a live session")
	status, _, _ = rawHTTP(t, http.MethodHead, h.url, authJSON(map[string]string{"Mcp-Session-Id": "mcp-session-forged"}), nil)
	assert.Equal(t, http.StatusNotFound, status, "a forged session")

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url, strings.NewReader(pingMsg))
	require.NoError(t, err)
	for k, v := range authJSON(map[string]string{"Mcp-Session-Id": sid}) {
		req.Header.Set(k, v)
	}
	req.Header.Add("Origin", "http://localhost:3000")
	req.Header.Add("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, string(b))
	assert.Contains(t, string(b), "evil.example")
}
