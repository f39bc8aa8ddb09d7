package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
)

// NewStore returns an empty store for one test; the store is closed at the
// test's cleanup by whoever opened it.
type NewStore func(t *testing.T) state.Store

// NewPair returns two handles on the same, empty, data, as two processes
// would hold them.
type NewPair func(t *testing.T) (state.Store, state.Store)

// Run runs the contract tests against the stores newStore returns, each
// test on a fresh store.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("RecoveryRoundTrip", func(t *testing.T) { testRecoveryRoundTrip(t, newStore(t)) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newStore(t)) })
	t.Run("ConcurrentSharedKeys", func(t *testing.T) {
		for _, n := range goroutineCounts() {
			t.Run(fmt.Sprint(n), func(t *testing.T) { testConcurrentShared(t, newStore(t), n) })
		}
	})
	t.Run("ConcurrentUnsharedKeys", func(t *testing.T) {
		for _, n := range goroutineCounts() {
			t.Run(fmt.Sprint(n), func(t *testing.T) { testConcurrentUnshared(t, newStore(t), n) })
		}
	})
	RunPaging(t, newStore)
}

// RunShared runs the tests that need two handles on the same data.
func RunShared(t *testing.T, newPair NewPair) {
	t.Helper()
	t.Run("SeenByTheOther", func(t *testing.T) {
		a, b := newPair(t)
		testSeenByOther(t, a, b)
	})
	t.Run("ConflictAcrossHandles", func(t *testing.T) {
		a, b := newPair(t)
		testConflictAcross(t, a, b)
	})
	t.Run("ConcurrentSharedKeysAcrossHandles", func(t *testing.T) {
		a, b := newPair(t)
		testConcurrentAcross(t, a, b, 2*runtime.GOMAXPROCS(0)+8)
	})
	RunSharedPaging(t, newPair)
}

func goroutineCounts() []int { return []int{1, runtime.GOMAXPROCS(0), 100} }

// State returns a fully populated active session state with a new id.
func State() *state.SessionState {
	now := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	return &state.SessionState{
		SessionID:       uuid.NewString(),
		WorkflowType:    "bug_fix",
		TargetFile:      "internal/lexer/lexer.go",
		CurrentPhase:    2,
		CompletedPhases: []int{1},
		PhaseArtifacts: map[int]*state.PhaseArtifact{1: {
			PhaseNumber: 1, Evidence: map[string]any{"reproduced": true, "steps": []any{"go test ./..."}, "severity": 2.5},
			Timestamp: now, Attempts: 2, Errors: []string{"severity: must be a whole number"},
		}},
		Checkpoints: map[int]state.CheckpointStatus{1: state.CheckpointPassed, 2: state.CheckpointPending},
		Status:      state.StatusActive,
		CreatedAt:   now,
		UpdatedAt:   now.Add(time.Minute),
		Metadata:    map[string]any{"options": map[string]any{"mode": "strict"}},
	}
}

// clone returns a deep copy of st through a save-shaped round trip of its
// fields that matter here.
func clone(st *state.SessionState) *state.SessionState {
	c := *st
	c.CompletedPhases = append([]int{}, st.CompletedPhases...)
	c.PhaseArtifacts = map[int]*state.PhaseArtifact{}
	for k, a := range st.PhaseArtifacts {
		ac := *a
		c.PhaseArtifacts[k] = &ac
	}
	c.Checkpoints = maps.Clone(st.Checkpoints)
	return &c
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testRoundTrip(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := State()
	v, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	assert.Equal(t, state.Version(1), v)
	got, v, err := s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(1), v)
	assert.Equal(t, st, got)

	// Load accepts the ID in any case and answers with the canonical one.
	got, _, err = s.Load(ctx, strings.ToUpper(st.SessionID))
	require.NoError(t, err)
	assert.Equal(t, st.SessionID, got.SessionID)

	// A completed state, and empty collections.
	done := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "w", TargetFile: "t", CurrentPhase: 0,
		CompletedPhases: []int{}, PhaseArtifacts: map[int]*state.PhaseArtifact{}, Checkpoints: map[int]state.CheckpointStatus{},
		Status: state.StatusCompleted, Metadata: map[string]any{}}
	_, err = s.Save(ctx, done, 0)
	require.NoError(t, err)
	got, _, err = s.Load(ctx, done.SessionID)
	require.NoError(t, err)
	assert.Equal(t, done, got)
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testRecoveryRoundTrip(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := State()
	at := st.CreatedAt.Add(time.Hour)
	st.Paused = true
	st.Recovery = state.Recovery{
		PausedAt:    at,
		PauseReason: "waiting for review",
		FailedAttempts: []state.FailedAttempt{
			{Phase: 2, Attempt: 1, Errors: []string{"tests: is required"}, Fields: []string{"note"}, At: at},
			{Phase: 2, Attempt: 2, Errors: []string{}, Fields: []string{}, At: at.Add(time.Second)},
		},
		History: []state.HistoryEntry{
			{Phase: 1, Reason: state.HistoryRollback, At: at, Checkpoint: state.CheckpointPassed, Artifact: &state.PhaseArtifact{PhaseNumber: 1, Evidence: map[string]any{"x": "y"}, Timestamp: at, Attempts: 1}},
			{Phase: 2, Reason: state.HistoryRetry, At: at, Checkpoint: state.CheckpointFailed},
		},
	}
	v, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	got, _, err := s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, st, got, "the paused flag and the recovery record read back as saved")
	assert.NotContains(t, got.Metadata, "paused", "in memory, the typed fields hold them")

	// Resumed and cleared: nothing of it is left.
	next := clone(got)
	next.Paused, next.Recovery = false, state.Recovery{}
	_, err = s.Save(ctx, next, v)
	require.NoError(t, err)
	got, _, err = s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.False(t, got.Paused)
	assert.Equal(t, state.Recovery{}, got.Recovery)
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testVersions(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	_, err = s.Save(ctx, st, 0)
	require.ErrorIs(t, err, state.ErrConflict, "create of an existing session")

	next := clone(st)
	next.CurrentPhase = 3
	v, err := s.Save(ctx, next, 1)
	require.NoError(t, err)
	assert.Equal(t, state.Version(2), v)

	stale := clone(st)
	stale.TargetFile = st.TargetFile
	stale.CurrentPhase = 99
	_, err = s.Save(ctx, stale, 1)
	require.ErrorIs(t, err, state.ErrConflict, "stale version")
	assert.Contains(t, err.Error(), "version 2, expected 1")
	_, err = s.Save(ctx, stale, 5)
	require.ErrorIs(t, err, state.ErrConflict, "version from the future")

	got, v, err := s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(2), v)
	assert.Equal(t, 3, got.CurrentPhase, "the refused saves changed nothing")

	for want := state.Version(3); want <= 6; want++ {
		v, err = s.Save(ctx, next, want-1)
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testNotFound(t *testing.T, s state.Store) {
	ctx := t.Context()
	id := uuid.NewString()
	_, _, err := s.Load(ctx, id)
	require.ErrorIs(t, err, state.ErrNotFound)
	assert.Contains(t, err.Error(), id, "the error names the session")
	require.ErrorIs(t, s.Delete(ctx, id), state.ErrNotFound)
	st := State()
	_, err = s.Save(ctx, st, 3)
	require.ErrorIs(t, err, state.ErrNotFound, "an update of a session that was never created")

	_, err = s.Save(ctx, st, 0)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, st.SessionID))
	_, _, err = s.Load(ctx, st.SessionID)
	require.ErrorIs(t, err, state.ErrNotFound, "a deleted session is not read back")
	_, err = s.Save(ctx, st, 1)
	require.ErrorIs(t, err, state.ErrNotFound, "a deleted session is not written back")
	require.ErrorIs(t, s.Delete(ctx, st.SessionID), state.ErrNotFound)
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testInvalid(t *testing.T, s state.Store) {
	ctx := t.Context()
	for _, id := range []string{"", "../x", "/etc/passwd", "a\x00b", "..", "123E4567-E89B-42D3-A456-426614174000x", "*", "sess:*"} {
		_, _, err := s.Load(ctx, id)
		require.ErrorIs(t, err, state.ErrInvalidArgument, "Load %q", id)
		assert.Contains(t, err.Error(), "session_id")
		require.ErrorIs(t, s.Delete(ctx, id), state.ErrInvalidArgument, "Delete %q", id)
		_, err = s.Save(ctx, &state.SessionState{SessionID: id, WorkflowType: "w"}, 0)
		require.ErrorIs(t, err, state.ErrInvalidArgument, "Save %q", id)
	}
	st := State()
	st.SessionID = strings.ToUpper(st.SessionID)
	_, err := s.Save(ctx, st, 0)
	require.ErrorIs(t, err, state.ErrInvalidArgument, "Save wants the canonical form")
	_, err = s.Save(ctx, State(), -1)
	require.ErrorIs(t, err, state.ErrInvalidArgument, "negative expected version")
	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing was written")
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testIsolation(t *testing.T, s state.Store) {
	ctx := t.Context()
	st := State()
	want := clone(st)
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	// The caller keeps its state: changing it after Save changes nothing.
	st.CurrentPhase = 7
	st.CompletedPhases[0] = 42
	st.Checkpoints[9] = state.CheckpointFailed
	got, _, err := s.Load(ctx, want.SessionID)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	// The caller owns what Load returns: changing it changes nothing.
	got.CurrentPhase = 8
	got.PhaseArtifacts[1].Evidence["reproduced"] = false
	again, _, err := s.Load(ctx, want.SessionID)
	require.NoError(t, err)
	assert.Equal(t, want, again)
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testList(t *testing.T, s state.Store) {
	ctx := t.Context()
	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	ids := map[string]*state.SessionState{}
	for i := range 5 {
		st := State()
		st.TargetFile = fmt.Sprintf("file-%d.go", i)
		if i == 4 {
			st.Status = state.StatusCompleted
		}
		_, err := s.Save(ctx, st, 0)
		require.NoError(t, err)
		ids[st.SessionID] = st
	}
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 5)
	for i := range list {
		sum := &list[i]
		st := ids[sum.SessionID]
		require.NotNil(t, st, "listed %s, which was never saved", sum.SessionID)
		assert.Empty(t, sum.Error)
		assert.Equal(t, state.SessionSummary{
			SessionID: st.SessionID, WorkflowType: st.WorkflowType, TargetFile: st.TargetFile,
			CurrentPhase: st.CurrentPhase, CompletedPhases: st.CompletedPhases, Status: st.Status,
			CreatedAt: st.CreatedAt, UpdatedAt: st.UpdatedAt,
		}, *sum)
	}
	for id := range ids {
		require.NoError(t, s.Delete(ctx, id))
		break
	}
	list, err = s.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 4)
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testCancelled(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	st := State()
	_, err := s.Save(ctx, st, 0)
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = s.Load(t.Context(), st.SessionID)
	require.ErrorIs(t, err, state.ErrNotFound, "a save with a cancelled context wrote nothing")
	require.ErrorIs(t, s.Delete(ctx, st.SessionID), context.Canceled)
}

// testConcurrentShared: n goroutines released together save the same
// version of one session; exactly one wins.
//
//nolint:thelper // a test body run by Run: failures must point at its lines
func testConcurrentShared(t *testing.T, s state.Store, n int) {
	ctx := t.Context()
	st := State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	var wins, conflicts atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			mine := clone(st)
			mine.CurrentPhase = 100 + i
			<-start
			_, err := s.Save(ctx, mine, 1)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, state.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), wins.Load(), "exactly one save of version 1 wins")
	assert.Equal(t, int64(n-1), conflicts.Load())
	_, v, err := s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(2), v)
}

// testConcurrentUnshared: n goroutines each create and update their own
// session; all succeed.
//
//nolint:thelper // a test body run by Run: failures must point at its lines
func testConcurrentUnshared(t *testing.T, s state.Store, n int) {
	ctx := t.Context()
	start := make(chan struct{})
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Go(func() {
			st := State()
			ids[i] = st.SessionID
			<-start
			for want := state.Version(1); want <= 3; want++ {
				st.CurrentPhase = int(want)
				v, err := s.Save(ctx, st, want-1)
				if err != nil || v != want {
					t.Errorf("goroutine %d: save %d: version %d, %v", i, want, v, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		got, v, err := s.Load(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, state.Version(3), v)
		assert.Equal(t, 3, got.CurrentPhase)
	}
}

// visibleWithin bounds how long a save through one handle may take to be
// seen through the other (the Redis store's cross-replica staleness).
const visibleWithin = 2 * time.Second

//nolint:thelper // a test body run by Run: failures must point at its lines
func testSeenByOther(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	st := State()
	_, err := a.Save(ctx, st, 0)
	require.NoError(t, err)
	got, v, err := b.Load(ctx, st.SessionID)
	require.NoError(t, err, "a create is seen by the other handle")
	assert.Equal(t, state.Version(1), v)
	assert.Equal(t, st, got)

	next := clone(st)
	next.CurrentPhase = 3
	_, err = a.Save(ctx, next, 1)
	require.NoError(t, err)
	waitVersion(t, b, st.SessionID, 2)

	require.NoError(t, b.Delete(ctx, st.SessionID))
	deadline := time.Now().Add(visibleWithin)
	for {
		_, _, err := a.Load(ctx, st.SessionID)
		if errors.Is(err, state.ErrNotFound) {
			break
		}
		require.NoError(t, err)
		require.True(t, time.Now().Before(deadline), "a deletion through b is not seen through a after %v", visibleWithin)
		runtime.Gosched()
	}
}

// waitVersion polls s until id reads at version want, failing after
// visibleWithin. A version above want fails at once.
func waitVersion(t *testing.T, s state.Store, id string, want state.Version) {
	t.Helper()
	deadline := time.Now().Add(visibleWithin)
	for {
		_, v, err := s.Load(t.Context(), id)
		require.NoError(t, err)
		require.LessOrEqual(t, v, want)
		if v == want {
			return
		}
		require.True(t, time.Now().Before(deadline), "version %d not seen after %v (still %d)", want, visibleWithin, v)
		runtime.Gosched()
	}
}

//nolint:thelper // a test body run by Run: failures must point at its lines
func testConflictAcross(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	st := State()
	_, err := a.Save(ctx, st, 0)
	require.NoError(t, err)
	_, err = b.Save(ctx, st, 0)
	require.ErrorIs(t, err, state.ErrConflict, "the other handle cannot create it again")
	_, _, err = a.Load(ctx, st.SessionID) // a may now hold it in a cache
	require.NoError(t, err)
	next := clone(st)
	next.CurrentPhase = 5
	_, err = b.Save(ctx, next, 1)
	require.NoError(t, err)
	_, err = a.Save(ctx, st, 1)
	require.ErrorIs(t, err, state.ErrConflict, "a's version is stale, whatever a caches")
	// After a conflict, a reads at least the version that beat it.
	got, v, err := a.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(2), v)
	assert.Equal(t, 5, got.CurrentPhase)
}

// testConcurrentAcross: goroutines on both handles save the same version
// of one session; exactly one wins.
//
//nolint:thelper // a test body run by Run: failures must point at its lines
func testConcurrentAcross(t *testing.T, a, b state.Store, n int) {
	ctx := t.Context()
	st := State()
	_, err := a.Save(ctx, st, 0)
	require.NoError(t, err)
	var wins atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			mine := clone(st)
			mine.CurrentPhase = 100 + i
			<-start
			_, err := s.Save(ctx, mine, 1)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, state.ErrConflict):
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), wins.Load(), "exactly one save of version 1 wins across both handles")
	for _, s := range []state.Store{a, b} {
		waitVersion(t, s, st.SessionID, 2)
	}
}
