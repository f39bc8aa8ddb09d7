package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// nestedValue returns an object nested depth levels deep.
func nestedValue(depth int) any {
	var v any = "leaf"
	for range depth {
		v = map[string]any{"k": v}
	}
	return v
}

func sizedState(id string, evidence map[string]any) *state.SessionState {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &state.SessionState{SessionID: id, WorkflowType: "w", TargetFile: "t", CompletedPhases: []int{},
		PhaseArtifacts: map[int]*state.PhaseArtifact{0: {Evidence: evidence, Timestamp: now}},
		Checkpoints:    map[int]state.CheckpointStatus{}, Status: state.StatusActive, CreatedAt: now, UpdatedAt: now, Metadata: map[string]any{}}
}

// TestFileStoreWritesCompactState pins the 200 MB state file: indented
// JSON grows with the square of the nesting depth, so the Store writes
// compact JSON, no larger than the state's own encoding.
func TestFileStoreWritesCompactState(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	id := uuid.NewString()
	st := sizedState(id, map[string]any{"deep": nestedValue(64)})
	_, err = s.Save(t.Context(), st, 0)
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(dir, id+".json"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), "\n", "no indentation, no line breaks")
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, data))
	assert.Len(t, data, compact.Len())
	got, _, err := s.Load(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, st.PhaseArtifacts[0].Evidence, got.PhaseArtifacts[0].Evidence)
}

// TestFileStoreNeverAcknowledgesAnUnreadableSave pins the corrupt session
// after two acknowledged advances: a state over the read limit is refused
// before anything is written, and the saved state stays readable.
func TestFileStoreNeverAcknowledgesAnUnreadableSave(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	s.maxBytes = 4096
	ctx := t.Context()
	id := uuid.NewString()
	v, err := s.Save(ctx, sizedState(id, map[string]any{"a": "small"}), 0)
	require.NoError(t, err)

	_, err = s.Save(ctx, sizedState(id, map[string]any{"a": strings.Repeat("x", 5000)}), v)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "over the store's limit of 4096 bytes")
	assert.Contains(t, err.Error(), "session_id "+id)

	got, ver, err := s.Load(ctx, id)
	require.NoError(t, err, "the last acknowledged state is still readable")
	assert.Equal(t, v, ver)
	assert.Equal(t, "small", got.PhaseArtifacts[0].Evidence["a"])
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file left: the state and the lock file")

	// Exactly at the limit is still a save.
	err = state.CheckStateSize(id, 4096, 4096)
	require.NoError(t, err)
	require.ErrorIs(t, state.CheckStateSize(id, 4097, 4096), state.ErrInvalidArgument)
}

// TestTwoServersOnOneStateFolder pins the duplicate sessions of two
// servers on one folder: the second claim fails naming the folder and the
// holder's PID, and once the first lets go (as the kernel does when its
// process dies, even by SIGKILL) the folder can be claimed again.
func TestTwoServersOnOneStateFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := LockStateDir(dir)
	require.NoError(t, err)
	assert.Equal(t, dir, first.Dir())

	_, err = LockStateDir(dir)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrFolderInUse)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))

	// A Store on the folder is still allowed: the CLI's commands and
	// tests open it beside a server.
	fs, err := New(dir)
	require.NoError(t, err)
	require.NoError(t, fs.Close())

	require.NoError(t, first.Close())
	second, err := LockStateDir(dir)
	require.NoError(t, err, "a released (or dead) holder leaves the folder free")
	require.NoError(t, second.Close())
	_, err = LockStateDir(filepath.Join(dir, ServeLockFileName, "x"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrFolderInUse)
}

// TestFolderInUseBuiltFromParts: the error of a folder in use is a
// state.Error whose Kind is ErrFolderInUse, itself a state.Error, so its
// text is the one clients match, "engine: state folder in use: <dir> is
// used by ...", and state.Message drops the package name without editing
// any text.
func TestFolderInUseBuiltFromParts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := LockStateDir(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Close() })
	_, err = LockStateDir(dir)
	require.ErrorIs(t, err, ErrFolderInUse)
	detail := dir + " is used by another mcpflow server (pid " + strconv.Itoa(os.Getpid()) + ", see " + filepath.Join(dir, ServeLockFileName) + ")"
	assert.Equal(t, "engine: state folder in use: "+detail, err.Error())
	assert.Equal(t, "engine: state folder in use", ErrFolderInUse.Error())
	se, ok := errors.AsType[*state.Error](err)
	require.True(t, ok, "%T is no *state.Error", err)
	assert.Equal(t, ErrFolderInUse, se.Kind)
	assert.Equal(t, "state folder in use: "+detail, state.Message(err))
}
