package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/filestore"
)

// TestServeRefusesAStateFolderInUse pins two servers on one state folder
// creating duplicate sessions: serve refuses to start, naming the folder
// and the PID holding it, and starts once it is free.
func TestServeRefusesAStateFolderInUse(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, ".mcpflow", "state")
	held, err := filestore.LockStateDir(state)
	require.NoError(t, err)

	env := map[string]string{"MCPFLOW_TRANSPORT": "stdio"}
	code, out, errOut := runCmd(t, env, "", "serve", "--root", root)
	assert.Equal(t, 1, code, errOut)
	assert.Empty(t, out, "nothing on stdout")
	assert.Contains(t, errOut, "--state: engine: state folder in use: "+state)
	assert.Contains(t, errOut, "pid "+strconv.Itoa(os.Getpid()))

	require.NoError(t, held.Close())
	code, _, errOut = runCmd(t, env, "", "serve", "--root", root)
	assert.Equal(t, 0, code, errOut)
}
