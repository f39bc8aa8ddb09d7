package redisstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
)

// netOut returns Redis' total_net_output_bytes: what it has sent to all
// clients.
func netOut(t *testing.T, s *Store) int64 {
	t.Helper()
	info, err := s.client.Do(t.Context(), s.client.B().Info().Section("stats").Build()).ToString()
	require.NoError(t, err)
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_net_output_bytes:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no total_net_output_bytes in INFO stats")
	return 0
}

// TestOversizedDocumentIsNotRead: a document over the store's limit,
// planted at a session's key, is reported as that session's corruption
// without being sent by Redis: by Load, LoadNewer, a list, a start that
// would resume it, and a delete. (Before, every read transferred it
// whole.)
func TestOversizedDocumentIsNotRead(t *testing.T) {
	srv := redistest.Start(t) // its own server: the byte counters are server-wide
	s, err := Open(t.Context(), Options{Addr: srv.Addr, Prefix: redistest.Prefix(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	s.maxDoc = 4096
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "w", TargetFile: "t", CompletedPhases: []int{},
		Status: state.StatusActive, CreatedAt: now, UpdatedAt: now}
	_, _, created, err := s.CreateOrResume(ctx, st)
	require.NoError(t, err)
	require.True(t, created)
	_, _, err = s.Load(ctx, st.SessionID) // cached from now on
	require.NoError(t, err)

	const planted = 1 << 20
	inv := s.stats.invalidations.Load()
	require.NoError(t, s.client.Do(ctx, s.client.B().Hset().Key(s.sessKey(st.SessionID)).FieldValue().
		FieldValue("doc", `{"session_id":"`+st.SessionID+`","x":"`+strings.Repeat("x", planted)+`"}`).Build()).Error())
	// Redis tells the client to drop its cached probe asynchronously. Until
	// it has, a Load probes the stale length and reads the document once
	// (the documented probe-then-grow case), which is not what this test
	// is about: wait, bounded, for the invalidation.
	for deadline := time.Now().Add(10 * time.Second); s.stats.invalidations.Load() == inv; {
		require.False(t, time.Now().After(deadline), "Redis sent no invalidation for the planted key")
		time.Sleep(time.Millisecond)
	}

	before := netOut(t, s)
	_, _, err = s.Load(ctx, st.SessionID)
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), "over the limit of 4096 bytes, and was not read")
	_, _, err = s.LoadNewer(ctx, state.MustParseSessionID(st.SessionID), 0)
	require.ErrorIs(t, err, state.ErrCorrupt)
	_, ver, err := s.LoadNewer(ctx, state.MustParseSessionID(st.SessionID), 1)
	require.NoError(t, err, "the version a caller holds needs no document")
	assert.Equal(t, state.Version(1), ver)

	p, err := s.ListPage(ctx, state.PageQuery{Limit: 10})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 1, "a list reads summaries, not documents")

	// A start of the same pair meets the oversized session: it is not
	// resumed, and not read.
	again := *st
	again.SessionID = uuid.NewString()
	got, _, created, err := s.CreateOrResume(ctx, &again)
	require.NoError(t, err)
	assert.True(t, created, "an unreadable active session is not resumed")
	assert.NotEqual(t, st.SessionID, got.SessionID)
	sent := netOut(t, s) - before
	assert.Less(t, sent, int64(planted/4), "Redis sent %d bytes: the planted document was transferred", sent)

	require.NoError(t, s.Delete(ctx, st.SessionID), "an oversized session can be deleted")
	_, _, err = s.Load(context.WithoutCancel(ctx), st.SessionID)
	require.ErrorIs(t, err, state.ErrNotFound)
}
