//go:build unix

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestSpecCheckRefusesAPipe: a tasks.md that is a named pipe is refused
// with its name, never opened and waited on.
func TestSpecCheckRefusesAPipe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spec")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	testutil.MakeFIFO(t, filepath.Join(dir, "tasks.md"))
	var code int
	var errOut string
	testutil.Returns(t, "spec check on a pipe", func() {
		code, _, errOut = runCmd(t, nil, "", "spec", "check", dir)
	})
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `"spec/tasks.md" must be a spec folder holding tasks.md, or a markdown file`)
}
