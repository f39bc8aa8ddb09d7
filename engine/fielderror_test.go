package engine

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
)

// TestDomainErrorsNameNoToolOrFlag pins the engine speaking MCP and CLI:
// its errors named tools (list_sessions, start_workflow, ...) and flags
// (--state, --root), which only server/ and cmd/ know. They name the field
// at fault, in a FieldError callers can read, and no tool or flag.
func TestDomainErrorsNameNoToolOrFlag(t *testing.T) {
	en := newEnv(t, "")
	ctx := t.Context()
	stateDir := filepath.Join(t.TempDir(), "state")
	lock, err := filestore.LockStateDir(stateDir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lock.Close() })

	call := func(f func() error) error { return f() }
	cases := []struct {
		name  string
		err   error
		kind  error
		field string // "" for an error that is no FieldError
	}{
		{"unknown session", call(func() error {
			_, err := en.State(ctx, state.MustParseSessionID("3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"))
			return err
		}), state.ErrNotFound, "session_id"},
		{"session_id not a UUID", call(func() error { _, err := state.ParseSessionID("nope"); return err }), state.ErrInvalidArgument, "session_id"},
		{"unknown workflow", call(func() error { _, err := en.Start(ctx, MustParseWorkflowName("no_such_flow"), "a.go", nil); return err }), state.ErrNotFound, "workflow_type"},
		{"workflow_type not a name", call(func() error { _, err := ParseWorkflowName("../etc"); return err }), state.ErrInvalidArgument, "workflow_type"},
		{"spec without a project folder", call(func() error {
			_, err := en.Start(ctx, MustParseWorkflowName("spec_execution_v1"), "a.go", map[string]any{"spec_path": ".praxis-os/specs/x"})
			return err
		}), state.ErrNoProjectFolder, "options.spec_path"},
		{"state folder in use", call(func() error { _, err := filestore.LockStateDir(stateDir); return err }), filestore.ErrFolderInUse, ""},
	}
	words := []string{"start_workflow", "list_sessions", "list_workflows", "delete_session", "get_current_phase", "get_workflow_state", "complete_phase", "--"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Error(t, c.err)
			require.ErrorIs(t, c.err, c.kind)
			for _, w := range words {
				assert.NotContains(t, c.err.Error(), w)
			}
			if c.field == "" {
				return
			}
			fe, ok := errors.AsType[*state.FieldError](c.err)
			require.True(t, ok, "%v is no FieldError", c.err)
			assert.Equal(t, c.field, fe.Field)
			assert.Contains(t, c.err.Error(), c.field)
		})
	}
}
