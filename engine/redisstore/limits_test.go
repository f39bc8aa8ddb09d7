package redisstore

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
)

// TestSaveNeverAcknowledgesAnUnreadableState pins acknowledged saves that
// could not be read back: a document over the limit is refused before it
// is sent, and the stored state is untouched.
func TestSaveNeverAcknowledgesAnUnreadableState(t *testing.T) {
	srv := redistest.Shared(t)
	s, err := Open(t.Context(), Options{Addr: srv.Addr, Prefix: redistest.Prefix(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	s.maxDoc = 4096
	assert.Equal(t, state.MaxStateFileBytes, (&Store{}).docLimit(), "the FileStore's read limit by default")

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newState := func(id, note string) *state.SessionState {
		return &state.SessionState{SessionID: id, WorkflowType: "w", TargetFile: "t", CompletedPhases: []int{},
			PhaseArtifacts: map[int]*state.PhaseArtifact{0: {Evidence: map[string]any{"note": note}, Timestamp: now}},
			Checkpoints:    map[int]state.CheckpointStatus{}, Status: state.StatusActive, CreatedAt: now, UpdatedAt: now, Metadata: map[string]any{}}
	}
	ctx := t.Context()
	id := uuid.NewString()
	v, err := s.Save(ctx, newState(id, "small"), 0)
	require.NoError(t, err)

	_, err = s.Save(ctx, newState(id, strings.Repeat("x", 5000)), v)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "over the store's limit of 4096 bytes")

	got, ver, err := s.Load(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, v, ver)
	assert.Equal(t, "small", got.PhaseArtifacts[0].Evidence["note"])

	// A create over the limit is refused the same way.
	_, _, _, err = s.CreateOrResume(ctx, newState(uuid.NewString(), strings.Repeat("y", 5000)))
	require.ErrorIs(t, err, state.ErrInvalidArgument)
}
