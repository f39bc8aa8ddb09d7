package server_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// slowTool is a tool that blocks until released, to hold calls in flight.
type slowTool struct {
	started chan struct{} // one value per call that started
	release chan struct{} // closed to let every call finish
	running atomic.Int64
	peak    atomic.Int64
}

func addSlowTool(h *harness) *slowTool {
	s := &slowTool{started: make(chan struct{}, 256), release: make(chan struct{})}
	h.srv.MCPServer().AddTool(mcpgo.NewTool("slow", mcpgo.WithDescription("blocks until released")),
		func(ctx context.Context, _ mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			n := s.running.Add(1)
			defer s.running.Add(-1)
			for {
				p := s.peak.Load()
				if n <= p || s.peak.CompareAndSwap(p, n) {
					break
				}
			}
			s.started <- struct{}{}
			<-s.release
			return mcpgo.NewToolResultText("done"), nil
		})
	return s
}

// waitStarted waits for n calls to be running, or fails after a generous
// bound (a hang here means calls were not running concurrently).
func (s *slowTool) waitStarted(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-s.started:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d slow calls started", i, n)
		}
	}
}

// logSignal is a log writer that closes a channel when a line contains a
// given text.
type logSignal struct {
	want string
	once sync.Once
	seen chan struct{}
}

func newLogSignal(want string) *logSignal { return &logSignal{want: want, seen: make(chan struct{})} }

func (l *logSignal) Write(p []byte) (int, error) {
	if strings.Contains(string(p), l.want) {
		l.once.Do(func() { close(l.seen) })
	}
	return len(p), nil
}

func asyncCall(cs *mcp.ClientSession, tool string) <-chan error {
	done := make(chan error, 1)
	go func() {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool})
		if err == nil && res.IsError {
			err = errors.New(textOf(res))
		}
		done <- err
	}()
	return done
}

// TestShutdownOnStdinEOFLetsCallsFinish: the client closes stdin while a
// call runs; the call still gets its answer and the server exits cleanly.
func TestShutdownOnStdinEOFLetsCallsFinish(t *testing.T) {
	sig := newLogSignal(`cause="stdin closed"`)
	h := startHarness(t, harnessOpts{stdio: true, http: true, logs: sig})
	slow := addSlowTool(h)
	cs := h.stdioClient("eof", "")
	done := asyncCall(cs, "slow")
	slow.waitStarted(t, 1)
	require.NoError(t, h.stdinW.Close()) // stdin EOF
	<-sig.seen                           // the server is shutting down...
	close(slow.release)                  // ...and only now does the call finish
	require.NoError(t, <-done, "the in-flight call must be answered")
	require.NoError(t, h.wait(5*time.Second))
	assertNoDiscovery(t, h)
}

// TestShutdownOnSignalLetsHTTPCallsFinish: SIGINT (the context) arrives
// while an HTTP call runs; it finishes, and the server exits in under 1 s.
func TestShutdownOnSignalLetsHTTPCallsFinish(t *testing.T) {
	sig := newLogSignal(`msg="shutting down"`)
	h := startHarness(t, harnessOpts{http: true, logs: sig})
	slow := addSlowTool(h)
	cs := h.httpClient("signal", "")
	done := asyncCall(cs, "slow")
	slow.waitStarted(t, 1)
	stopped := make(chan time.Duration, 1)
	go func() {
		d, err := h.stop()
		assert.NoError(t, err)
		stopped <- d
	}()
	<-sig.seen
	close(slow.release)
	require.NoError(t, <-done, "the in-flight HTTP call must be answered")
	assert.Less(t, <-stopped, time.Second)
	assertNoDiscovery(t, h)
}

// TestShutdownClosesIdleSessions: clients with open MCP sessions, a
// standalone SSE stream and idle keep-alive connections must not hold the
// shutdown up.
func TestShutdownClosesIdleSessions(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, http: true})
	for i, v := range []string{"2025-06-18", "2025-03-26", ""} {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		c := mcp.NewClient(&mcp.Implementation{Name: "idle", Version: "1"}, nil)
		cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
			Endpoint: h.url, HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1,
			DisableStandaloneSSE: i == 2, // two of them keep a GET stream open
		}, &mcp.ClientSessionOptions{ProtocolVersion: v})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cs.Close() })
		mustOK(t, cs, server.ToolListWorkflows, nil)
	}
	stdio := h.stdioClient("idle-stdio", "")
	mustOK(t, stdio, server.ToolListWorkflows, nil)
	d, err := h.stop()
	require.NoError(t, err)
	assert.Less(t, d, time.Second, "shutdown with idle sessions")
}

// TestShutdownDeadlineBoundsStuckCalls: a call that never ends cannot keep
// the server alive past ShutdownTimeout, on either transport.
func TestShutdownDeadlineBoundsStuckCalls(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, http: true, shutdown: 150 * time.Millisecond})
	slow := addSlowTool(h)
	t.Cleanup(func() { close(slow.release) })
	httpDone := asyncCall(h.httpClient("stuck", ""), "slow")
	stdioDone := asyncCall(h.stdioClient("stuck-stdio", ""), "slow")
	slow.waitStarted(t, 2)
	d, err := h.stop()
	require.NoError(t, err)
	assert.Less(t, d, time.Second)
	assert.GreaterOrEqual(t, d, 150*time.Millisecond, "the graceful part runs to its deadline")
	require.Error(t, <-httpDone, "the stuck HTTP call is cut off")
	require.Error(t, <-stdioDone, "the stuck stdio call is cut off")
}

// TestStdioWorkerPoolRunsSlowCallsAtOnce: with --stdio-workers 8, eight
// slow calls run at the same time (mcp-go's default pool of 5 would hold
// three back).
func TestStdioWorkerPoolRunsSlowCallsAtOnce(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, workers: 8})
	slow := addSlowTool(h)
	cs := h.stdioClient("pool", "")
	var dones []<-chan error
	for range 8 {
		dones = append(dones, asyncCall(cs, "slow"))
	}
	slow.waitStarted(t, 8)
	assert.Equal(t, int64(8), slow.peak.Load())
	// Fast calls are not stuck behind them either: requests other than
	// tools/call are served outside the pool.
	require.NoError(t, cs.Ping(t.Context(), nil))
	close(slow.release)
	for _, d := range dones {
		require.NoError(t, <-d)
	}
}

// TestToolErrorsVersusProtocolErrors: a domain failure is an isError
// result without structured content; an unknown tool and a panicking
// handler are JSON-RPC errors; the server keeps serving after each.
func TestToolErrorsVersusProtocolErrors(t *testing.T) {
	logs := &syncBuffer{}
	h := startHarness(t, harnessOpts{stdio: true, http: true, logs: logs})
	h.srv.MCPServer().AddTool(mcpgo.NewTool("explode"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		panic("boom")
	})
	for _, cs := range []*mcp.ClientSession{h.httpClient("errs", ""), h.stdioClient("errs-stdio", "")} {
		res := callTool(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": "not-a-session"})
		assert.True(t, res.IsError)
		assert.Nil(t, res.StructuredContent)
		assert.Contains(t, textOf(res), "session_id")

		_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "no_such_tool"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no_such_tool")

		_, err = cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "explode"})
		require.Error(t, err, "a panic is a protocol error")
		assert.Contains(t, err.Error(), "panic")

		mustOK(t, cs, server.ToolListWorkflows, nil)
	}
	// The panic was counted and logged as a protocol error by the outermost
	// middleware, on both transports.
	for _, tr := range []string{"http", "stdio"} {
		assert.Contains(t, logs.String(), `msg="tool call" tool=explode transport=`+tr)
	}
	assert.Contains(t, logs.String(), `outcome=protocol_error err="panic recovered in explode tool handler: boom"`)
}

// TestEveryToolAnswersWithItsSchema calls each of the eighteen tools
// successfully with output schema validation on, and checks the tool list:
// schemas with descriptions, annotations, output schemas.
func TestEveryToolAnswersWithItsSchema(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	cs := h.httpClient("schema", "2025-06-18")

	tools := map[string]*mcp.Tool{}
	for tool, err := range cs.Tools(t.Context(), nil) {
		require.NoError(t, err)
		tools[tool.Name] = tool
	}
	readOnly := map[string]bool{
		server.ToolSearchStandards: true, server.ToolListWorkflows: true, server.ToolGetCurrentPhase: true,
		server.ToolGetTask: true, server.ToolGetWorkflowState: true, server.ToolListSessions: true, server.ToolGetServerInfo: true,
		server.ToolStartWorkflow: false, server.ToolCompletePhase: false, server.ToolDeleteSession: false,
		server.ToolPosWorkflow: false, server.ToolCurrentDate: true,
		server.ToolReindexStandards: false,
		server.ToolPauseSession:     false, server.ToolResumeSession: false, server.ToolRetryPhase: false,
		server.ToolRollbackSession: false, server.ToolGetErrors: true,
	}
	require.Len(t, tools, len(readOnly))
	for name, ro := range readOnly {
		tool := tools[name]
		require.NotNil(t, tool, name)
		assert.NotEmpty(t, tool.Description, name)
		require.NotNil(t, tool.Annotations, name)
		assert.Equal(t, ro, tool.Annotations.ReadOnlyHint, name)
		require.NotNil(t, tool.Annotations.DestructiveHint, name)
		// pos_workflow's delete_session action deletes; a rollback sets
		// evidence aside.
		assert.Equal(t, name == server.ToolDeleteSession || name == server.ToolPosWorkflow || name == server.ToolRollbackSession, *tool.Annotations.DestructiveHint, name)
		assert.NotNil(t, tool.OutputSchema, name)
		schema := tool.InputSchema.(map[string]any)
		props, _ := schema["properties"].(map[string]any)
		for p, v := range props {
			assert.NotEmpty(t, v.(map[string]any)["description"], "%s.%s has no description", name, p)
		}
	}

	start := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "schema.go", "options": map[string]any{"k": "v"}}))
	calls := []struct {
		tool string
		args map[string]any
	}{
		{server.ToolSearchStandards, map[string]any{"query": "error handling", "n_results": 2}},
		{server.ToolSearchStandards, map[string]any{"query": "zzzxqv nothing matches this"}},
		{server.ToolListWorkflows, nil},
		{server.ToolGetCurrentPhase, map[string]any{"session_id": start.ID}},
		{server.ToolGetTask, map[string]any{"session_id": start.ID, "phase": 1, "task_number": 0}},
		{server.ToolCompletePhase, map[string]any{"session_id": start.ID, "phase": 1, "evidence": map[string]any{}}},
		{server.ToolGetErrors, map[string]any{"session_id": start.ID}},
		{server.ToolRetryPhase, map[string]any{"session_id": start.ID, "phase": 1}},
		{server.ToolCompletePhase, map[string]any{"session_id": start.ID, "phase": 1, "evidence": validRepro()}},
		{server.ToolPauseSession, map[string]any{"session_id": start.ID, "reason": "lunch"}},
		{server.ToolResumeSession, map[string]any{"session_id": start.ID}},
		{server.ToolRollbackSession, map[string]any{"session_id": start.ID, "to_phase": 1}},
		{server.ToolGetErrors, map[string]any{"session_id": start.ID, "phase": 1}},
		{server.ToolGetWorkflowState, map[string]any{"session_id": start.ID}},
		{server.ToolListSessions, map[string]any{"status": "all"}},
		{server.ToolGetServerInfo, nil},
		{server.ToolCurrentDate, nil},
		{server.ToolPosWorkflow, map[string]any{"action": "get_state", "session_id": start.ID}},
		{server.ToolReindexStandards, nil},
		{server.ToolDeleteSession, map[string]any{"session_id": start.ID}},
	}
	for _, c := range calls {
		res := mustOK(t, cs, c.tool, c.args)
		assert.NotNil(t, res.StructuredContent, c.tool)
		assert.NotEmpty(t, textOf(res), "%s: text fallback", c.tool)
	}
	res := callTool(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": start.ID})
	assert.True(t, res.IsError, "the session was deleted")
}

// TestDiscoveryFile: written with mode 0600 once HTTP listens, removed at
// shutdown.
func TestDiscoveryFile(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, http: true, token: testToken})
	path := filepath.Join(h.stateDir, server.DiscoveryFileName)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	d, err := server.ReadDiscovery(path)
	require.NoError(t, err)
	assert.Equal(t, h.url, d.URL)
	assert.Equal(t, os.Getpid(), d.PID)
	assert.Equal(t, []string{"stdio", "http"}, d.Transports)
	assert.True(t, d.TokenRequired)
	assert.WithinDuration(t, time.Now(), d.StartedAt, time.Minute)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), testToken, "the token never goes to disk")
	_, err = h.stop()
	require.NoError(t, err)
	assertNoDiscovery(t, h)
}

func assertNoDiscovery(t *testing.T, h *harness) {
	t.Helper()
	_, err := os.Stat(filepath.Join(h.stateDir, server.DiscoveryFileName))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the discovery file is removed at shutdown")
}

// TestMetricsAndHealth: /metrics carries the call counters, latency
// histograms and cache counters; /healthz needs no token.
func TestMetricsAndHealth(t *testing.T) {
	h := startHarness(t, harnessOpts{stdio: true, http: true, token: testToken})
	cs := h.httpClient("metrics", "")
	io := h.stdioClient("metrics-stdio", "")
	for range 3 {
		mustOK(t, cs, server.ToolSearchStandards, map[string]any{"query": "naming conventions"})
	}
	mustOK(t, io, server.ToolListWorkflows, nil)
	callTool(t, io, server.ToolGetTask, map[string]any{})
	base := strings.TrimSuffix(h.url, server.PathMCP)

	status, _, body := rawHTTP(t, http.MethodGet, base+server.PathHealth, nil, nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ok\n", body)

	status, _, _ = rawHTTP(t, http.MethodGet, base+server.PathMetrics, nil, nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _, body = rawHTTP(t, http.MethodGet, base+server.PathMetrics, map[string]string{"Authorization": "Bearer " + testToken}, nil)
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{
		`mcpflow_tool_calls_total{outcome="ok",tool="search_standards",transport="http"} 3`,
		`mcpflow_tool_calls_total{outcome="ok",tool="list_workflows",transport="stdio"} 1`,
		`mcpflow_tool_calls_total{outcome="tool_error",tool="get_task",transport="stdio"} 1`,
		`mcpflow_tool_call_duration_seconds_count{tool="search_standards",transport="http"} 3`,
		`mcpflow_tool_call_duration_seconds_bucket{tool="search_standards",transport="http",le="+Inf"} 3`,
		`mcpflow_cache_hits_total{cache="search_queries"} 2`,
		`mcpflow_cache_misses_total{cache="search_queries"} 1`,
		`mcpflow_cache_loads_total{cache="sessions"}`,
		`mcpflow_cache_coalesced_total{cache="sessions"}`,
		`mcpflow_cache_hit_ratio{cache="search_queries"}`,
		`mcpflow_cache_entries{cache="search_queries"} 1`,
		`mcpflow_http_rejected_total{reason="token"} 1`,
		`mcpflow_build_info{version="test"} 1`,
		`mcpflow_uptime_seconds`,
		`go_goroutines`,
	} {
		assert.Contains(t, body, want)
	}
}
