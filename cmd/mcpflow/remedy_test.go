package main

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/server"
)

// TestStateFolderInUseNamesTheFlag checks that the remedy of a state
// folder in use, which the engine leaves out, names the flag or the
// environment variable the state folder came from.
func TestStateFolderInUseNamesTheFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	held, err := filestore.LockStateDir(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close() })
	_, inUse := filestore.LockStateDir(dir)
	require.ErrorIs(t, inUse, filestore.ErrFolderInUse)

	flag := func(name string) string { return "--" + name }
	got := withFlagRemedy(fmt.Errorf("--state: %w", inUse), flag)
	require.ErrorIs(t, got, filestore.ErrFolderInUse)
	assert.Contains(t, got.Error(), "--state: engine: state folder in use: "+dir)
	assert.Contains(t, got.Error(), "give this one another --state folder (or --state redis://...")

	got = withFlagRemedy(inUse, envName)
	assert.Contains(t, got.Error(), "another MCPFLOW_STATE folder (or MCPFLOW_STATE=redis://...")

	other := errors.New("some other failure")
	assert.Equal(t, other, withFlagRemedy(other, flag), "no remedy for what is not ours")
}

// TestServerErrorsNameTheFlags checks that the errors of the server, which
// name its Config fields, reach the operator with the flags (or the
// environment variables) that set those fields.
func TestServerErrorsNameTheFlags(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = busy.Close() })
	addr := busy.Addr().String()
	root := t.TempDir()
	missing := filepath.Join(root, "no-such-folder", "addr")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"token required", nil, []string{"serve", "--http", "0.0.0.0:4242"}, 2,
			`mcpflow serve: --http 0.0.0.0:4242: HTTP address "0.0.0.0:4242" listens on 0.0.0.0, which is not loopback, and no token is set; set a token (--token or MCPFLOW_TOKEN) or bind to 127.0.0.1` + "\n"},
		{"no port", nil, []string{"serve", "--http", "127.0.0.1"}, 2,
			`mcpflow serve: --http 127.0.0.1: HTTP address "127.0.0.1": address 127.0.0.1: missing port in address; use HOST:PORT such as 127.0.0.1:4242` + "\n"},
		{"address in use", nil, []string{"serve", "--transport", "http", "--root", root, "--http", addr}, 1,
			"mcpflow serve: server: listen on " + addr + " (--http): "},
		{"address in use, from the environment", map[string]string{"MCPFLOW_HTTP": addr}, []string{"serve", "--transport", "http", "--root", root}, 1,
			"mcpflow serve: server: listen on " + addr + " (MCPFLOW_HTTP): "},
		{"address file", nil, []string{"serve", "--transport", "http", "--root", root, "--http", "127.0.0.1:0", "--addr-file", missing}, 1,
			"mcpflow serve: server: write the address file " + missing + " (--addr-file): "},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, c.env, "", c.args...)
			assert.Equal(t, c.code, code, errOut)
			// The error is the last line, after the startup logs.
			lines := strings.SplitAfter(strings.TrimSuffix(errOut, "\n"), "\n")
			last := lines[len(lines)-1]
			if strings.HasSuffix(c.want, "\n") {
				assert.Equal(t, c.want, lines[0])
			} else {
				assert.True(t, strings.HasPrefix(last, c.want), "stderr:\n%s", errOut)
			}
		})
	}
}

// TestConfigProblemDropsTheSentinel checks that a server Config error
// reaches a person at a shell as its problem alone, still matching what
// the problem wraps, and that any other error passes unchanged.
func TestConfigProblemDropsTheSentinel(t *testing.T) {
	_, err := server.New(server.Config{})
	require.ErrorIs(t, err, server.ErrInvalidConfig)
	assert.Equal(t, "Engine is required", configProblem(err).Error())

	err = server.CheckBind("0.0.0.0:4242", "")
	got := configProblem(err)
	assert.Equal(t, `HTTP address "0.0.0.0:4242" listens on 0.0.0.0, which is not loopback, and no token is set`, got.Error())
	require.ErrorIs(t, got, server.ErrTokenRequired)
	require.NotErrorIs(t, got, server.ErrInvalidConfig)

	other := fmt.Errorf("wrapped: %w", errors.New("x"))
	assert.Same(t, other, configProblem(other))
}
