package engine

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestCompletePhaseRetryAnswersAsTheFirstCall: a complete_phase whose
// answer was lost is sent again; with the same evidence it gets the
// first call's answer and changes nothing, with other evidence it is told
// the phase is already completed.
func TestCompletePhaseRetryAnswersAsTheFirstCall(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
	require.NoError(t, err)
	ev := map[string]any{"n": 3, "note": "first"}
	first, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, ev)
	require.NoError(t, err)
	require.True(t, first.PhaseCompleted)
	saves := en.store.saves.Load()

	en.clock.Advance(time.Minute)
	again, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"note": "first", "n": 3.0})
	require.NoError(t, err, "the same evidence, keys in another order")
	assert.Equal(t, first, again, "the retry gets the first call's answer, validation time included")
	assert.Equal(t, saves, en.store.saves.Load(), "a retry saves nothing")

	_, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 4})
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)
	assert.Contains(t, err.Error(), "phase 0 of session "+r.SessionID+" is already completed, with other evidence than this call's; the current phase is 1")

	st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, []int{0}, st.CompletedPhases)
	assert.Equal(t, 1, st.PhaseArtifacts[0].Attempts)

	// The last phase: the session leaves the cache when it completes,
	// and a retry read from disk answers as the completing call did.
	_, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 1, demoPass[1])
	require.NoError(t, err)
	last, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 2, demoPass[2])
	require.NoError(t, err)
	require.True(t, last.WorkflowComplete)
	retried, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 2, demoPass[2])
	require.NoError(t, err)
	assert.Equal(t, last, retried)
	_, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 2, map[string]any{"ok": true, "extra": 1})
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)
	assert.Contains(t, err.Error(), "is already completed")

	// An earlier phase, retried after the session moved on, still gets
	// its own first answer.
	old, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, ev)
	require.NoError(t, err)
	assert.Equal(t, first, old)
}

// TestConcurrentCompletePhaseRetries: n clients send the same
// complete_phase at once (a call and its retries racing); exactly one
// advances the session and every one gets the same answer.
func TestConcurrentCompletePhaseRetries(t *testing.T) {
	wf := demoWorkflows(t)
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			en := newEnv(t, wf)
			r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a.go", nil)
			require.NoError(t, err)
			saves := en.store.saves.Load()
			results := make([]*CompleteResult, n)
			var failed atomic.Int64
			testutil.Release(n, func(i int) {
				res, err := en.CompletePhase(callerCtx(t.Context(), i), state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 2, "note": "same"})
				if err != nil {
					failed.Add(1)
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
				results[i] = res
			})
			require.Zero(t, failed.Load())
			for i, res := range results {
				assert.Equal(t, results[0], res, "goroutine %d", i)
			}
			require.NotNil(t, results[0].NextPhase)
			assert.Equal(t, 1, *results[0].NextPhase)
			assert.Equal(t, saves+1, en.store.saves.Load(), "one save: the session advanced once")
			st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
			require.NoError(t, err)
			assert.Equal(t, []int{0}, st.CompletedPhases)
			assert.Equal(t, 1, st.CurrentPhase)
			assert.Equal(t, 1, st.PhaseArtifacts[0].Attempts)
		})
	}
}
