package redisstore_test

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
)

// twoReplicas returns two engines, each with its own Redis store, on one
// prefix of the shared server: two mcpflow processes in miniature.
func twoReplicas(t *testing.T) (a, b *engine.Engine, sa, sb *redisstore.Store) {
	t.Helper()
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	sa = open(t, srv, redisstore.Options{Prefix: prefix})
	sb = open(t, srv, redisstore.Options{Prefix: prefix})
	return newEngine(t, sa), newEngine(t, sb), sa, sb
}

// TestReplicasStartOnePairOnce: goroutines on two replicas start the same
// pair: one session, one creator.
func TestReplicasStartOnePairOnce(t *testing.T) {
	a, b, _, _ := twoReplicas(t)
	const n = 32
	results := make([]*engine.StartResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			<-start
			r, err := e.Start(t.Context(), engine.MustParseWorkflowName("bug_fix"), "internal/lexer/lexer.go", nil)
			if err != nil {
				t.Errorf("start %d: %v", i, err)
				return
			}
			results[i] = r
		})
	}
	close(start)
	wg.Wait()
	fresh := 0
	for i, r := range results {
		require.NotNil(t, r, "start %d", i)
		assert.Equal(t, results[0].SessionID, r.SessionID)
		if !r.Resumed {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh)
}

// TestReplicasAdvanceExactlyOnce: clients on two replicas complete the
// same phase at once: exactly one advance; the others are told the phase
// is already completed. Then many failing submissions from both: every
// submission that returned is recorded exactly once, none is lost.
func TestReplicasAdvanceExactlyOnce(t *testing.T) {
	a, b, _, _ := twoReplicas(t)
	ctx := t.Context()
	r, err := a.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "x.go", nil)
	require.NoError(t, err)
	id := r.SessionID
	_, err = b.State(ctx, state.MustParseSessionID(id)) // B holds the session too
	require.NoError(t, err)

	const n = 32
	var advanced, already atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			<-start
			res, err := e.CompletePhase(ctx, state.MustParseSessionID(id), 1, clientEvidence(i))
			switch {
			case err == nil && res.PhaseCompleted:
				advanced.Add(1)
			case errors.Is(err, state.ErrAlreadyCompleted):
				already.Add(1)
				assert.Contains(t, err.Error(), "already completed")
			default:
				t.Errorf("client %d: %v, %+v", i, err, res)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int64(1), advanced.Load(), "exactly one advance")
	assert.Equal(t, int64(n-1), already.Load())

	var recorded, conflicted atomic.Int64
	start = make(chan struct{})
	for i := range n {
		e := a
		if i%2 == 1 {
			e = b
		}
		wg.Go(func() {
			<-start
			res, err := e.CompletePhase(ctx, state.MustParseSessionID(id), 2, map[string]any{"root_cause": "x"})
			switch {
			case err == nil && !res.CheckpointPassed:
				recorded.Add(1)
			case errors.Is(err, state.ErrConflict):
				conflicted.Add(1) // gave up after the bounded retries: not recorded
			default:
				t.Errorf("client %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, e := range []*engine.Engine{a, b} {
		st, err := e.State(ctx, state.MustParseSessionID(id))
		require.NoError(t, err)
		assert.Equal(t, []int{1}, st.CompletedPhases)
		assert.Equal(t, int(recorded.Load()), st.PhaseArtifacts[2].Attempts, "every recorded submission counted once, none lost")
	}
	ca, cb := a.Conflicts(), b.Conflicts()
	t.Logf("%d submissions recorded, %d gave up; engine retries A %d, B %d", recorded.Load(), conflicted.Load(), ca.Retries, cb.Retries)
	assert.Equal(t, conflicted.Load(), ca.GaveUp+cb.GaveUp)
}

// TestReplicasSeeEachOther: an advance on replica A is shown by replica B,
// which had the session in memory, within a bound; a deletion on A is
// seen by B; B never shows an older state after a newer one.
func TestReplicasSeeEachOther(t *testing.T) {
	a, b, _, sb := twoReplicas(t)
	ctx := t.Context()
	const rounds = 100
	const bound = 500 * time.Millisecond
	lags := make([]time.Duration, 0, rounds)
	for round := range rounds {
		r, err := a.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "see-"+time.Now().String()+".go", nil)
		require.NoError(t, err)
		st, err := b.State(ctx, state.MustParseSessionID(r.SessionID))
		require.NoError(t, err)
		require.Equal(t, 1, st.CurrentPhase)
		_, err = a.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, passEvidence())
		require.NoError(t, err)
		acked := time.Now()
		for {
			st, err := b.State(ctx, state.MustParseSessionID(r.SessionID))
			require.NoError(t, err)
			if st.CurrentPhase == 2 {
				break
			}
			require.Less(t, time.Since(acked), bound, "round %d: B still on phase %d", round, st.CurrentPhase)
			runtime.Gosched()
		}
		lags = append(lags, time.Since(acked))
		if round%10 == 0 {
			require.NoError(t, a.DeleteSession(ctx, state.MustParseSessionID(r.SessionID)))
			waitFor(t, bound, "B sees the deletion", func() bool {
				_, err := b.State(ctx, state.MustParseSessionID(r.SessionID))
				return errors.Is(err, state.ErrNotFound)
			})
		}
	}
	slices.Sort(lags)
	t.Logf("engine B showed engine A's advance after p50 %v, p99 %v, max %v; B's store: %+v",
		lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1], sb.Stats().Invalidations)
}

// TestReplicaReadsItsOwnWrites: after a CompletePhase returns on a replica,
// every read on that replica shows it (no cached read goes back in time).
func TestReplicaReadsItsOwnWrites(t *testing.T) {
	a, _, sa, _ := twoReplicas(t)
	ctx := t.Context()
	r, err := a.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "own.go", nil)
	require.NoError(t, err)
	for i := 1; i <= 50; i++ {
		_, err := a.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, map[string]any{"attempt": i})
		require.NoError(t, err)
		st, err := a.State(ctx, state.MustParseSessionID(r.SessionID))
		require.NoError(t, err)
		require.Equal(t, i, st.PhaseArtifacts[1].Attempts)
	}
	t.Logf("store: %d stale cached reads re-read from Redis", sa.Stats().StaleReadsAvoided)
}
