package redisstore_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
)

// TestWrongTypeKeyIsThatSessionsError: a session key overwritten with a
// value of another type (a string, a list) used to fail list_sessions for
// every session, and the session could not be deleted. Now it is listed
// with its own error, loading it says it is corrupt, and it can be
// deleted, through the store and through the engine.
func TestWrongTypeKeyIsThatSessionsError(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	s := open(t, srv, redisstore.Options{Prefix: prefix})
	c := raw(t, srv.Addr)
	ctx := t.Context()
	var ids []string
	for range 3 {
		st := storetest.State()
		_, err := s.Save(ctx, st, 0)
		require.NoError(t, err)
		ids = append(ids, st.SessionID)
	}
	require.NoError(t, do(t, c, "DEL", sessKey(prefix, ids[0])).Error())
	require.NoError(t, do(t, c, "SET", sessKey(prefix, ids[0]), "not a hash").Error())
	require.NoError(t, do(t, c, "DEL", sessKey(prefix, ids[1])).Error())
	require.NoError(t, do(t, c, "RPUSH", sessKey(prefix, ids[1]), "a", "b").Error())

	list, err := s.List(ctx)
	require.NoError(t, err, "one bad key does not break the list")
	require.Len(t, list, 3)
	byID := map[string]state.SessionSummary{}
	for _, l := range list {
		byID[l.SessionID] = l
	}
	assert.Contains(t, byID[ids[0]].Error, "type string, not a hash")
	assert.Contains(t, byID[ids[1]].Error, "type list, not a hash")
	assert.Empty(t, byID[ids[2]].Error)
	p, err := s.ListPage(ctx, state.PageQuery{Status: state.StatusActive, Limit: 10})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 1, "a filtered list leaves out the sessions it cannot read")

	for _, id := range ids[:2] {
		_, _, err := s.Load(ctx, id)
		require.ErrorIs(t, err, state.ErrCorrupt)
		assert.Contains(t, err.Error(), "not a hash")
		_, _, err = s.LoadNewer(ctx, state.MustParseSessionID(id), 1)
		require.ErrorIs(t, err, state.ErrCorrupt)
	}
	require.NoError(t, s.Delete(ctx, ids[0]), "the store deletes it")
	e, err := engine.New(engine.Config{Store: s})
	require.NoError(t, err)
	defer func() { _ = e.Close() }()
	require.NoError(t, e.DeleteSession(ctx, state.MustParseSessionID(ids[1])), "the engine deletes it")
	require.ErrorIs(t, s.Delete(ctx, ids[1]), state.ErrNotFound)
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, ids[2], list[0].SessionID)
	n, err := do(t, c, "EXISTS", sessKey(prefix, ids[0]), sessKey(prefix, ids[1])).AsInt64()
	require.NoError(t, err)
	assert.Zero(t, n, "both keys are gone")

	// A bad key that was never a session is found by Reindex, listed
	// with its error, and deletable.
	stray := uuid.NewString()
	require.NoError(t, do(t, c, "SADD", sessKey(prefix, stray), "x").Error())
	require.NoError(t, s.Reindex(ctx))
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, stray, list[1].SessionID, "an unreadable session lists last")
	assert.Contains(t, list[1].Error, "type set")
	require.NoError(t, s.Delete(ctx, stray))
	list, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
}

// TestExpiredSessionsLeaveTheIndex: a session that expires (TTL) leaves
// its index members behind; a page that meets them removes them and
// still fills itself from the sessions after them.
func TestExpiredSessionsLeaveTheIndex(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix(t)
	s := open(t, srv, redisstore.Options{Prefix: prefix})
	c := raw(t, srv.Addr)
	ctx := t.Context()
	var ids []string
	for i := range 30 {
		st := storetest.State()
		st.CreatedAt = st.CreatedAt.Add(-1 * timeSecond(i))
		_, err := s.Save(ctx, st, 0)
		require.NoError(t, err)
		ids = append(ids, st.SessionID)
	}
	// The 20 newest "expire": their keys vanish behind the index's back.
	for _, id := range ids[:20] {
		require.NoError(t, do(t, c, "DEL", sessKey(prefix, id)).Error())
	}
	p, err := s.ListPage(ctx, state.PageQuery{Limit: 5})
	require.NoError(t, err)
	require.Len(t, p.Sessions, 5, "the page skips the leftovers and fills itself")
	assert.Equal(t, ids[20], p.Sessions[0].SessionID)
	n, err := do(t, c, "ZCARD", prefix+"{mcpflow}:v1:idx:all").AsInt64()
	require.NoError(t, err)
	assert.Equal(t, int64(10), n, "the leftovers the page met are removed")
	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 10)
}

func timeSecond(i int) time.Duration { return time.Duration(i) * time.Second }
