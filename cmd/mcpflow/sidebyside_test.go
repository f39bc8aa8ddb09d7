package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// defaultHTTP is serve's default --http address.
const defaultHTTP = "127.0.0.1:4242"

// startServe starts "mcpflow serve args..." in root with stdin held open
// (so that stdio stays up), and returns its stdin, its stderr and its URL.
// Cleanup kills it if the test has not stopped it.
func startServe(t *testing.T, bin, root string, args ...string) (*exec.Cmd, io.WriteCloser, *stderrWatch, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--root", root}, args...)...)
	cmd.Env = withoutEnv(os.Environ(), "MCPFLOW_HTTP", "MCPFLOW_TRANSPORT", "MCPFLOW_LOG_FORMAT")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	errs := watchStderr(cmd)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		errs.close()
	})
	url := errs.URL(t)
	return cmd, stdin, errs, url
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, n := range names {
			keep = keep && name != n
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// TestBinaryTwoProjectsOnTheDefaultPort: two projects' servers in the
// default dual mode both start; the one that finds the default port busy
// takes a free loopback port, logs it and names it in server.json, and both
// answer over HTTP. An explicit --http that is busy still fails, naming
// the flag.
func TestBinaryTwoProjectsOnTheDefaultPort(t *testing.T) {
	bin := testutil.Binary(t)
	rootA, rootB := t.TempDir(), t.TempDir()
	// A takes the default port, or falls back itself when something else
	// on this machine holds it; either way B finds it busy.
	cmdA, stdinA, _, urlA := startServe(t, bin, rootA)
	cmdB, stdinB, errsB, urlB := startServe(t, bin, rootB)
	assert.NotEqual(t, urlA, urlB)
	assert.NotEqual(t, "http://"+defaultHTTP+server.PathMCP, urlB)
	assert.Contains(t, urlB, "http://127.0.0.1:", "the fallback port is on loopback")
	assert.Contains(t, errsB.String(), `msg="HTTP address in use (another project's server?); listening on a free port instead" busy=`+defaultHTTP)
	assert.Contains(t, errsB.String(), "transports=dual")

	for _, p := range []struct{ root, url string }{{rootA, urlA}, {rootB, urlB}} {
		d, err := server.ReadDiscovery(filepath.Join(p.root, ".mcpflow", "state", server.DiscoveryFileName))
		require.NoError(t, err)
		assert.Equal(t, p.url, d.URL, "server.json names the port taken")
		assert.Equal(t, []string{"stdio", "http"}, d.Transports)
		web := httpSession(t, p.url, "", false)
		info := toolJSON[struct {
			URL     string            `json:"http_url"`
			Folders map[string]string `json:"folders"`
		}](t, web, server.ToolGetServerInfo, nil)
		assert.Equal(t, p.url, info.URL)
		assert.Equal(t, p.root, info.Folders["root"], "each URL reaches its own project")
	}

	// An address the operator chose does not give way.
	busy := strings.TrimSuffix(strings.TrimPrefix(urlA, "http://"), server.PathMCP)
	out, err := exec.Command(bin, "serve", "--root", t.TempDir(), "--http", busy).CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, string(out), "--http")
	assert.Contains(t, string(out), "address already in use")

	// Closing stdin still stops each one (the IDE is gone).
	for _, s := range []struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
	}{{cmdA, stdinA}, {cmdB, stdinB}} {
		require.NoError(t, s.stdin.Close())
		require.NoError(t, s.cmd.Wait())
	}
}

// TestBinaryServesHTTPWithStdinAtDevNull: "serve </dev/null" (nohup, a
// container without -i) warns and keeps serving HTTP until a signal.
func TestBinaryServesHTTPWithStdinAtDevNull(t *testing.T) {
	bin := testutil.Binary(t)
	root := t.TempDir()
	cmd := exec.Command(bin, "serve", "--root", root, "--http", "127.0.0.1:0")
	cmd.Env = withoutEnv(os.Environ(), "MCPFLOW_TRANSPORT", "MCPFLOW_LOG_FORMAT")
	cmd.Stdin = nil // os/exec connects /dev/null
	errs := watchStderr(cmd)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	url := errs.URL(t)

	web := httpSession(t, url, "", false)
	info := toolJSON[struct {
		Transports []string `json:"transports"`
	}](t, web, server.ToolGetServerInfo, nil)
	assert.Equal(t, []string{"http"}, info.Transports)
	toolJSON[map[string]any](t, web, server.ToolListWorkflows, nil)
	d, err := server.ReadDiscovery(filepath.Join(root, ".mcpflow", "state", server.DiscoveryFileName))
	require.NoError(t, err)
	assert.Equal(t, []string{"http"}, d.Transports)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	logs := errs.close()
	require.NoError(t, err, "exit status; stderr:\n%s", logs)
	assert.Contains(t, logs, `level=WARN msg="stdin is /dev/null, so no IDE can talk over stdio; serving HTTP only" hint="--transport http says so without this warning"`)
	assert.Contains(t, logs, "transports=http")
	assert.Contains(t, logs, `cause="terminated signal received"`, "only the signal stopped it")
}

// TestStdinAbsent tells a stdin without an IDE behind it from one that may
// have one.
func TestStdinAbsent(t *testing.T) {
	null, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer func() { _ = null.Close() }()
	dir := t.TempDir()
	open := func(name, content string) *os.File {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		f, err := os.Open(p)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer func() { _ = r.Close() }()
	require.NoError(t, w.Close()) // a pipe at EOF still counts as an IDE that left
	closed, err := os.Open(os.DevNull)
	require.NoError(t, err)
	require.NoError(t, closed.Close())

	assert.Equal(t, os.DevNull, stdinAbsent(null))
	assert.Equal(t, "an empty file", stdinAbsent(open("empty", "")))
	assert.Empty(t, stdinAbsent(open("requests.jsonl", `{"jsonrpc":"2.0"}`+"\n")), "scripted requests from a file")
	assert.Empty(t, stdinAbsent(r))
	assert.Empty(t, stdinAbsent(strings.NewReader("")), "not a file: the caller knows")
	assert.Contains(t, stdinAbsent(closed), "unreadable")
}
