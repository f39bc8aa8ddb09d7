package redisstore_test

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/mcpflow/mcpflow/engine/storetest"
)

// waitFor polls cond every 5 ms until it holds, failing after limit.
// Fault tests wait for real events of a real server and network (a
// connection noticed closed, a PING timing out); no fake clock reaches
// into rueidis or redis-server.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	began := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(began) > limit {
			tb.Fatalf("%s: not after %v", what, limit)
		}
		<-tick.C
	}
	return time.Since(began)
}

// TestFaultRedisRestart: Redis restarts without persistence while two
// replicas hold sessions in their client-side caches. Both reconnect,
// their caches are flushed, no read serves a lost session, the errors say
// that Redis lost its data, and new sessions work at once (the scripts
// reload themselves).
func TestFaultRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	opts := redisstore.Options{Timeout: time.Second, ConnTimeout: time.Second}
	a, b := open(t, srv, opts), open(t, srv, opts)
	ctx := t.Context()
	var ids []string
	for range 3 {
		st, _, _, err := a.CreateOrResume(ctx, newActive("bug_fix", storetest.State().SessionID))
		require.NoError(t, err)
		ids = append(ids, st.SessionID)
		for _, s := range []*redisstore.Store{a, b} {
			for range 2 { // the second read is a cache hit
				_, _, err := s.Load(ctx, st.SessionID)
				require.NoError(t, err)
			}
		}
	}
	flushA, flushB := a.Stats().CacheFlushes, b.Stats().CacheFlushes
	require.Positive(t, b.Stats().CacheHits)

	srv.Restart(t)
	took := waitFor(t, 5*time.Second, "both caches flushed", func() bool {
		return a.Stats().CacheFlushes > flushA && b.Stats().CacheFlushes > flushB
	})
	t.Logf("caches flushed %v after the restart", took)

	for _, s := range []*redisstore.Store{a, b} {
		for _, id := range ids {
			_, _, err := s.Load(ctx, id)
			require.ErrorIs(t, err, state.ErrNotFound, "no stale read of a lost session")
			require.ErrorIs(t, err, redisstore.ErrDataLost)
			assert.Contains(t, err.Error(), "appendonly")
		}
		assert.Positive(t, s.Stats().DataLost)
	}
	lost := &state.SessionState{SessionID: ids[0], WorkflowType: "bug_fix", TargetFile: "x", Status: state.StatusActive}
	_, err := a.Save(ctx, lost, 1)
	require.ErrorIs(t, err, redisstore.ErrDataLost, "an update of a lost session is not written back")
	t.Logf("error after the restart: %v", err)

	st, ver, created, err := b.CreateOrResume(ctx, newActive("bug_fix", "after-restart.go"))
	require.NoError(t, err, "scripts reload after a restart")
	require.True(t, created)
	got, v, err := a.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, ver, v)
	assert.Equal(t, st, got)
}

// passEvidence passes phase 1 of the built-in bug_fix workflow.
// clientEvidence is passEvidence with a note naming client i, so that
// racing clients submit different evidence: the same evidence again is a
// retry, answered as the first call was (engine.CompletePhase).
func clientEvidence(i int) map[string]any {
	ev := passEvidence()
	ev["note"] = fmt.Sprintf("client %d", i)
	return ev
}

func passEvidence() map[string]any {
	return map[string]any{
		"repro_steps": []any{"go test ./internal/lexer -run TestUnterminatedString"},
		"reproduced":  true,
		"severity":    2,
		"environment": map[string]any{"go": "1.26", "os": "linux"},
		"expected":    "an error naming the line",
		"actual":      "a panic: index out of range",
	}
}

// newEngine returns an engine on the built-in workflows over store.
func newEngine(tb testing.TB, store state.Store) *engine.Engine {
	tb.Helper()
	e, err := engine.New(engine.Config{Store: store})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = e.Close() })
	return e
}

// TestFaultPauseDuringRace: clients on two replicas race to complete the
// same phase while Redis is paused (SIGSTOP) for 3 s. Every call returns
// within its deadline (plus the time a save gets to settle its outcome);
// callers retry until they get an answer; the phase advances exactly
// once.
func TestFaultPauseDuringRace(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 800 * time.Millisecond
	opts := redisstore.Options{Timeout: timeout, ConnTimeout: time.Second}
	sa, sb := open(t, srv, opts), open(t, srv, opts)
	ea, eb := newEngine(t, sa), newEngine(t, sb)
	ctx := t.Context()
	start, err := ea.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "internal/lexer/lexer.go", nil)
	require.NoError(t, err)
	id := start.SessionID
	_, err = eb.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)

	const perReplica = 16
	const callDeadline = time.Second
	var advanced, alreadyDone, unavailable, conflicts atomic.Int64
	var slowest atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 * perReplica {
		e := ea
		if i%2 == 1 {
			e = eb
		}
		wg.Go(func() {
			<-release
			for attempt := 0; ; attempt++ {
				if attempt == 50 {
					t.Errorf("client %d: no answer after 50 attempts", i)
					return
				}
				cctx, cancel := context.WithTimeout(ctx, callDeadline)
				began := time.Now()
				res, err := e.CompletePhase(cctx, state.MustParseSessionID(id), 1, clientEvidence(i))
				took := time.Since(began)
				cancel()
				for {
					m := slowest.Load()
					if int64(took) <= m || slowest.CompareAndSwap(m, int64(took)) {
						break
					}
				}
				switch {
				case err == nil:
					if res.PhaseCompleted {
						advanced.Add(1)
					}
					return
				case errors.Is(err, state.ErrAlreadyCompleted):
					alreadyDone.Add(1)
					return
				case errors.Is(err, redisstore.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
					unavailable.Add(1)
				case errors.Is(err, state.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("client %d: %v", i, err)
					return
				}
			}
		})
	}
	close(release)
	srv.Pause(t)
	<-time.After(3 * time.Second) // the pause itself: real time for a real server
	srv.Resume(t)
	wg.Wait()

	st, err := ea.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	t.Logf("advanced %d, already completed %d, unavailable %d, conflicts %d; slowest call %v",
		advanced.Load(), alreadyDone.Load(), unavailable.Load(), conflicts.Load(), time.Duration(slowest.Load()).Round(time.Millisecond))
	assert.Equal(t, []int{1}, st.CompletedPhases, "exactly one advance")
	assert.Equal(t, 2, st.CurrentPhase)
	require.NotNil(t, st.PhaseArtifacts[1])
	assert.Equal(t, 1, st.PhaseArtifacts[1].Attempts, "one submission landed")
	assert.LessOrEqual(t, advanced.Load(), int64(1), "at most one caller was told it advanced the phase")
	assert.Equal(t, int64(2*perReplica), advanced.Load()+alreadyDone.Load(), "every caller got an answer")
	assert.Positive(t, unavailable.Load(), "the pause was felt")
	// A call ends at its deadline, plus the settlement of a save whose
	// reply it lost (at most Timeout): waiting for the session's lock
	// ends with the caller's context too.
	assert.Less(t, time.Duration(slowest.Load()), callDeadline+timeout+300*time.Millisecond, "calls stall within their deadline")
	for _, s := range []*redisstore.Store{sa, sb} {
		st := s.Stats()
		t.Logf("%s: saves %d, conflicts %d, ambiguous %d (landed %d, not landed %d, unknown %d), errors %d",
			s, st.Saves, st.CASConflicts, st.AmbiguousSaves, st.AmbiguousLanded, st.AmbiguousFenced, st.AmbiguousUnknown, st.Errors)
	}
}

// TestFaultPausedSaveLandsAfterTheCallerGaveUp: a save sent while Redis
// is paused times out, and so does the check of its outcome; the caller
// is told the outcome is unknown. When Redis resumes, the queued save may
// run: reading again shows the truth, and never a half-applied state.
func TestFaultPausedSaveLandsAfterTheCallerGaveUp(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv, redisstore.Options{Timeout: 150 * time.Millisecond, ConnTimeout: 2 * time.Second})
	ctx := t.Context()
	landed := 0
	const rounds = 4
	for round := range rounds {
		st := storetest.State()
		_, err := s.Save(ctx, st, 0)
		require.NoError(t, err)
		next := *st
		next.CurrentPhase = 42
		srv.Pause(t)
		_, err = s.Save(ctx, &next, 1)
		srv.Resume(t)
		require.ErrorIs(t, err, redisstore.ErrUnavailable, "round %d", round)
		assert.Contains(t, err.Error(), "may or may not have landed")
		var got *state.SessionState
		waitFor(t, 5*time.Second, "Redis answers again", func() bool {
			got, _, err = s.Load(ctx, st.SessionID)
			return err == nil
		})
		switch got.CurrentPhase {
		case 42:
			landed++
		case st.CurrentPhase:
		default:
			t.Fatalf("round %d: phase %d is neither the old state nor the new one", round, got.CurrentPhase)
		}
	}
	t.Logf("%d of %d saves whose caller gave up during the pause had landed", landed, rounds)
}

// TestFaultPartitionedReplica: a replica cut off from Redis (a TCP proxy
// turned black hole) serves its cache only until its connection's PING
// goes unanswered; then its reads fail instead of serving stale sessions
// forever, though another replica has moved the session on. After the
// partition heals it reads the new version.
func TestFaultPartitionedReplica(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	const connTimeout, readTimeout = time.Second, 500 * time.Millisecond
	a := open(t, srv, redisstore.Options{Addr: proxy.Addr, Timeout: readTimeout, ConnTimeout: connTimeout})
	b := open(t, srv, redisstore.Options{})
	ctx := t.Context()
	st := storetest.State()
	_, err := b.Save(ctx, st, 0)
	require.NoError(t, err)
	for range 2 {
		_, v, err := a.Load(ctx, st.SessionID)
		require.NoError(t, err)
		require.Equal(t, state.Version(1), v)
	}

	proxy.Cut()
	cut := time.Now()
	next := *st
	next.CurrentPhase = 9
	_, err = b.Save(ctx, &next, 1)
	require.NoError(t, err)

	staleReads := 0
	var failedAfter time.Duration
	waitFor(t, 5*time.Second, "reads on the cut-off replica fail", func() bool {
		_, v, err := a.Load(ctx, st.SessionID)
		if err != nil {
			require.ErrorIs(t, err, redisstore.ErrUnavailable)
			failedAfter = time.Since(cut)
			return true
		}
		require.Equal(t, state.Version(1), v)
		staleReads++
		return false
	})
	t.Logf("the cut-off replica served its cached copy %d times, then failed %v after the cut (ConnTimeout %v)", staleReads, failedAfter.Round(time.Millisecond), connTimeout)
	// At most one idle PING interval (ConnTimeout/2) passes before a
	// PING is sent, one more if traffic had just arrived, ConnTimeout for
	// its answer; then the next read tries to reconnect for up to
	// Timeout.
	assert.Less(t, failedAfter, 2*connTimeout+readTimeout+300*time.Millisecond, "bounded by about 2*ConnTimeout + Timeout")
	for range 2 {
		_, _, err := a.Load(ctx, st.SessionID)
		require.ErrorIs(t, err, redisstore.ErrUnavailable, "once failed, it never serves the stale copy again")
	}
	_, err = a.Save(ctx, st, 1)
	require.ErrorIs(t, err, redisstore.ErrUnavailable)

	proxy.Heal()
	var got *state.SessionState
	var v state.Version
	waitFor(t, 5*time.Second, "the healed replica reads again", func() bool {
		got, v, err = a.Load(ctx, st.SessionID)
		return err == nil
	})
	assert.Equal(t, 9, got.CurrentPhase, "after the partition it reads the new version")
	assert.GreaterOrEqual(t, v, state.Version(2))
}

// TestFaultLostReply: a save whose reply is lost after Redis ran it
// succeeds (its write_id is found); one whose request never arrived is
// fenced and reported as a conflict, so the caller reads again, and it
// can never land later. The same holds for creating a session.
func TestFaultLostReply(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	s := open(t, srv, redisstore.Options{Addr: proxy.Addr, Timeout: time.Second})
	c := raw(t, srv.Addr)
	ctx := t.Context()
	st := newActive("bug_fix", "lost.go")
	_, _, _, err := s.CreateOrResume(ctx, st) // loads the create script
	require.NoError(t, err)
	_, err = s.Save(ctx, st, 1) // loads the save script
	require.NoError(t, err)

	// The reply is lost; the save ran.
	next := *st
	next.CurrentPhase = 3
	proxy.LoseNextReply()
	v, err := s.Save(ctx, &next, 2)
	require.NoError(t, err, "settled by write_id: it landed")
	assert.Equal(t, state.Version(3), v)
	assert.Equal(t, int64(1), proxy.Lost.Load())
	stats := s.Stats()
	assert.Equal(t, int64(1), stats.AmbiguousSaves)
	assert.Equal(t, int64(1), stats.AmbiguousLanded)
	got, v, err := s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(3), v)
	assert.Equal(t, 3, got.CurrentPhase)

	// The request is lost; the save never ran and is fenced.
	lost := next
	lost.CurrentPhase = 4
	proxy.LoseNextRequest()
	_, err = s.Save(ctx, &lost, 3)
	require.ErrorIs(t, err, state.ErrConflict)
	assert.Contains(t, err.Error(), "had not landed")
	assert.Equal(t, int64(1), s.Stats().AmbiguousFenced)
	h, err := do(t, c, "HMGET", sessKey("", st.SessionID), "version", "doc").AsStrSlice()
	require.NoError(t, err)
	assert.Equal(t, "4", h[0], "the fence moved the version past the lost save's")
	got, v, err = s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(4), v)
	assert.Equal(t, 3, got.CurrentPhase, "the document is the last one that landed")
	v, err = s.Save(ctx, &lost, 4)
	require.NoError(t, err, "the caller reads again and retries")
	assert.Equal(t, state.Version(5), v)

	// A create whose reply is lost.
	proxy.LoseNextReply()
	st2 := newActive("bug_fix", "lost-create.go")
	got2, ver, created, err := s.CreateOrResume(ctx, st2)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, state.Version(1), ver)
	assert.Equal(t, st2.SessionID, got2.SessionID, "it landed under its id")

	// A create whose request is lost: fenced, retried under a new id.
	proxy.LoseNextRequest()
	st3 := newActive("bug_fix", "lost-create-2.go")
	got3, _, created, err := s.CreateOrResume(ctx, st3)
	require.NoError(t, err)
	assert.True(t, created)
	assert.NotEqual(t, st3.SessionID, got3.SessionID, "the fenced id is not used")
	_, _, err = s.Load(ctx, st3.SessionID)
	require.ErrorIs(t, err, state.ErrNotFound, "the fence marker reads as no session")
	idx, err := do(t, c, "GET", pairKey("", "bug_fix", "lost-create-2.go")).ToString()
	require.NoError(t, err)
	assert.Equal(t, got3.SessionID, idx)
	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 3, "markers are not listed")
	assert.Equal(t, int64(4), proxy.Lost.Load())
}

// TestFaultLostReplyInTheEngine: the engine completes a phase exactly
// once whether the reply of its save or the save itself is lost.
func TestFaultLostReplyInTheEngine(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	s := open(t, srv, redisstore.Options{Addr: proxy.Addr, Timeout: time.Second})
	e := newEngine(t, s)
	ctx := t.Context()
	for _, lose := range []func(){proxy.LoseNextReply, proxy.LoseNextRequest} {
		start, err := e.Start(ctx, engine.MustParseWorkflowName("bug_fix"), storetest.State().SessionID+".go", nil)
		require.NoError(t, err)
		_, err = e.CompletePhase(ctx, state.MustParseSessionID(start.SessionID), 1, map[string]any{}) // a failing submission loads the scripts
		require.NoError(t, err)
		lose()
		res, err := e.CompletePhase(ctx, state.MustParseSessionID(start.SessionID), 1, passEvidence())
		require.NoError(t, err)
		assert.True(t, res.PhaseCompleted)
		st, err := e.State(ctx, state.MustParseSessionID(start.SessionID))
		require.NoError(t, err)
		assert.Equal(t, []int{1}, st.CompletedPhases)
		assert.Equal(t, 2, st.PhaseArtifacts[1].Attempts, "one failing and one passing submission, none twice")
	}
	assert.Equal(t, int64(2), proxy.Lost.Load())
}

// TestRedisOutOfMemoryIsReported: with maxmemory reached and the
// noeviction policy, a save fails with Redis' OOM error, names the
// session, and writes nothing; reads still work.
func TestRedisOutOfMemoryIsReported(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv, redisstore.Options{})
	c := raw(t, srv.Addr)
	ctx := t.Context()
	st := storetest.State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	require.NoError(t, do(t, c, "CONFIG", "SET", "maxmemory-policy", "noeviction").Error())
	require.NoError(t, do(t, c, "CONFIG", "SET", "maxmemory", "1").Error())
	next := *st
	next.CurrentPhase = 7
	_, err = s.Save(ctx, &next, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OOM")
	assert.Contains(t, err.Error(), st.SessionID)
	require.NotErrorIs(t, err, redisstore.ErrUnavailable, "a refusal is not an unknown outcome")
	got, v, err := s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(1), v)
	assert.Equal(t, st.CurrentPhase, got.CurrentPhase)
	_, _, _, err = s.CreateOrResume(ctx, newActive("w", "oom.go"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OOM")
}
