package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
)

// TestStateFolderInUseNamesTheFlag checks that the remedy of a state
// folder in use, which the engine leaves out, names the flag or the
// environment variable the state folder came from.
func TestStateFolderInUseNamesTheFlag(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	held, err := engine.LockStateDir(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close() })
	_, inUse := engine.LockStateDir(dir)
	require.ErrorIs(t, inUse, engine.ErrFolderInUse)

	flag := func(name string) string { return "--" + name }
	got := withFlagRemedy(fmt.Errorf("--state: %w", inUse), flag)
	require.ErrorIs(t, got, engine.ErrFolderInUse)
	assert.Contains(t, got.Error(), "--state: engine: state folder in use: "+dir)
	assert.Contains(t, got.Error(), "give this one another --state folder (or --state redis://...")

	got = withFlagRemedy(inUse, envName)
	assert.Contains(t, got.Error(), "another MCPFLOW_STATE folder (or MCPFLOW_STATE=redis://...")

	other := errors.New("some other failure")
	assert.Equal(t, other, withFlagRemedy(other, flag), "no remedy for what is not ours")
}
