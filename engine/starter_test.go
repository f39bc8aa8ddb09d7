package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// starterStore is a FileStore with an atomic create-or-resume, standing in
// for a store shared between processes.
type starterStore struct {
	*countingStore
	mu    sync.Mutex
	calls int
}

func (s *starterStore) CreateOrResume(ctx context.Context, st *state.SessionState) (*state.SessionState, state.Version, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	list, err := s.List(ctx)
	if err != nil {
		return nil, 0, false, err
	}
	for i := range list {
		sum := &list[i]
		if sum.Status == state.StatusActive && sum.WorkflowType == st.WorkflowType && sum.TargetFile == st.TargetFile {
			got, ver, err := s.Load(ctx, sum.SessionID)
			return got, ver, false, err
		}
	}
	ver, err := s.Save(ctx, st, 0)
	return st, ver, true, err
}

// TestStartUsesSessionStarter: with a store that creates or resumes
// atomically, two engines on one store (two processes) start one session
// per pair, and an engine serves the store's newer state on resume.
func TestStartUsesSessionStarter(t *testing.T) {
	wf := demoWorkflows(t)
	a := newEnv(t, wf)
	shared := &starterStore{countingStore: a.store}
	a2 := newEnv(t, wf, func(c *Config) { c.Store = shared })
	b2 := newEnv(t, wf, func(c *Config) { c.Store = shared })
	ctx := t.Context()

	results := make([]*StartResult, 40)
	testutil.Release(len(results), func(i int) {
		e := a2.Engine
		if i%2 == 1 {
			e = b2.Engine
		}
		r, err := e.Start(callerCtx(ctx, i), MustParseWorkflowName("demo"), "shared.go", nil)
		if err != nil {
			t.Errorf("start %d: %v", i, err)
			return
		}
		results[i] = r
	})
	fresh := 0
	for _, r := range results {
		require.NotNil(t, r)
		assert.Equal(t, results[0].SessionID, r.SessionID)
		if !r.Resumed {
			fresh++
		}
	}
	assert.Equal(t, 1, fresh, "one session across both engines")
	assert.Equal(t, int64(1), shared.creates.Load())

	// Engine b2 advances the session; engine a2 resumes it at phase 1.
	id := results[0].SessionID
	_, err := b2.CompletePhase(ctx, state.MustParseSessionID(id), 0, demoPass[0])
	require.NoError(t, err)
	r, err := a2.Start(ctx, MustParseWorkflowName("demo"), "shared.go", nil)
	require.NoError(t, err)
	assert.True(t, r.Resumed)
	assert.Equal(t, 1, r.CurrentPhase, "the store's newer state is served")
	st, err := a2.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, []int{0}, st.CompletedPhases)
	assert.Positive(t, shared.calls)
	assert.Len(t, a.stateFiles(t), 1, "one state file in the shared folder")
}
