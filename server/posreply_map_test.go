package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
)

// asMap returns structured content as a JSON object: how pos_workflow
// built the replies it had no type for, before every reply was typed. It
// is kept as the reference the typed replies are checked against, and as
// BenchmarkPosReply's baseline.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("server: encode result: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("server: decode result: %w", err)
	}
	return m, nil
}

// patchedReply is the reply pos_workflow made of v by patching its JSON
// object by key.
func patchedReply(t *testing.T, action string, v any) []byte {
	t.Helper()
	m, err := asMap(v)
	require.NoError(t, err)
	m["status"], m["action"] = posSuccess, action
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// TestPosRecoveryRepliesAreTheMapsBytes: the typed replies of pause,
// resume, retry_phase, rollback and get_errors encode to the bytes the
// map patched by key gave, and carry every field of the tool's result
// (a field added to recoveryOut, errorsOut or failedAttemptOut and not to
// its reply fails here).
func TestPosRecoveryRepliesAreTheMapsBytes(t *testing.T) {
	fields := func(v any) int { return reflect.TypeOf(v).NumField() }
	require.Equal(t, fields(recoveryOut{})+1, fields(posRecovery{}), "posRecovery: recoveryOut's fields and action")
	require.Equal(t, fields(errorsOut{})+2, fields(posErrors{}), "posErrors: errorsOut's fields, status and action")
	require.Equal(t, fields(failedAttemptOut{}), fields(posFailedAttempt{}), "posFailedAttempt: failedAttemptOut's fields")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recoveries := []*engine.RecoveryResult{
		{SessionID: "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53", WorkflowType: "bug_fix", Status: state.StatusActive, CurrentPhase: 2,
			CompletedPhases: []int{0, 1}, Paused: true, PauseReason: "review", Changed: true, Reopened: []int{2, 3}},
		{SessionID: "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53", WorkflowType: "bug_fix", Status: state.StatusCompleted},
	}
	for _, action := range []string{"pause", "resume", "retry_phase", "rollback"} {
		for _, r := range recoveries {
			out := newRecoveryOut(r, "a message")
			got, err := json.Marshal(posReply(action, out))
			require.NoError(t, err)
			require.Equal(t, string(patchedReply(t, action, out)), string(got), action)
		}
	}
	for _, list := range [][]state.FailedAttempt{
		nil,
		{{Phase: 1, Attempt: 2, Errors: []string{"tests_passed: required"}, Fields: []string{"summary"}, At: at}, {Phase: 3, At: at}},
	} {
		out := newErrorsOut("3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53", list)
		got, err := json.Marshal(posReply("get_errors", out))
		require.NoError(t, err)
		require.Equal(t, string(patchedReply(t, "get_errors", out)), string(got))
	}
}
