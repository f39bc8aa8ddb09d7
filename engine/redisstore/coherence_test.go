package redisstore_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
)

// TestReadYourWritesWithCachedReads: a store that has the session in its
// client-side cache and then saves it reads the new version at once,
// every time, though the invalidation of its own write arrives after the
// reply. The guard's counter shows how often the cache was behind.
func TestReadYourWritesWithCachedReads(t *testing.T) {
	s := sharedStore(t)
	ctx := t.Context()
	st := storetest.State()
	ver, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	const rounds = 300
	for i := range rounds {
		_, v, err := s.Load(ctx, st.SessionID) // cached from now on
		require.NoError(t, err)
		require.Equal(t, ver, v)
		st.CurrentPhase = i
		ver, err = s.Save(ctx, st, ver)
		require.NoError(t, err)
		got, v, err := s.Load(ctx, st.SessionID)
		require.NoError(t, err)
		require.Equal(t, ver, v, "round %d: the store reads its own write", i)
		require.Equal(t, i, got.CurrentPhase)
	}
	stats := s.Stats()
	t.Logf("%d rounds: %d cached reads were older than the store's own write and were read again (cache hits %d, misses %d)",
		rounds, stats.StaleReadsAvoided, stats.CacheHits, stats.CacheMisses)
	assert.Positive(t, stats.CacheHits, "reads are served from the client-side cache")
}

// TestRawClientCacheIsStaleAfterOwnWrite shows why the guard exists: with
// plain rueidis DoCache, a read right after the same client's write often
// returns the old value, because Redis sends the invalidation after the
// write's reply. It only logs the rate, which depends on scheduling.
func TestRawClientCacheIsStaleAfterOwnWrite(t *testing.T) {
	srv := redistest.Shared(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, ForceSingleClient: true, CacheSizeEachConn: 1 << 20})
	require.NoError(t, err)
	defer c.Close()
	ctx := t.Context()
	key := redistest.Prefix(t) + "k"
	stale := 0
	const rounds = 300
	for i := range rounds {
		require.NoError(t, c.Do(ctx, c.B().Set().Key(key).Value(strconv.Itoa(i)).Build()).Error())
		_, err := c.DoCache(ctx, c.B().Get().Key(key).Cache(), time.Minute).ToString()
		require.NoError(t, err)
		require.NoError(t, c.Do(ctx, c.B().Set().Key(key).Value(strconv.Itoa(i)+"+").Build()).Error())
		v, err := c.DoCache(ctx, c.B().Get().Key(key).Cache(), time.Minute).ToString()
		require.NoError(t, err)
		if v != strconv.Itoa(i)+"+" {
			stale++
		}
	}
	t.Logf("plain DoCache: %d of %d reads right after the client's own write were stale (%.0f%%)", stale, rounds, 100*float64(stale)/rounds)
}

// TestCrossReplicaStaleness measures how long after a save returns on
// replica A a cached read on replica B still serves the old version, and
// asserts a bound on the p99. B reads in a loop; the time until it sees
// the new version is the staleness window.
func TestCrossReplicaStaleness(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	a := open(t, srv, redisstore.Options{Prefix: prefix})
	b := open(t, srv, redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	st := storetest.State()
	ver, err := a.Save(ctx, st, 0)
	require.NoError(t, err)
	const rounds = 300
	const bound = 100 * time.Millisecond
	lags := make([]time.Duration, 0, rounds)
	for i := range rounds {
		_, v, err := b.Load(ctx, st.SessionID) // B caches version ver
		require.NoError(t, err)
		require.Equal(t, ver, v)
		st.CurrentPhase = i
		ver, err = a.Save(ctx, st, ver)
		require.NoError(t, err)
		acked := time.Now()
		deadline := acked.Add(2 * time.Second)
		for {
			_, v, err := b.Load(ctx, st.SessionID)
			require.NoError(t, err)
			if v == ver {
				break
			}
			require.Less(t, v, ver, "B never reads ahead")
			require.True(t, time.Now().Before(deadline), "round %d: B still serves version %d two seconds after A saved %d", i, v, ver)
			runtime.Gosched()
		}
		lags = append(lags, time.Since(acked))
	}
	slices.Sort(lags)
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	stats := b.Stats()
	t.Logf("cross-replica staleness over %d saves: p50 %v, p99 %v, max %v; B: %d invalidations, %d cache hits, %d misses",
		rounds, p50, p99, lags[len(lags)-1], stats.Invalidations, stats.CacheHits, stats.CacheMisses)
	assert.Less(t, p99, bound, "p99 staleness")
	assert.GreaterOrEqual(t, stats.Invalidations, int64(rounds), "B received an invalidation for every save")
}

// TestCacheTTLCapsCachedReads: a cached read is not trusted beyond
// CacheTTL, even without an invalidation (here, a write Redis does not
// track: the key is changed while tracking is off for it... simulated by
// comparing the reply's cache TTL with the cap).
func TestCacheTTLCapsCachedReads(t *testing.T) {
	srv := redistest.Shared(t)
	s := open(t, srv, redisstore.Options{Prefix: redistest.Prefix(t), CacheTTL: 50 * time.Millisecond})
	ctx := t.Context()
	st := storetest.State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	_, _, err = s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	hits := s.Stats().CacheHits
	_, _, err = s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	require.Equal(t, hits+1, s.Stats().CacheHits, "the second read is a cache hit")
	// Wait out the cap with a timer channel: nothing else can be
	// observed, the cache entry simply expires.
	<-time.After(60 * time.Millisecond)
	misses := s.Stats().CacheMisses
	_, _, err = s.Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, misses+1, s.Stats().CacheMisses, "after CacheTTL the read goes to Redis")
}

// TestConflictRaisesTheGuard: after a conflict that reported version N,
// the store never reads below N, though its cache held an older version
// and the invalidation may not have arrived.
func TestConflictRaisesTheGuard(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	a := open(t, srv, redisstore.Options{Prefix: prefix})
	b := open(t, srv, redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	for range 100 {
		st := storetest.State()
		_, err := a.Save(ctx, st, 0)
		require.NoError(t, err)
		_, _, err = a.Load(ctx, st.SessionID) // cached at 1
		require.NoError(t, err)
		_, err = b.Save(ctx, st, 1)
		require.NoError(t, err)
		_, err = a.Save(ctx, st, 1)
		require.ErrorIs(t, err, state.ErrConflict)
		_, v, err := a.Load(ctx, st.SessionID)
		require.NoError(t, err)
		require.Equal(t, state.Version(2), v)
	}
}

// TestDeleteIsSeenAtOnce: a store that deleted a session does not serve
// it from its cache afterwards.
func TestDeleteIsSeenAtOnce(t *testing.T) {
	s := sharedStore(t)
	ctx := t.Context()
	for range 100 {
		st := storetest.State()
		_, err := s.Save(ctx, st, 0)
		require.NoError(t, err)
		_, _, err = s.Load(ctx, st.SessionID)
		require.NoError(t, err)
		require.NoError(t, s.Delete(ctx, st.SessionID))
		_, _, err = s.Load(ctx, st.SessionID)
		require.ErrorIs(t, err, state.ErrNotFound)
	}
}

// TestEveryCallHasADeadline: with Redis paused, each kind of call returns
// an ErrUnavailable error within its deadline (a save gets a second
// deadline to settle its outcome) instead of hanging.
func TestEveryCallHasADeadline(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 300 * time.Millisecond
	s := open(t, srv, redisstore.Options{Timeout: timeout})
	ctx := t.Context()
	st := storetest.State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	srv.Pause(t)
	defer srv.Resume(t)
	calls := map[string]func() error{
		"load": func() error {
			_, _, err := s.Load(ctx, storetest.State().SessionID)
			return err
		},
		"save": func() error {
			_, err := s.Save(ctx, st, 1)
			return err
		},
		"create": func() error {
			_, _, _, err := s.CreateOrResume(ctx, newActive("w", "t"))
			return err
		},
		"delete": func() error { return s.Delete(ctx, st.SessionID) },
		"list": func() error {
			_, err := s.List(ctx)
			return err
		},
	}
	for name, call := range calls {
		began := time.Now()
		err := call()
		took := time.Since(began)
		require.ErrorIs(t, err, redisstore.ErrUnavailable, name)
		assert.Less(t, took, 2*timeout+200*time.Millisecond, "%s returned after %v", name, took)
		t.Logf("%s: %v after %v", name, err, took.Round(time.Millisecond))
	}
	// A caller's own deadline, shorter than Timeout, wins.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, _, err = s.Load(short, storetest.State().SessionID)
	require.Error(t, err)
	assert.Less(t, time.Since(began), timeout)
}

// TestLoadNewer: a caller holding the current version gets no state (no
// decoding); one holding an older version gets the new state.
func TestLoadNewer(t *testing.T) {
	s := sharedStore(t)
	ctx := t.Context()
	st := storetest.State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	got, v, err := s.LoadNewer(ctx, state.MustParseSessionID(st.SessionID), 1)
	require.NoError(t, err)
	assert.Nil(t, got, "version 1 is still current")
	assert.Equal(t, state.Version(1), v)
	st.CurrentPhase = 4
	_, err = s.Save(ctx, st, 1)
	require.NoError(t, err)
	got, v, err = s.LoadNewer(ctx, state.MustParseSessionID(st.SessionID), 1)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, state.Version(2), v)
	assert.Equal(t, 4, got.CurrentPhase)
	_, _, err = s.LoadNewer(ctx, state.MustParseSessionID(storetest.State().SessionID), 1)
	require.ErrorIs(t, err, state.ErrNotFound)
}
