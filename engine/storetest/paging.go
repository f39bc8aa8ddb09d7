package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// RunPaging runs the ListPage contract: order, filters, limits, and
// cursors that stay valid while sessions are created, saved and deleted,
// also concurrently. It is part of Run.
func RunPaging(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("PageOrderAndFilters", func(t *testing.T) { testPageOrder(t, newStore(t)) })
	t.Run("PageArguments", func(t *testing.T) { testPageArguments(t, newStore(t)) })
	t.Run("PageStableUnderChanges", func(t *testing.T) { testPageStable(t, newStore(t)) })
	t.Run("ConcurrentPaging", func(t *testing.T) { testConcurrentPaging(t, newStore(t)) })
}

// RunSharedPaging runs the ListPage contract across two handles on the
// same data: what one writes, the other's pages show. It is part of
// RunShared.
func RunSharedPaging(t *testing.T, newPair NewPair) {
	t.Helper()
	t.Run("PagesSeeTheOther", func(t *testing.T) {
		a, b := newPair(t)
		testPagesSeeOther(t, a, b)
	})
	t.Run("ConcurrentPagingAcrossHandles", func(t *testing.T) {
		a, b := newPair(t)
		testConcurrentPagingAcross(t, a, b)
	})
}

// pagingBase is the created_at of the first session the paging tests
// save; session i is created i seconds later, except that every fifth one
// shares its predecessor's time, to exercise the ID tie-break.
var pagingBase = time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)

// pagingState returns session i of a paging test.
func pagingState(i int) *state.SessionState {
	st := State()
	st.TargetFile = fmt.Sprintf("file-%03d.go", i)
	sec := i - i/5
	st.CreatedAt = pagingBase.Add(time.Duration(sec) * time.Second)
	st.UpdatedAt = st.CreatedAt.Add(time.Duration(1000-i) * time.Minute) // update order is not list order
	if i%3 == 0 {
		st.Status = state.StatusCompleted
	}
	if i%5 == 1 {
		st.Checkpoints = map[int]state.CheckpointStatus{1: state.CheckpointPassed, 2: state.CheckpointFailed}
	}
	return st
}

// walk reads every page of status with page size limit and returns the
// IDs in the order listed. It fails on a page over the limit and stops
// after bound pages. between, when set, runs after each page but the last,
// with the IDs listed so far.
func walk(t *testing.T, s state.Store, status state.Status, limit, bound int, between func(page int, listed map[string]bool)) []string {
	t.Helper()
	var ids []string
	listed := map[string]bool{}
	q := state.PageQuery{Status: status, Limit: limit}
	for page := 0; ; page++ {
		require.Less(t, page, bound, "the listing never ends")
		p, err := s.ListPage(t.Context(), q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Sessions), limit)
		for i := range p.Sessions {
			ids = append(ids, p.Sessions[i].SessionID)
			listed[p.Sessions[i].SessionID] = true
		}
		if p.Next == nil {
			return ids
		}
		q.After = p.Next
		if between != nil {
			between(page, listed)
		}
	}
}

//nolint:thelper // a test body run by RunPaging: failures must point at its lines
func testPageOrder(t *testing.T, s state.Store) {
	ctx := t.Context()
	const n = 137
	all := make([]*state.SessionState, n)
	for i := range n {
		all[i] = pagingState(i)
		_, err := s.Save(ctx, all[i], 0)
		require.NoError(t, err)
	}
	want := slices.Clone(all)
	slices.SortFunc(want, func(a, b *state.SessionState) int { return state.KeyOfState(a).Compare(state.KeyOfState(b)) })
	var wantAll, wantActive, wantDone, wantFailed []string
	for _, st := range want {
		wantAll = append(wantAll, st.SessionID)
		if st.Status == state.StatusActive {
			wantActive = append(wantActive, st.SessionID)
			if st.Checkpoints[2] == state.CheckpointFailed {
				wantFailed = append(wantFailed, st.SessionID)
			}
		} else {
			wantDone = append(wantDone, st.SessionID)
		}
	}
	require.NotEmpty(t, wantFailed)
	assert.Equal(t, all[n-1].SessionID, wantAll[0], "newest created first")
	for _, limit := range []int{1, 10, 136, 137, state.MaxPageLimit} {
		assert.Equal(t, wantAll, walk(t, s, "", limit, n+2, nil), "limit %d", limit)
	}
	assert.Equal(t, wantActive, walk(t, s, state.StatusActive, 10, n, nil))
	assert.Equal(t, wantDone, walk(t, s, state.StatusCompleted, 10, n, nil))
	assert.Equal(t, wantFailed, walk(t, s, state.StatusGateFailed, 10, n, nil), "active sessions whose last gate attempt failed")
	for _, id := range walk(t, s, state.StatusGateFailed, 3, n, nil) {
		assert.Contains(t, wantFailed, id)
	}

	// A page holds the summaries List holds.
	p, err := s.ListPage(ctx, state.PageQuery{Limit: 3})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 3)
	st := want[0]
	assert.Equal(t, state.Summarize(st), p.Sessions[0])
	require.NotNil(t, p.Next)
	assert.Equal(t, state.KeyOfState(want[2]), *p.Next, "Next is the place of the page's last session")

	// A save moves nothing; a status change moves the session between
	// the filtered listings only.
	done := want[slices.IndexFunc(want, func(x *state.SessionState) bool { return x.Status == state.StatusCompleted })]
	next := clone(done)
	next.Status = state.StatusActive
	next.UpdatedAt = next.UpdatedAt.Add(time.Hour)
	_, err = s.Save(ctx, next, 1)
	require.NoError(t, err)
	assert.Equal(t, wantAll, walk(t, s, "", 10, n, nil))
	active := walk(t, s, state.StatusActive, 10, n, nil)
	assert.Contains(t, active, done.SessionID)
	assert.Len(t, active, len(wantActive)+1)
	assert.NotContains(t, walk(t, s, state.StatusCompleted, 10, n, nil), done.SessionID)

	// A gate that passes again leaves the failed listing; completing a
	// failed session too.
	failedID := wantFailed[0]
	st, v, err := s.Load(ctx, failedID)
	require.NoError(t, err)
	st.Checkpoints[2] = state.CheckpointPassed
	_, err = s.Save(ctx, st, v)
	require.NoError(t, err)
	assert.NotContains(t, walk(t, s, state.StatusGateFailed, 10, n, nil), failedID)
	assert.Len(t, walk(t, s, state.StatusGateFailed, 10, n, nil), len(wantFailed)-1)

	// A paused session lists as paused and no longer as failed; resumed,
	// it is back where it was.
	require.GreaterOrEqual(t, len(wantFailed), 3)
	pauseID := wantFailed[1]
	st, v, err = s.Load(ctx, pauseID)
	require.NoError(t, err)
	st.Paused = true
	v, err = s.Save(ctx, st, v)
	require.NoError(t, err)
	for _, limit := range []int{1, 10} {
		assert.Equal(t, []string{pauseID}, walk(t, s, state.StatusPaused, limit, n, nil), "limit %d", limit)
	}
	assert.NotContains(t, walk(t, s, state.StatusGateFailed, 10, n, nil), pauseID)
	assert.Contains(t, walk(t, s, state.StatusActive, 10, n, nil), pauseID)
	st.Paused = false
	_, err = s.Save(ctx, st, v)
	require.NoError(t, err)
	assert.Empty(t, walk(t, s, state.StatusPaused, 10, n, nil))
	assert.Contains(t, walk(t, s, state.StatusGateFailed, 10, n, nil), pauseID)

	// After the last session: an empty page, and the end.
	last := state.KeyOfState(want[n-1])
	p, err = s.ListPage(ctx, state.PageQuery{After: &last, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, p.Sessions)
	assert.Nil(t, p.Next)
	// A cursor naming a place no session holds still works.
	gap := state.ListKey{Created: state.KeyOfState(want[10]).Created, ID: "ffffffff-ffff-4fff-bfff-ffffffffffff"}
	p, err = s.ListPage(ctx, state.PageQuery{After: &gap, Limit: 1})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 1)
	assert.Equal(t, want[11].SessionID, p.Sessions[0].SessionID)
}

//nolint:thelper // a test body run by RunPaging: failures must point at its lines
func testPageArguments(t *testing.T, s state.Store) {
	ctx := t.Context()
	p, err := s.ListPage(ctx, state.PageQuery{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, p.Sessions, "an empty store")
	assert.Nil(t, p.Next)
	for _, q := range []state.PageQuery{{Limit: 0}, {Limit: -1}, {Limit: state.MaxPageLimit + 1}, {Limit: 1, Status: "halted"}} {
		_, err := s.ListPage(ctx, q)
		require.ErrorIs(t, err, state.ErrInvalidArgument, "%+v", q)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.ListPage(cctx, state.PageQuery{Limit: 1})
	require.ErrorIs(t, err, context.Canceled)
}

// testPageStable: between pages, sessions are created (newer and older
// than the cursor), saved and deleted. Every session present throughout
// is listed exactly once; nothing is listed twice; a deleted session is
// not listed after its deletion.
//
//nolint:thelper // a test body run by RunPaging: failures must point at its lines
func testPageStable(t *testing.T, s state.Store) {
	ctx := t.Context()
	const n = 200
	all := make([]*state.SessionState, n)
	for i := range n {
		all[i] = pagingState(i)
		_, err := s.Save(ctx, all[i], 0)
		require.NoError(t, err)
	}
	deleted := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	var added []string
	got := walk(t, s, "", 10, 3*n, func(page int, listed map[string]bool) {
		// Delete two sessions not listed yet, save (and complete) two
		// others, create one newer than every session and one in the
		// middle of the listing.
		for range 2 {
			i := rng.IntN(n)
			if deleted[all[i].SessionID] || listed[all[i].SessionID] {
				continue
			}
			require.NoError(t, s.Delete(ctx, all[i].SessionID))
			deleted[all[i].SessionID] = true
		}
		for range 2 {
			i := rng.IntN(n)
			if deleted[all[i].SessionID] {
				continue
			}
			st, v, err := s.Load(ctx, all[i].SessionID)
			require.NoError(t, err)
			st.Status = state.StatusCompleted
			st.UpdatedAt = st.UpdatedAt.Add(time.Hour)
			_, err = s.Save(ctx, st, v)
			require.NoError(t, err)
		}
		for _, at := range []time.Time{pagingBase.Add(time.Duration(n+page) * time.Hour), pagingBase.Add(time.Duration(rng.IntN(n)) * time.Second)} {
			st := State()
			st.CreatedAt, st.UpdatedAt = at, at
			_, err := s.Save(ctx, st, 0)
			require.NoError(t, err)
			added = append(added, st.SessionID)
		}
	})
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, c := range seen {
		assert.Equal(t, 1, c, "session %s listed %d times", id, c)
	}
	for _, st := range all {
		if deleted[st.SessionID] {
			assert.Zero(t, seen[st.SessionID], "session %s, deleted before its page, listed", st.SessionID)
		} else {
			assert.Equal(t, 1, seen[st.SessionID], "session %s, present throughout, listed once", st.SessionID)
		}
	}
	saved := map[string]bool{}
	for _, st := range all {
		saved[st.SessionID] = true
	}
	for _, id := range added {
		saved[id] = true
	}
	for id := range seen {
		assert.True(t, saved[id], "listed %s, which was never saved", id)
	}
}

// testConcurrentPaging: writers create, save and delete their own
// sessions while readers walk the whole listing, all released together.
// Each walk lists every stable session (present throughout) exactly once
// and no session twice.
//
//nolint:thelper // a test body run by RunPaging: failures must point at its lines
func testConcurrentPaging(t *testing.T, s state.Store) {
	ctx := t.Context()
	const stable = 150
	stableIDs := saveStable(t, s, stable)
	writers, readers := runtime.GOMAXPROCS(0)+2, runtime.GOMAXPROCS(0)+2
	var walks atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(readers)
	testutil.Release(writers+readers, func(g int) {
		if g >= writers {
			defer wg.Done()
			walks.Add(walkThrice(ctx, t, s, stableIDs, g))
			return
		}
		// A writer churns its own sessions until the readers are done,
		// within a bound.
		for i := 0; i < 100 && (i < 10 || !stop.Load()); i++ {
			st := pagingState(stable + g*1000 + i)
			st.SessionID = uuid.NewString()
			if _, err := s.Save(ctx, st, 0); err != nil {
				t.Errorf("writer %d: create: %v", g, err)
				return
			}
			st.Status = state.StatusCompleted
			if _, err := s.Save(ctx, st, 1); err != nil {
				t.Errorf("writer %d: save: %v", g, err)
				return
			}
			if i%2 == 0 {
				if err := s.Delete(ctx, st.SessionID); err != nil {
					t.Errorf("writer %d: delete: %v", g, err)
					return
				}
			}
		}
	})
	stop.Store(true)
	wg.Wait()
	assert.Equal(t, int64(3*readers), walks.Load())
}

// saveStable creates n sessions through s and returns their IDs: the
// sessions present throughout a concurrent test, which every walk lists.
func saveStable(t *testing.T, s state.Store, n int) map[string]bool {
	t.Helper()
	ids := make(map[string]bool, n)
	for i := range n {
		st := pagingState(i)
		_, err := s.Save(t.Context(), st, 0)
		require.NoError(t, err)
		ids[st.SessionID] = true
	}
	return ids
}

// walkThrice is reader g of a concurrent test: it walks s's listing three
// times, checking each walk (concurrentWalk), and returns the walks that
// passed; the first failure is reported with t.Error and ends it.
func walkThrice(ctx context.Context, t *testing.T, s state.Store, stable map[string]bool, g int) int64 {
	t.Helper()
	var n int64
	for range 3 {
		if err := concurrentWalk(ctx, s, stable, g); err != nil {
			t.Error(err)
			return n
		}
		n++
	}
	return n
}

// concurrentWalk walks the listing once with page size 10 and checks it.
func concurrentWalk(ctx context.Context, s state.Store, stable map[string]bool, g int) error {
	seen := map[string]bool{}
	q := state.PageQuery{Limit: 10}
	for page := range 10_000 {
		p, err := s.ListPage(ctx, q)
		if err != nil {
			return fmt.Errorf("reader %d: page %d: %w", g, page, err)
		}
		for i := range p.Sessions {
			id := p.Sessions[i].SessionID
			if seen[id] {
				return fmt.Errorf("reader %d: session %s listed twice", g, id)
			}
			seen[id] = true
		}
		if p.Next == nil {
			for id := range stable {
				if !seen[id] {
					return fmt.Errorf("reader %d: stable session %s not listed", g, id)
				}
			}
			return nil
		}
		q.After = p.Next
	}
	return fmt.Errorf("reader %d: the listing never ends", g)
}

// testPagesSeeOther: creates, saves and deletes through a are in b's
// pages as soon as they returned.
//
//nolint:thelper // a test body run by RunSharedPaging: failures must point at its lines
func testPagesSeeOther(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	const n = 40
	all := make([]*state.SessionState, n)
	for i := range n {
		all[i] = pagingState(i)
		all[i].Status = state.StatusActive
		_, err := a.Save(ctx, all[i], 0)
		require.NoError(t, err)
	}
	assert.Len(t, walk(t, b, "", 10, n, nil), n)
	assert.Len(t, walk(t, b, state.StatusActive, 10, n, nil), n)
	for i := range 5 {
		require.NoError(t, a.Delete(ctx, all[i].SessionID))
		done := clone(all[n-1-i])
		done.Status = state.StatusCompleted
		_, err := a.Save(ctx, done, 1)
		require.NoError(t, err)
	}
	got := walk(t, b, "", 10, n, nil)
	assert.Len(t, got, n-5)
	for i := range 5 {
		assert.NotContains(t, got, all[i].SessionID, "deleted through a")
	}
	completed := walk(t, b, state.StatusCompleted, 10, n, nil)
	assert.Len(t, completed, 5, "completed through a")
	p, err := b.ListPage(ctx, state.PageQuery{Status: state.StatusCompleted, Limit: 1})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 1)
	assert.Equal(t, state.StatusCompleted, p.Sessions[0].Status, "the summary is the new one")
}

// testConcurrentPagingAcrossHandles: writers on a, readers on b, released
// together; each of b's walks lists every stable session once.
//
//nolint:thelper // a test body run by RunSharedPaging: failures must point at its lines
func testConcurrentPagingAcross(t *testing.T, a, b state.Store) {
	ctx := t.Context()
	const stable = 60
	stableIDs := saveStable(t, a, stable)
	const writers, readers = 2, 2
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(readers)
	testutil.Release(writers+readers, func(g int) {
		if g >= writers {
			defer wg.Done()
			walkThrice(ctx, t, b, stableIDs, g)
			return
		}
		for i := 0; i < 200 && (i < 10 || !stop.Load()); i++ {
			st := pagingState(stable + g*1000 + i)
			if _, err := a.Save(ctx, st, 0); err != nil {
				t.Errorf("writer %d: create: %v", g, err)
				return
			}
			if err := a.Delete(ctx, st.SessionID); err != nil {
				t.Errorf("writer %d: delete: %v", g, err)
				return
			}
		}
	})
	stop.Store(true)
	wg.Wait()
}
