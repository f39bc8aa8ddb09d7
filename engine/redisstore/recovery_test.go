package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestReplicasRecoveryExactlyOnce: clients on two replicas send the same
// recovery action at once (pause, resume, retry_phase, rollback): exactly
// one call changes the session, in Redis as on the file store, and the
// others find it already changed.
func TestReplicasRecoveryExactlyOnce(t *testing.T) {
	type action struct {
		name  string
		setup func(ctx context.Context, e *engine.Engine, id string) error
		call  func(ctx context.Context, e *engine.Engine, id string) (*engine.RecoveryResult, error)
	}
	actions := []action{
		{"Pause", nil, func(ctx context.Context, e *engine.Engine, id string) (*engine.RecoveryResult, error) {
			return e.Pause(ctx, state.MustParseSessionID(id), "release")
		}},
		{"Resume", func(ctx context.Context, e *engine.Engine, id string) error {
			_, err := e.Pause(ctx, state.MustParseSessionID(id), "")
			return err
		}, func(ctx context.Context, e *engine.Engine, id string) (*engine.RecoveryResult, error) {
			return e.Resume(ctx, state.MustParseSessionID(id))
		}},
		{"RetryPhase", func(ctx context.Context, e *engine.Engine, id string) error {
			_, err := e.CompletePhase(ctx, state.MustParseSessionID(id), 1, map[string]any{"reproduced": false})
			return err
		}, func(ctx context.Context, e *engine.Engine, id string) (*engine.RecoveryResult, error) {
			return e.RetryPhase(ctx, state.MustParseSessionID(id), 1)
		}},
		{"Rollback", func(ctx context.Context, e *engine.Engine, id string) error {
			for p := 1; p <= 2; p++ {
				if _, err := e.CompletePhase(ctx, state.MustParseSessionID(id), p, completeEvidence[p]); err != nil {
					return err
				}
			}
			return nil
		}, func(ctx context.Context, e *engine.Engine, id string) (*engine.RecoveryResult, error) {
			return e.Rollback(ctx, state.MustParseSessionID(id), 1)
		}},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			ea, eb, _, _ := twoReplicas(t)
			ctx := t.Context()
			r, err := ea.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "x.go", nil)
			require.NoError(t, err)
			if a.setup != nil {
				require.NoError(t, a.setup(ctx, ea, r.SessionID))
			}
			_, err = eb.State(ctx, state.MustParseSessionID(r.SessionID)) // B holds the session too
			require.NoError(t, err)
			const n = 16
			var changed, unchanged atomic.Int64
			testutil.Release(n, func(i int) {
				e := ea
				if i%2 == 1 {
					e = eb
				}
				res, err := a.call(ctx, e, r.SessionID)
				switch {
				case err != nil:
					t.Errorf("caller %d: %v", i, err)
				case res.Changed:
					changed.Add(1)
				default:
					unchanged.Add(1)
				}
			})
			assert.Equal(t, int64(1), changed.Load(), "exactly one call changes the session")
			assert.Equal(t, int64(n-1), unchanged.Load())
			for _, e := range []*engine.Engine{ea, eb} {
				st, err := e.State(ctx, state.MustParseSessionID(r.SessionID))
				require.NoError(t, err)
				switch a.name {
				case "Pause":
					assert.True(t, st.Paused)
				case "Resume":
					assert.False(t, st.Paused)
				case "RetryPhase":
					assert.Len(t, st.Recovery.History, 1, fmt.Sprint(st.Recovery.History))
					assert.Equal(t, state.CheckpointPending, st.Checkpoints[1])
					assert.Len(t, st.Recovery.FailedAttempts, 1)
				case "Rollback":
					assert.Equal(t, 1, st.CurrentPhase)
					assert.Empty(t, st.CompletedPhases)
					assert.Len(t, st.Recovery.History, 2)
				}
			}
		})
	}
}
