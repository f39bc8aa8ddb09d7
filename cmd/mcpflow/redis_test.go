package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
)

// TestStateRedisURLErrors: a bad Redis URL is a command-line mistake that
// names the flag (or variable) and the part of the URL at fault, and
// never shows the password; an unreachable Redis stops the start.
func TestStateRedisURLErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"bad port", nil, []string{"serve", "--state", "redis://localhost:notaport/0"}, 2, []string{"--state", "port"}},
		{"bad db from env", map[string]string{"MCPFLOW_STATE": "redis://localhost:6379/one"}, []string{"serve"}, 2, []string{"MCPFLOW_STATE", "db"}},
		{"unknown parameter", nil, []string{"serve", "--state", "redis://u:hunter2@localhost:6379/0?ttl=1h"}, 2, []string{"--state", "ttl", "xxxxx"}},
		{"unreachable", nil, []string{"serve", "--transport", "http", "--http", "127.0.0.1:0", "--state", "redis://127.0.0.1:1/0?timeout=300ms"}, 1, []string{"--state", "127.0.0.1:1", "unavailable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, c.env, "", append(c.args, "--root", t.TempDir())...)
			assert.Equal(t, c.code, code, errOut)
			for _, w := range c.want {
				assert.Contains(t, errOut, w)
			}
			assert.NotContains(t, errOut, "hunter2")
		})
	}
}

// TestServeWithRedisState runs "serve --transport stdio" with MCPFLOW_STATE
// set to a Redis URL: the session goes to Redis, no state folder is
// created, and get_server_info names the Redis store with its counters.
func TestServeWithRedisState(t *testing.T) {
	srv := redistest.Start(t)
	root := t.TempDir()
	script := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"script","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflow_type":"bug_fix","target_file":"x.go"}}}`,
	}, "\n") + "\n"
	env := map[string]string{"MCPFLOW_TRANSPORT": "stdio", "MCPFLOW_STATE": srv.URL(0, "cmdtest")}
	code, out, errOut := runCmd(t, env, script, "serve", "--root", root)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"resumed":false`)
	assert.Contains(t, errOut, `state="redis://`+srv.Addr+`/0?prefix=cmdtest:"`)
	_, err := os.Stat(filepath.Join(root, ".mcpflow", "state"))
	assert.True(t, os.IsNotExist(err), "no state folder in Redis mode")

	// A second process on the same Redis resumes the session the first
	// one started, and reports the Redis store.
	script = strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"script","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflow_type":"bug_fix","target_file":"x.go"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_server_info","arguments":{}}}`,
	}, "\n") + "\n"
	code, out, errOut = runCmd(t, env, script, "serve", "--root", root)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"resumed":true`)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	found := false
	for sc.Scan() {
		var m struct {
			ID     int `json:"id"`
			Result struct {
				Structured struct {
					StateStore struct {
						Kind  string         `json:"kind"`
						Redis map[string]any `json:"redis"`
					} `json:"state_store"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		if m.ID == 3 {
			found = true
			assert.Equal(t, "redis", m.Result.Structured.StateStore.Kind)
			assert.Contains(t, m.Result.Structured.StateStore.Redis, "cas_conflicts")
			assert.Contains(t, m.Result.Structured.StateStore.Redis, "invalidations")
		}
	}
	assert.True(t, found, "get_server_info answered")
}
