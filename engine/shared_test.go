package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// sharedFileStore is a FileStore seen as a SharedStore: LoadNewer reads the
// file and says when the version did not move. Two engines on one make
// two processes on one shared store.
type sharedFileStore struct {
	*starterStore
	newer, unchanged int
}

var _ state.SharedStore = (*sharedFileStore)(nil)

func (s *sharedFileStore) LoadNewer(ctx context.Context, id state.SessionID, have state.Version) (*state.SessionState, state.Version, error) {
	st, ver, err := s.Load(ctx, id.String())
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ver == have {
		s.unchanged++
		return nil, ver, nil
	}
	s.newer++
	return st, ver, nil
}

// TestSharedStoreIsAskedBeforeEveryCall: with a SharedStore, an engine
// that holds a session in memory serves what another engine saved since,
// on the very next call, and decides a CompletePhase on it.
func TestSharedStoreIsAskedBeforeEveryCall(t *testing.T) {
	wf := demoWorkflows(t)
	base := newEnv(t, wf)
	shared := &sharedFileStore{starterStore: &starterStore{countingStore: base.store}}
	a := newEnv(t, wf, func(c *Config) { c.Store = shared })
	b := newEnv(t, wf, func(c *Config) { c.Store = shared })
	ctx := t.Context()
	r, err := a.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	st, err := b.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	require.Equal(t, 0, st.CurrentPhase)

	_, err = a.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	st, err = b.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, 1, st.CurrentPhase, "b serves a's save at once")
	_, err = b.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 4})
	require.ErrorIs(t, err, state.ErrAlreadyCompleted, "b decides on the store's version")
	assert.Zero(t, b.Conflicts().Retries, "no conflict: b knew the version before saving")
	assert.Positive(t, shared.unchanged, "an unchanged version is not decoded again")
	assert.Positive(t, shared.newer)

	require.NoError(t, a.DeleteSession(ctx, state.MustParseSessionID(r.SessionID)))
	_, err = b.State(ctx, state.MustParseSessionID(r.SessionID))
	require.ErrorIs(t, err, state.ErrNotFound, "a deletion by another process is seen")
	_, cached := b.sessions.Get(r.SessionID)
	assert.False(t, cached)
}

// TestConflictCounters: a save that another process overtook is retried
// on the re-read state and counted.
func TestConflictCounters(t *testing.T) {
	wf := demoWorkflows(t)
	a := newEnv(t, wf)
	b := newEnvAt(t, wf, a.stateDir)
	ctx := t.Context()
	r, err := a.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	_, err = b.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	_, err = a.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, map[string]any{})
	require.NoError(t, err)
	_, err = b.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, map[string]any{}) // b's copy is stale
	require.NoError(t, err)
	assert.Equal(t, ConflictStats{Retries: 1}, b.Conflicts())
	st, err := b.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, 2, st.PhaseArtifacts[0].Attempts, "both submissions recorded")
}

// TestSessionLockHonoursContext: a call waiting for a session that another
// call holds (a save stalled in the store) returns at its own deadline.
func TestSessionLockHonoursContext(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	s, err := en.lookup(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	s.mu.Lock() // a mutation in progress
	defer s.mu.Unlock()
	for name, call := range map[string]func(context.Context) error{
		"State": func(c context.Context) error {
			_, err := en.State(c, state.MustParseSessionID(r.SessionID))
			return err
		},
		"CompletePhase": func(c context.Context) error {
			_, err := en.CompletePhase(c, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
			return err
		},
		"DeleteSession": func(c context.Context) error { return en.DeleteSession(c, state.MustParseSessionID(r.SessionID)) },
	} {
		// The context is still live when the call starts, so the call
		// gets as far as the session's lock and waits there.
		c, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		began := time.Now()
		err := call(c)
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.Less(t, time.Since(began), time.Second, name)
	}
	en.touch(r.SessionID, s) // skips a locked session instead of waiting
}

func TestCtxMutex(t *testing.T) {
	var m ctxMutex
	require.True(t, m.TryLock())
	require.False(t, m.TryLock())
	c, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	require.ErrorIs(t, m.LockContext(c), context.DeadlineExceeded)
	m.Unlock()
	require.NoError(t, m.LockContext(t.Context()))
	got := make(chan error, 1)
	go func() { got <- m.LockContext(t.Context()) }()
	m.Unlock() // hands the lock to the waiter
	require.NoError(t, <-got)
	m.Unlock()
	assert.Panics(t, m.Unlock, "unlock of an unlocked mutex")
}
