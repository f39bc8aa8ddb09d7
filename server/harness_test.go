package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

// testEvidenceLimit is the engine's evidence limit in these tests, below
// the 1 MiB body limit so that both can be hit separately.
const testEvidenceLimit = 256 << 10

// harnessOpts chooses what a test server serves.
type harnessOpts struct {
	stdio, http bool
	token       string
	workers     int
	shutdown    time.Duration
	logs        io.Writer // nil discards
	stateDir    string    // "" is a fresh temporary folder
	store       state.Store
	workflows   string // "" serves the built-in workflows
	project     string // the project folder gates' checks look in; "" is none
	standards   string // "" serves the built-in standards
	tweak       func(*server.Config)
}

// harness is a real Server on real transports: stdio on in-memory pipes
// and HTTP on 127.0.0.1:0.
type harness struct {
	t        *testing.T
	srv      *server.Server
	eng      *engine.Engine
	ix       *ragcache.Index
	stateDir string
	url      string
	token    string

	// stdinW is what a stdio client writes to; stdoutR is what it reads.
	stdinW  *io.PipeWriter
	stdoutR *io.PipeReader
	stdoutW *io.PipeWriter

	cancel   context.CancelFunc
	serveErr chan error
	stopOnce sync.Once
	err      error
}

func startHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	logs := o.logs
	if logs == nil {
		logs = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := &harness{t: t, stateDir: o.stateDir, token: o.token, serveErr: make(chan error, 1)}
	if h.stateDir == "" {
		h.stateDir = t.TempDir()
	}
	var err error
	h.eng, err = engine.New(engine.Config{StateDir: h.stateDir, Store: o.store, WorkflowsDir: o.workflows, ProjectDir: o.project, MaxEvidenceBytes: testEvidenceLimit, Logger: log.With("component", "engine")})
	require.NoError(t, err)
	h.ix, err = ragcache.Open(t.Context(), ragcache.Config{Dir: o.standards, Logger: log.With("component", "search")})
	require.NoError(t, err)
	cfg := server.Config{
		Engine:          h.eng,
		Index:           h.ix,
		Version:         "test",
		Logger:          log,
		Stdio:           o.stdio,
		Token:           o.token,
		StdioWorkers:    o.workers,
		ShutdownTimeout: o.shutdown,
		ValidateOutput:  true,
		DiscoveryFile:   h.stateDir + "/" + server.DiscoveryFileName,
		WorkflowsDir:    o.workflows,
		// The refusals that the tests read name what the binary names.
		SettingNames: server.BinarySettingNames,
		// The default of 5 s is for production. On a loaded 2-core machine
		// under -race, a client goroutine can be starved between dialing
		// and writing its request long enough for the server to give up
		// on the connection, which the client sees as a reset.
		ReadHeaderTimeout: time.Minute,
	}
	if o.http {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	if o.tweak != nil {
		o.tweak(&cfg)
	}
	h.srv, err = server.New(cfg)
	require.NoError(t, err)
	require.NoError(t, h.srv.Listen())
	h.url = h.srv.URL()

	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	h.stdinW, h.stdoutR, h.stdoutW = stdinW, stdoutR, stdoutW
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		err := h.srv.Serve(ctx, stdinR, stdoutW)
		// The server has stopped writing: let the stdio client see EOF,
		// and end mcp-go's reader, which may still wait on stdin.
		_ = stdoutW.Close()
		_ = stdinR.Close()
		h.serveErr <- err
	}()
	t.Cleanup(func() {
		_, _ = h.stop()
		_ = h.ix.Close()
		_ = h.eng.Close()
	})
	return h
}

// stop cancels Serve and waits for it; it returns Serve's error and how
// long the shutdown took.
func (h *harness) stop() (time.Duration, error) {
	start := time.Now()
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case h.err = <-h.serveErr:
		case <-time.After(10 * time.Second):
			h.err = errors.New("Serve did not return within 10 s of cancel")
		}
		_ = h.stdinW.Close()
	})
	return time.Since(start), h.err
}

// wait waits for Serve to return by itself (stdin EOF).
func (h *harness) wait(timeout time.Duration) error {
	h.stopOnce.Do(func() {
		select {
		case h.err = <-h.serveErr:
		case <-time.After(timeout):
			h.err = errors.New("Serve did not return")
		}
		h.cancel()
	})
	return h.err
}

// stdioClient connects an MCP client over the stdio pipes. Only one per
// harness.
func (h *harness) stdioClient(name, version string) *mcp.ClientSession {
	h.t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1"}, nil)
	cs, err := c.Connect(h.t.Context(), &mcp.IOTransport{Reader: h.stdoutR, Writer: h.stdinW}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(h.t, err)
	return cs
}

// bearer adds the token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// httpClient connects an MCP client over streamable HTTP. version ""
// means the SDK's latest protocol version.
func (h *harness) httpClient(name, version string) *mcp.ClientSession {
	h.t.Helper()
	// 32 connections per client: calls beyond that wait in the client,
	// still concurrent for the caller, without hundreds of sockets.
	tr := &http.Transport{MaxIdleConnsPerHost: 32, MaxConnsPerHost: 32, IdleConnTimeout: 5 * time.Second}
	h.t.Cleanup(tr.CloseIdleConnections)
	var rt http.RoundTripper = tr
	if h.token != "" {
		rt = bearer{token: h.token, base: tr}
	}
	c := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1"}, nil)
	cs, err := c.Connect(h.t.Context(), &mcp.StreamableClientTransport{
		Endpoint:             h.url,
		HTTPClient:           &http.Client{Transport: rt},
		MaxRetries:           -1,
		DisableStandaloneSSE: true,
	}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// callTool calls a tool; it fails the test only on a protocol error.
func callTool(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err, "tool %s: protocol error", name)
	return res
}

// mustOK calls a tool and requires a non-error result.
func mustOK(t *testing.T, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res := callTool(t, cs, name, args)
	require.False(t, res.IsError, "tool %s failed: %s", name, textOf(res))
	return res
}

// textOf joins the text content of a result.
func textOf(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// decode converts a result's structured content into T.
func decode[T any](t *testing.T, res *mcp.CallToolResult) T {
	t.Helper()
	var v T
	require.NotNil(t, res.StructuredContent, "no structured content: %s", textOf(res))
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// serverInfo is the part of get_server_info the tests read.
type serverInfo struct {
	Transports []string `json:"transports"`
	HTTPURL    string   `json:"http_url"`
	Caches     map[string]struct {
		Hits      int64 `json:"hits"`
		Misses    int64 `json:"misses"`
		Loads     int64 `json:"loads"`
		Coalesced int64 `json:"coalesced"`
	} `json:"caches"`
	Index struct {
		Searches int64 `json:"searches"`
	} `json:"index"`
	Tools map[string]map[string]struct {
		Calls      int64 `json:"calls"`
		ToolErrors int64 `json:"tool_errors"`
	} `json:"tools"`
}

func info(t *testing.T, cs *mcp.ClientSession) serverInfo {
	t.Helper()
	return decode[serverInfo](t, mustOK(t, cs, server.ToolGetServerInfo, nil))
}

// validRepro is evidence that passes bug_fix's phase 1 gate.
func validRepro() map[string]any {
	return map[string]any{
		"repro_steps": []any{"run the tests", "see TestX fail"},
		"reproduced":  true,
		"severity":    2,
		"environment": map[string]any{"go": "1.26"},
		"expected":    "TestX passes",
		"actual":      "TestX fails",
	}
}
