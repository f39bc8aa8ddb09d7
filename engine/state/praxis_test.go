package state_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestEncodedStateLoadsInPraxis(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.UTC)
	full := &state.SessionState{
		SessionID: "0b6c9a2e-6f0e-4c59-9d7e-3d1f1a1b2c3d", WorkflowType: "spec_execution_v1", TargetFile: "rate-limit",
		CurrentPhase: 2, CompletedPhases: []int{0, 1},
		PhaseArtifacts: map[int]*state.PhaseArtifact{
			0: {PhaseNumber: 0, Evidence: map[string]any{"ok": true}, Timestamp: at},
			1: {PhaseNumber: 1, Evidence: map[string]any{"n": 2.0}, Timestamp: at, Attempts: 2, Errors: []string{"n: too small"}},
		},
		Checkpoints: map[int]state.CheckpointStatus{0: state.CheckpointPassed, 1: state.CheckpointPassed, 2: state.CheckpointFailed},
		Status:      state.StatusActive, CreatedAt: at, UpdatedAt: at.Add(time.Hour),
		Metadata: map[string]any{"spec_path": ".praxis-os/specs/x", "total_phases": 4, "options": map[string]any{"spec_path": ".praxis-os/specs/x"}},
		Paused:   true,
		Recovery: state.Recovery{PausedAt: at, PauseReason: "lunch", FailedAttempts: []state.FailedAttempt{{Phase: 2, Attempt: 1, Errors: []string{"e"}, Fields: []string{}, At: at}}},
	}
	for name, st := range map[string]*state.SessionState{
		"full":  full,
		"empty": {SessionID: "0b6c9a2e-6f0e-4c59-9d7e-3d1f1a1b2c3e", WorkflowType: "w", TargetFile: "t", CreatedAt: at, UpdatedAt: at},
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := state.EncodeState(st, 3)
			require.NoError(t, err)
			m := testutil.CheckPraxisState(t, doc)
			assert.InDelta(t, st.CurrentPhase, m["current_phase"], 0, "the same phase")
			assert.Len(t, m["completed_phases"], len(st.CompletedPhases), "the same completed phases")
			back, ver, err := state.DecodeState(doc)
			require.NoError(t, err)
			assert.Equal(t, state.Version(3), ver)
			assert.Equal(t, st.Paused, back.Paused)
			assert.Equal(t, st.Recovery, back.Recovery)
			assert.Equal(t, st.CreatedAt, back.CreatedAt)
		})
	}
	doc, err := state.EncodeState(full, 1)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(doc, &m))
	assert.Equal(t, "2026-03-04T05:06:07.891234", m["created_at"], "as Python's isoformat writes it")
	assert.Equal(t, true, m["metadata"].(map[string]any)["paused"], "prAxIs OS's own pause flag")
}

// TestRealPraxisSessionFiles reads the session files prAxIs OS wrote (see
// testutil.PraxisData), writes each back as mcpflow would, and checks that
// nothing of prAxIs OS's is lost and that from_dict still reads it.
func TestRealPraxisSessionFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.PraxisData(t), "state", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			orig, err := os.ReadFile(f)
			require.NoError(t, err)
			var want map[string]any
			require.NoError(t, json.Unmarshal(orig, &want))
			st, ver, err := state.DecodeState(orig)
			require.NoError(t, err)
			assert.Equal(t, state.Version(1), ver)
			doc, err := state.EncodeState(st, ver+1)
			require.NoError(t, err)
			got := testutil.CheckPraxisState(t, doc)
			for _, k := range []string{"session_id", "workflow_type", "target_file", "current_phase", "completed_phases", "phase_artifacts", "checkpoints", "created_at", "updated_at", "metadata"} {
				assert.Equal(t, want[k], got[k], "%s is written back as prAxIs OS wrote it", k)
			}
		})
	}
}

// TestPraxisFinishedByTotalPhases: a prAxIs OS file (no status) reads as
// completed when its own is_complete would say so, and only then.
func TestPraxisFinishedByTotalPhases(t *testing.T) {
	for _, tc := range []struct {
		current   int
		completed string
		total     string
		want      state.Status
	}{
		{6, "[0,1,2,3,4,5]", `, "total_phases": 6`, state.StatusCompleted},
		{5, "[0,1,2,3,4]", `, "total_phases": 6`, state.StatusActive},
		{0, "[]", `, "total_phases": 6`, state.StatusActive},
		{6, "[1,2,3,4,5]", `, "total_phases": 5`, state.StatusCompleted},
		{5, "[1,2,3,4]", `, "total_phases": 5`, state.StatusActive},
		{6, "[0,1,2,3,4,5]", ``, state.StatusActive},
		{6, "[0,1,2,3,4,5]", `, "total_phases": "six"`, state.StatusActive},
	} {
		doc := `{"session_id": "s", "workflow_type": "w", "target_file": "t", "current_phase": ` + strconv.Itoa(tc.current) +
			`, "completed_phases": ` + tc.completed + `, "phase_artifacts": {}, "checkpoints": {}, "created_at": "2025-10-23T11:46:44.286154", "updated_at": "2025-10-23T11:46:44.286214", "metadata": {"k": 1` + tc.total + `}}`
		st, _, err := state.DecodeState([]byte(doc))
		require.NoError(t, err)
		assert.Equal(t, tc.want, st.Status, "current %d, completed %s%s", tc.current, tc.completed, tc.total)
	}
	st, _, err := state.DecodeState([]byte(`{"session_id": "s", "workflow_type": "w", "current_phase": 9, "status": "active", "metadata": {"total_phases": 3}}`))
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, st.Status, "a status written is kept")
}
