package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCmd runs the command in-process with the given environment and
// stdin, and returns the exit status, stdout and stderr.
func runCmd(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestUsageAndVersion(t *testing.T) {
	code, out, _ := runCmd(t, nil, "", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "mcpflow serve")

	code, _, errOut := runCmd(t, nil, "")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "Usage:")

	code, _, errOut = runCmd(t, nil, "", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown command "frobnicate"`)

	code, out, _ = runCmd(t, nil, "", "version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "mcpflow "), out)

	for _, cmd := range []string{"serve", "search", "workflows", "spec"} {
		code, out, _ = runCmd(t, nil, "", cmd, "--help")
		assert.Equal(t, 0, code, cmd)
		assert.Contains(t, out, "Usage: mcpflow "+cmd, cmd)
		assert.Contains(t, out, "MCPFLOW_ROOT", "%s --help shows the variables", cmd)
		if cmd != "workflows" && cmd != "spec" { // listing and checking log nothing, so they have no log flags
			assert.Contains(t, out, "MCPFLOW_LOG_LEVEL", "%s --help shows the variables", cmd)
		}
	}
	code, out, _ = runCmd(t, nil, "", "help", "serve")
	assert.Equal(t, 0, code)
	for _, flagName := range []string{"--transport", "--http", "--addr-file", "--root", "--workflows", "--standards", "--state", "--token", "--log-level", "--stdio-workers"} {
		assert.Contains(t, out, flagName)
	}
	assert.Contains(t, out, "MCPFLOW_STDIO_WORKERS")
}

// TestStartupErrorsNameTheFlag: every mistake is reported with the flag,
// variable or folder at fault, before anything is served.
func TestStartupErrorsNameTheFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"unknown flag", nil, []string{"serve", "--bogus"}, 2, "unknown flag --bogus"},
		{"bad transport", nil, []string{"serve", "--transport", "grpc"}, 2, "--transport: must be one of stdio, http, dual"},
		{"bad transport in env", map[string]string{"MCPFLOW_TRANSPORT": "grpc"}, []string{"serve"}, 2, `MCPFLOW_TRANSPORT="grpc"`},
		{"workers out of range", nil, []string{"serve", "--stdio-workers", "0"}, 2, "--stdio-workers 0: must be 1 to 100"},
		{"workers from env", map[string]string{"MCPFLOW_STDIO_WORKERS": "500"}, []string{"serve"}, 2, "MCPFLOW_STDIO_WORKERS 500"},
		{"flag beats env", map[string]string{"MCPFLOW_STDIO_WORKERS": "500"}, []string{"serve", "--stdio-workers", "0"}, 2, "--stdio-workers 0"},
		{"public address without token", nil, []string{"serve", "--http", "0.0.0.0:4242"}, 2, "--http 0.0.0.0:4242"},
		{"address without port", nil, []string{"serve", "--http", "127.0.0.1"}, 2, "--http 127.0.0.1"},
		{"bad size", nil, []string{"serve", "--max-body", "lots"}, 2, "--max-body"},
		{"evidence over body", nil, []string{"serve", "--max-body", "4KiB", "--max-evidence", "1MiB"}, 2, "--max-evidence 1048576"},
		{"bad duration", nil, []string{"serve", "--session-ttl", "soon"}, 2, "--session-ttl"},
		{"missing root", nil, []string{"serve", "--root", "/no/such/folder"}, 1, "--root /no/such/folder: no such folder"},
		{"root is a file", nil, []string{"serve", "--root", file}, 1, "not a folder"},
		{"missing workflows", nil, []string{"serve", "--workflows", "/no/such/wf"}, 1, "--workflows /no/such/wf: no such folder"},
		{"missing standards", map[string]string{"MCPFLOW_STANDARDS": "/no/such/std"}, []string{"search", "x"}, 1, "/no/such/std: no such folder"},
		{"state under a file", nil, []string{"serve", "--state", file + "/state"}, 1, "state folder"},
		{"serve positional", nil, []string{"serve", "now"}, 2, `unexpected argument "now"`},
		{"search without query", nil, []string{"search"}, 2, "no query"},
		{"search limit", nil, []string{"search", "--limit", "0", "x"}, 2, "--limit 0"},
		{"search phase", nil, []string{"search", "--phase", "two", "x"}, 2, "--phase"},
		{"workflows two dirs", nil, []string{"workflows", "a", "b"}, 2, "one DIR at most"},
		{"workflows missing dir", nil, []string{"workflows", "/no/such/dir"}, 1, "DIR /no/such/dir: no such folder"},
		{"workflows takes no log flags", nil, []string{"workflows", "--log-level", "debug"}, 2, "unknown flag --log-level"},
		{"workflows log level from the environment is ignored", map[string]string{"MCPFLOW_LOG_LEVEL": "shout"}, []string{"workflows", "/no/such/dir"}, 1, "DIR /no/such/dir: no such folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, c.env, "", c.args...)
			assert.Equal(t, c.code, code, errOut)
			assert.Contains(t, errOut, c.want)
		})
	}
}

func TestSearchCommand(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "", "search", "regression", "test", "--limit", "2")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "1. engineering/testing.md")
	assert.Contains(t, out, "score ")
	assert.Contains(t, out, "2 result(s)")

	code, out, errOut = runCmd(t, map[string]string{"MCPFLOW_LIMIT": "1"}, "", "search", "--json", "error handling")
	require.Equal(t, 0, code, errOut)
	var r struct {
		Chunks []struct {
			File    string  `json:"file"`
			Section string  `json:"section"`
			Score   float64 `json:"score"`
		} `json:"chunks"`
		Method string `json:"method"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Chunks, 1, "MCPFLOW_LIMIT applies")
	assert.Equal(t, "bm25", r.Method)
	assert.NotEmpty(t, r.Chunks[0].File)

	// A project's own standards replace the samples.
	root := t.TempDir()
	std := filepath.Join(root, ".mcpflow", "standards")
	require.NoError(t, os.MkdirAll(std, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(std, "house.md"), []byte("# House rules\n\nWe name goroutines after their owner.\n"), 0o600))
	code, out, errOut = runCmd(t, nil, "", "search", "--root", root, "goroutines owner")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "house.md")
}

func TestWorkflowsCommand(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "", "workflows")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "bug_fix")
	assert.Contains(t, out, "feature_delivery")
	assert.Contains(t, out, "no problems")

	// A broken definition: exit 1, and the problem names the file.
	dir := t.TempDir()
	wf := filepath.Join(dir, "broken")
	require.NoError(t, os.MkdirAll(filepath.Join(wf, "phases", "1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(wf, "metadata.json"), []byte(`{"workflow_type": "broken", "phases": [{"phase_number": "one"}]}`), 0o600))
	code, out, errOut = runCmd(t, nil, "", "workflows", dir)
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, out, "problem(s):")
	assert.Contains(t, out, "broken")
	assert.Contains(t, out, "metadata.json")

	code, out, _ = runCmd(t, nil, "", "workflows", "--json", dir)
	assert.Equal(t, 1, code)
	var v struct {
		Problems []struct {
			Workflow string `json:"workflow"`
			Field    string `json:"field"`
			Message  string `json:"message"`
		} `json:"problems"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.NotEmpty(t, v.Problems)
	assert.Equal(t, "broken", v.Problems[0].Workflow)
}

// TestServeStdioInProcess runs "serve --transport stdio" with a scripted
// stdin: stdout must hold only JSON-RPC, one message per line, and the
// command exits 0 when stdin ends, after answering every request.
func TestServeStdioInProcess(t *testing.T) {
	root := t.TempDir()
	script := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"script","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflow_type":"feature_delivery","target_file":"x.go"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search_standards","arguments":{"query":"code review"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_server_info","arguments":{}}}`,
	}, "\n") + "\n"
	code, out, errOut := runCmd(t, map[string]string{"MCPFLOW_TRANSPORT": "stdio", "MCPFLOW_LOG_LEVEL": "debug"}, script, "serve", "--root", root)
	require.Equal(t, 0, code, errOut)
	ids := map[float64]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m struct {
			JSONRPC string         `json:"jsonrpc"`
			ID      float64        `json:"id"`
			Result  map[string]any `json:"result"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "stdout must carry only JSON-RPC: %q", sc.Text())
		assert.Equal(t, "2.0", m.JSONRPC)
		assert.Nil(t, m.Result["isError"], "id %v: %v", m.ID, m.Result)
		ids[m.ID] = true
	}
	assert.Equal(t, map[float64]bool{1: true, 2: true, 3: true, 4: true}, ids, "every request is answered before exit")
	// The script does not wait for the initialize answer, so the client name
	// may not be known yet when a call is logged.
	assert.Contains(t, errOut, `msg="tool call" tool=start_workflow transport=stdio`)
	// The state folder was created under the root, with the session in it.
	entries, err := os.ReadDir(filepath.Join(root, ".mcpflow", "state"))
	require.NoError(t, err)
	assert.NotEmpty(t, entries)
}
