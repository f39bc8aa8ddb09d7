//go:build linux

package filestore

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailedSaveLeavesNoTempFile pins the leftover temporary file: a save
// whose write fails part-way (here the file size limit, as a full disk
// would) removes its temporary file, and the session's file is untouched.
// The Go runtime ignores SIGXFSZ, so the write returns EFBIG.
func TestFailedSaveLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	s.noSync = true
	ctx := t.Context()
	id := uuid.NewString()
	v, err := s.Save(ctx, sizedState(id, map[string]any{"n": 1}), 0)
	require.NoError(t, err)
	before, err := os.ReadFile(dir + "/" + id + ".json")
	require.NoError(t, err)

	big := sizedState(id, map[string]any{"n": strings.Repeat("x", 64<<10)})
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limit := old
	limit.Cur = 4096
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit))
	_, err = s.Save(ctx, big, v)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old))
	require.ErrorIs(t, err, syscall.EFBIG)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), tempPrefix), "a failed save left %s", e.Name())
	}
	after, err := os.ReadFile(dir + "/" + id + ".json")
	require.NoError(t, err)
	assert.Equal(t, before, after)
	st, ver, err := s.Load(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, v, ver)
	assert.EqualValues(t, 1, st.PhaseArtifacts[0].Evidence["n"])
}
