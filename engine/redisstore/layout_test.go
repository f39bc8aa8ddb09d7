package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
)

// do runs a raw command and returns its result.
func do(tb testing.TB, c rueidis.Client, args ...string) rueidis.RedisResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Do(ctx, c.B().Arbitrary(args[0]).Args(args[1:]...).Build())
}

func pairKey(prefix, workflow, target string) string {
	sum := sha256.Sum256([]byte(workflow + "\x00" + target))
	return prefix + "{mcpflow}:v1:active:" + hex.EncodeToString(sum[:16])
}

func sessKey(prefix, id string) string { return prefix + "{mcpflow}:v1:sess:" + id }

func newActive(workflow, target string) *state.SessionState {
	st := storetest.State()
	st.WorkflowType, st.TargetFile = workflow, target
	return st
}

// TestKeyLayout: the keys, their hash tag, the hash fields and the TTLs
// are what docs/state.md documents.
func TestKeyLayout(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	s := open(t, srv, redisstore.Options{Prefix: prefix, SessionTTL: time.Hour})
	c := raw(t, srv.Addr)
	ctx := t.Context()

	st := newActive("bug_fix", "a.go")
	got, ver, created, err := s.CreateOrResume(ctx, st)
	require.NoError(t, err)
	require.True(t, created)
	assert.Equal(t, state.Version(1), ver)
	assert.Equal(t, st, got)

	h, err := do(t, c, "HGETALL", sessKey(prefix, st.SessionID)).AsStrMap()
	require.NoError(t, err)
	assert.Equal(t, "1", h["version"])
	assert.Len(t, h["write_id"], 32)
	assert.True(t, strings.HasPrefix(h["doc"], `{"session_id":"`+st.SessionID+`"`), "compact JSON document: %.60s", h["doc"])
	pk := pairKey(prefix, "bug_fix", "a.go")
	assert.Equal(t, strings.TrimPrefix(pk, prefix+"{mcpflow}:v1:active:"), h["pair"])
	idx, err := do(t, c, "GET", pk).ToString()
	require.NoError(t, err)
	assert.Equal(t, st.SessionID, idx)
	for _, k := range []string{sessKey(prefix, st.SessionID), pk} {
		ttl, err := do(t, c, "PTTL", k).AsInt64()
		require.NoError(t, err)
		assert.InDelta(t, time.Hour.Milliseconds(), ttl, 5000, "%s expires after SessionTTL", k)
		slot, err := do(t, c, "CLUSTER", "KEYSLOT", k).AsInt64()
		if err == nil { // CLUSTER KEYSLOT works outside cluster mode too
			want, _ := do(t, c, "CLUSTER", "KEYSLOT", "{mcpflow}").AsInt64()
			assert.Equal(t, want, slot, "%s is in the {mcpflow} slot", k)
		}
	}

	// A save refreshes both TTLs and writes a new write_id.
	require.NoError(t, do(t, c, "PEXPIRE", pk, "1000000").Error())
	next := *st
	next.CurrentPhase = 3
	_, err = s.Save(ctx, &next, 1)
	require.NoError(t, err)
	h2, err := do(t, c, "HGETALL", sessKey(prefix, st.SessionID)).AsStrMap()
	require.NoError(t, err)
	assert.Equal(t, "2", h2["version"])
	assert.NotEqual(t, h["write_id"], h2["write_id"], "every save carries a fresh write_id")
	ttl, err := do(t, c, "PTTL", pk).AsInt64()
	require.NoError(t, err)
	assert.Greater(t, ttl, int64(1000000), "the pair key's TTL was refreshed")

	// Saving another pair for the session is refused.
	moved := next
	moved.TargetFile = "b.go"
	_, err = s.Save(ctx, &moved, 2)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "target_file")

	// Completing the session releases the pair.
	done := next
	done.Status = state.StatusCompleted
	_, err = s.Save(ctx, &done, 2)
	require.NoError(t, err)
	require.True(t, rueidis.IsRedisNil(do(t, c, "GET", pk).Error()), "the pair key is gone")
	fresh, _, created, err := s.CreateOrResume(ctx, newActive("bug_fix", "a.go"))
	require.NoError(t, err)
	assert.True(t, created, "a completed session's pair is free")
	assert.NotEqual(t, st.SessionID, fresh.SessionID)

	// Deleting the session releases its pair too.
	require.NoError(t, s.Delete(ctx, fresh.SessionID))
	require.True(t, rueidis.IsRedisNil(do(t, c, "GET", pk).Error()))
}

// TestNoExpiry: session_ttl=0 keeps sessions forever.
func TestNoExpiry(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	s, err := redisstore.OpenURL(t.Context(), srv.URL(0, prefix)+"&session_ttl=0")
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	st, _, _, err := s.CreateOrResume(t.Context(), newActive("w", "t"))
	require.NoError(t, err)
	c := raw(t, srv.Addr)
	for _, k := range []string{sessKey(prefix, st.SessionID), pairKey(prefix, "w", "t")} {
		ttl, err := do(t, c, "PTTL", k).AsInt64()
		require.NoError(t, err)
		assert.Equal(t, int64(-1), ttl, "%s has no TTL", k)
	}
}

// TestSavesUseEVALSHA: saves run the script by its SHA; after SCRIPT FLUSH
// (what a restart does) the next save reloads it once with EVAL.
func TestSavesUseEVALSHA(t *testing.T) {
	srv := redistest.Start(t) // own server: commandstats are server-wide
	s := open(t, srv, redisstore.Options{})
	c := raw(t, srv.Addr)
	ctx := t.Context()
	st := storetest.State()
	_, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	for v := state.Version(1); v < 5; v++ {
		_, err = s.Save(ctx, st, v)
		require.NoError(t, err)
	}
	stats := commandStats(t, c)
	assert.Equal(t, 5, stats["evalsha"], "every save is one EVALSHA")
	assert.Equal(t, 1, stats["eval"], "the script was sent once, after the first NOSCRIPT")

	require.NoError(t, do(t, c, "SCRIPT", "FLUSH").Error())
	_, err = s.Save(ctx, st, 5)
	require.NoError(t, err, "a flushed script is reloaded")
	stats = commandStats(t, c)
	assert.Equal(t, 6, stats["evalsha"])
	assert.Equal(t, 2, stats["eval"])
}

// commandStats returns the calls of each command from INFO commandstats.
func commandStats(tb testing.TB, c rueidis.Client) map[string]int {
	tb.Helper()
	info, err := do(tb, c, "INFO", "commandstats").ToString()
	require.NoError(tb, err)
	out := map[string]int{}
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		out[name], _ = strconv.Atoi(calls)
	}
	return out
}

// TestCreateOrResumeConcurrentAcrossReplicas: goroutines on two stores
// (two replicas) race to start one pair: one session is created, every
// caller gets it.
func TestCreateOrResumeConcurrentAcrossReplicas(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	stores := []*redisstore.Store{open(t, srv, redisstore.Options{Prefix: prefix}), open(t, srv, redisstore.Options{Prefix: prefix})}
	for round := range 5 {
		target := "race-" + strconv.Itoa(round) + ".go"
		const n = 64
		ids := make([]string, n)
		var created sync.Map
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				st, ver, isNew, err := stores[i%2].CreateOrResume(t.Context(), newActive("bug_fix", target))
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
					return
				}
				if ver != 1 {
					t.Errorf("caller %d: version %d", i, ver)
				}
				ids[i] = st.SessionID
				if isNew {
					created.Store(i, st.SessionID)
				}
			})
		}
		close(start)
		wg.Wait()
		var news []any
		created.Range(func(_, v any) bool { news = append(news, v); return true })
		require.Len(t, news, 1, "round %d: one caller created the session", round)
		for i := range ids {
			assert.Equal(t, news[0], ids[i], "round %d caller %d got the same session", round, i)
		}
	}
	list, err := stores[0].List(t.Context())
	require.NoError(t, err)
	assert.Len(t, list, 5, "five pairs, five sessions")
}

// TestCreateOrResumeClearsDanglingIndex: an index whose session vanished
// (expired, deleted behind the store's back) is cleared and a new session
// created, and a corrupt or completed indexed session is not resumed.
func TestCreateOrResumeClearsDanglingIndex(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	s := open(t, srv, redisstore.Options{Prefix: prefix})
	c := raw(t, srv.Addr)
	ctx := t.Context()
	pk := pairKey(prefix, "bug_fix", "x.go")

	// Vanished: the index names a session that does not exist.
	ghost := uuid.NewString()
	require.NoError(t, do(t, c, "SET", pk, ghost).Error())
	st, _, created, err := s.CreateOrResume(ctx, newActive("bug_fix", "x.go"))
	require.NoError(t, err)
	assert.True(t, created)
	assert.NotEqual(t, ghost, st.SessionID)
	idx, _ := do(t, c, "GET", pk).ToString()
	assert.Equal(t, st.SessionID, idx)

	// Corrupt: the indexed session's document does not decode.
	require.NoError(t, do(t, c, "HSET", sessKey(prefix, st.SessionID), "doc", "{not json").Error())
	before := s.Stats().Retries
	st2, _, created, err := s.CreateOrResume(ctx, newActive("bug_fix", "x.go"))
	require.NoError(t, err)
	assert.True(t, created, "a corrupt session is not resumed")
	assert.NotEqual(t, st.SessionID, st2.SessionID)
	assert.Greater(t, s.Stats().Retries, before)
	_, _, err = s.Load(ctx, st.SessionID)
	require.ErrorIs(t, err, state.ErrCorrupt, "the corrupt session is reported, not hidden")

	// Completed behind the index (written by something else).
	done := *st2
	done.Status = state.StatusCompleted
	doc, err := state.EncodeState(&done, 2)
	require.NoError(t, err)
	require.NoError(t, do(t, c, "HSET", sessKey(prefix, st2.SessionID), "doc", string(doc), "version", "2").Error())
	st3, _, created, err := s.CreateOrResume(ctx, newActive("bug_fix", "x.go"))
	require.NoError(t, err)
	assert.True(t, created, "a completed session is not resumed")
	assert.NotEqual(t, st2.SessionID, st3.SessionID)

	// And a live one is resumed.
	again, ver, created, err := s.CreateOrResume(ctx, newActive("bug_fix", "x.go"))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, state.Version(1), ver)
	assert.Equal(t, st3, again)
}

// TestListSkipsMarkersAndReportsCorrupt: List ignores other prefixes and
// fence markers, and lists a corrupt session with its error.
func TestListSkipsMarkersAndReportsCorrupt(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	s := open(t, srv, redisstore.Options{Prefix: prefix})
	other := sharedStore(t)
	c := raw(t, srv.Addr)
	ctx := t.Context()
	good := storetest.State()
	_, err := s.Save(ctx, good, 0)
	require.NoError(t, err)
	_, err = other.Save(ctx, storetest.State(), 0)
	require.NoError(t, err)
	bad := uuid.NewString()
	require.NoError(t, do(t, c, "HSET", sessKey(prefix, bad), "version", "3", "doc", `{"session_id": 5}`).Error())
	require.NoError(t, do(t, c, "HSET", sessKey(prefix, uuid.NewString()), "fenced", "x").Error())
	require.NoError(t, do(t, c, "SET", sessKey(prefix, "not-a-uuid"), "x").Error())
	// Keys written behind the store's back are indexed by Reindex (which
	// Open runs on a data set without an index).
	require.NoError(t, s.Reindex(ctx))
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	byID := map[string]state.SessionSummary{}
	for _, l := range list {
		byID[l.SessionID] = l
	}
	assert.Empty(t, byID[good.SessionID].Error)
	assert.Contains(t, byID[bad].Error, "session_id")
	assert.Equal(t, bad, list[1].SessionID, "a session that cannot be read lists last")
	_, _, err = s.Load(ctx, bad)
	require.ErrorIs(t, err, state.ErrCorrupt)
	require.NoError(t, s.Delete(ctx, bad), "a corrupt session can be deleted")
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "and leaves the index")
}

// TestCallsHonourCanceledContext: a context that ends before the call
// stops it at once.
func TestCallsHonourCanceledContext(t *testing.T) {
	s := sharedStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, _, err := s.CreateOrResume(ctx, newActive("w", "t"))
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.List(ctx)
	require.True(t, errors.Is(err, context.Canceled) || errors.Is(err, redisstore.ErrUnavailable), "%v", err)
}
