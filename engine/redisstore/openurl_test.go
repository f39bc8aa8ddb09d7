package redisstore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
)

// TestOpenURLServesAnEngine serves an engine from Redis, as each replica of
// `mcpflow serve --state redis://...` does: the store opened from a URL,
// an engine on it, one start saved to Redis. (It replaces an example that
// needed a Redis at a fixed address and so could not run under go test.)
func TestOpenURLServesAnEngine(t *testing.T) {
	srv := redistest.Shared(t)
	ctx := t.Context()
	store, err := redisstore.OpenURL(ctx, srv.URL(0, redistest.Prefix(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	e, err := engine.New(engine.Config{Store: store})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	start, err := e.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "internal/lexer/lexer.go", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, start.CurrentPhase, "bug_fix starts at phase 1")
	assert.NotEmpty(t, start.PhaseName)
	assert.Equal(t, int64(1), store.Stats().Saves, "the start is saved once")

	got, err := e.State(ctx, state.MustParseSessionID(start.SessionID))
	require.NoError(t, err)
	assert.Equal(t, "bug_fix", got.WorkflowType)
}
