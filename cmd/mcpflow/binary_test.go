package main

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// stderrWatch collects a child's stderr and finds the HTTP URL it logs.
type stderrWatch struct {
	w    *io.PipeWriter
	url  chan string
	mu   sync.Mutex
	text strings.Builder
	done chan struct{}
}

var urlLine = regexp.MustCompile(`msg="serving MCP over streamable HTTP" url=(\S+)`)

func watchStderr(cmd *exec.Cmd) *stderrWatch {
	r, w := io.Pipe()
	s := &stderrWatch{w: w, url: make(chan string, 1), done: make(chan struct{})}
	cmd.Stderr = w
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			s.mu.Lock()
			s.text.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				s.url <- m[1]
			}
		}
	}()
	return s
}

func (s *stderrWatch) URL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-s.url:
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("no HTTP URL logged; stderr:\n%s", s.String())
		return ""
	}
}

func (s *stderrWatch) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// close ends the watcher once the process has exited.
func (s *stderrWatch) close() string {
	_ = s.w.Close()
	<-s.done
	return s.String()
}

func httpSession(t *testing.T, url, version string, sse bool) *mcp.ClientSession {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := mcp.NewClient(&mcp.Implementation{Name: "bin-http", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint: url, HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1, DisableStandaloneSSE: !sse,
	}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolJSON[T any](t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) T {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	require.False(t, res.IsError, "%s: %v", name, res.Content)
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	var v T
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// TestBinaryServesStdioAndHTTP builds mcpflow, runs "serve" in a fresh
// folder (built-in samples), drives it over stdio and HTTP at once, and
// checks that closing stdin stops it with status 0 in under a second.
func TestBinaryServesStdioAndHTTP(t *testing.T) {
	bin := testutil.Binary(t)
	root := t.TempDir()
	addrFile := filepath.Join(root, "addr")
	cmd := exec.Command(bin, "serve", "--http", "127.0.0.1:0", "--addr-file", addrFile, "--log-level", "debug")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MCPFLOW_LOG_FORMAT=text")
	errs := watchStderr(cmd)
	c := mcp.NewClient(&mcp.Implementation{Name: "bin-stdio", Version: "1"}, nil)
	stdio, err := c.Connect(t.Context(), &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	require.NoError(t, err)
	url := errs.URL(t)
	web := httpSession(t, url, "", false)

	started := toolJSON[struct {
		ID    string `json:"session_id"`
		Phase int    `json:"current_phase"`
	}](t, stdio, server.ToolStartWorkflow, map[string]any{"workflow_type": "feature_delivery", "target_file": "bin/feature.go"})
	state := toolJSON[struct {
		ID     string `json:"session_id"`
		Target string `json:"target_file"`
	}](t, web, server.ToolGetWorkflowState, map[string]any{"session_id": started.ID})
	assert.Equal(t, "bin/feature.go", state.Target, "one engine behind both transports")
	hits := toolJSON[struct {
		Results []struct {
			File string `json:"file"`
		} `json:"results"`
	}](t, web, server.ToolSearchStandards, map[string]any{"query": "code review checklist"})
	assert.NotEmpty(t, hits.Results, "the built-in standards are served")
	info := toolJSON[struct {
		Transports []string          `json:"transports"`
		URL        string            `json:"http_url"`
		Folders    map[string]string `json:"folders"`
	}](t, stdio, server.ToolGetServerInfo, nil)
	assert.Equal(t, []string{"stdio", "http"}, info.Transports)
	assert.Equal(t, url, info.URL)
	assert.Equal(t, "builtin", info.Folders["workflows"])

	addr, err := os.ReadFile(addrFile)
	require.NoError(t, err)
	assert.Equal(t, url+"\n", string(addr))
	disc := filepath.Join(root, ".mcpflow", "state", server.DiscoveryFileName)
	d, err := server.ReadDiscovery(disc)
	require.NoError(t, err)
	assert.Equal(t, url, d.URL)
	assert.Equal(t, cmd.Process.Pid, d.PID)
	fi, err := os.Stat(disc)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	begin := time.Now()
	require.NoError(t, stdio.Close(), "closing stdin must end the server with status 0")
	took := time.Since(begin)
	logs := errs.close()
	assert.Less(t, took, time.Second, "exit after stdin EOF")
	assert.Equal(t, 0, cmd.ProcessState.ExitCode())
	_, err = os.Stat(disc)
	require.ErrorIs(t, err, fs.ErrNotExist, "discovery file removed")
	assert.Contains(t, logs, `cause="stdin closed"`)
	assert.Contains(t, logs, `msg="tool call" tool=start_workflow transport=stdio client=bin-stdio session=stdio`)
	assert.Contains(t, logs, `msg="tool call" tool=get_workflow_state transport=http client=bin-http`)
}

// TestBinaryExitsOnSignal: SIGTERM (HTTP only) and SIGINT (dual, stdin
// held open, an HTTP session with its SSE stream open) each stop the
// server with status 0 in under a second.
func TestBinaryExitsOnSignal(t *testing.T) {
	bin := testutil.Binary(t)
	for _, c := range []struct {
		name      string
		transport string
		sig       syscall.Signal
	}{
		{"SIGTERM http", "http", syscall.SIGTERM},
		{"SIGINT dual", "dual", syscall.SIGINT},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			cmd := exec.Command(bin, "serve", "--transport", c.transport, "--http", "127.0.0.1:0", "--root", root)
			stdin, err := cmd.StdinPipe() // held open: only the signal may stop it
			require.NoError(t, err)
			t.Cleanup(func() { _ = stdin.Close() })
			errs := watchStderr(cmd)
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			url := errs.URL(t)
			web := httpSession(t, url, "2025-06-18", true)
			toolJSON[map[string]any](t, web, server.ToolListWorkflows, nil)
			resp, err := http.Get(strings.TrimSuffix(url, server.PathMCP) + server.PathHealth)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)

			begin := time.Now()
			require.NoError(t, cmd.Process.Signal(c.sig))
			err = cmd.Wait()
			took := time.Since(begin)
			logs := errs.close()
			require.NoError(t, err, "exit status; stderr:\n%s", logs)
			assert.Less(t, took, time.Second, "exit after %v", c.sig)
			_, err = os.Stat(filepath.Join(root, ".mcpflow", "state", server.DiscoveryFileName))
			assert.ErrorIs(t, err, fs.ErrNotExist)
		})
	}
}

// TestBinaryRefusalsNameTheFlags checks the words HTTP clients of the
// binary read when they are refused: the server names no flag itself, and
// the binary tells it its flags.
func TestBinaryRefusalsNameTheFlags(t *testing.T) {
	bin := testutil.Binary(t)
	root := t.TempDir()
	cmd := exec.Command(bin, "serve", "--transport", "http", "--http", "127.0.0.1:0", "--root", root, "--token", "tok", "--max-body", "1KiB", "--max-evidence", "1KiB")
	errs := watchStderr(cmd)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		errs.close()
	})
	url := errs.URL(t)
	refused := func(header map[string]string, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer tok")
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
		var got struct {
			Error any `json:"error"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		if e, ok := got.Error.(map[string]any); ok {
			return resp.StatusCode, e["message"].(string)
		}
		msg, _ := got.Error.(string)
		return resp.StatusCode, msg
	}
	for _, c := range []struct {
		name   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{"host", map[string]string{"Host": "evil.example:4242"}, "{}", http.StatusForbidden,
			`Host header "evil.example:4242" is not allowed (DNS rebinding protection); connect to 127.0.0.1 or localhost, or start the server with --allowed-hosts evil.example`},
		{"origin", map[string]string{"Origin": "https://evil.example"}, "{}", http.StatusForbidden,
			`Origin "https://evil.example" is not allowed; only loopback origins are accepted unless the server is started with --allowed-origins https://evil.example`},
		{"token", map[string]string{"Authorization": "Bearer guess"}, "{}", http.StatusUnauthorized,
			`missing or wrong bearer token; send the header "Authorization: Bearer <token>" with the token given to the server by --token or MCPFLOW_TOKEN`},
		{"body", nil, strings.Repeat("x", 2000), http.StatusRequestEntityTooLarge,
			`request body is 2000 bytes; the limit is 1024 bytes (--max-body)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, msg := refused(c.header, c.body)
			assert.Equal(t, c.status, status)
			assert.Equal(t, c.want, msg)
		})
	}
}
