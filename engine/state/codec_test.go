package state

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleState() *SessionState {
	at := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	return &SessionState{
		SessionID:       "0b8f2c3e-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
		WorkflowType:    "bug_fix",
		TargetFile:      "internal/lexer/lexer.go",
		CurrentPhase:    2,
		CompletedPhases: []int{1},
		PhaseArtifacts: map[int]*PhaseArtifact{1: {
			PhaseNumber: 1,
			Evidence:    map[string]any{"steps": "run it", "tests": json.Number("3")},
			Outputs:     map[string]any{},
			Timestamp:   at,
			Attempts:    1,
		}},
		Checkpoints: map[int]CheckpointStatus{1: CheckpointPassed},
		Status:      StatusActive,
		CreatedAt:   at.Add(-time.Hour),
		UpdatedAt:   at,
		Metadata:    map[string]any{"total_phases": json.Number("3")},
	}
}

// TestCodecRoundTrip: a state encoded and decoded again is the same state,
// at the same version, and the file is compact JSON.
func TestCodecRoundTrip(t *testing.T) {
	st := sampleState()
	data, err := EncodeState(st, 7)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "\n", "compact, never indented")
	got, ver, err := DecodeState(data)
	require.NoError(t, err)
	assert.Equal(t, Version(7), ver)
	assert.Equal(t, st.SessionID, got.SessionID)
	assert.Equal(t, st.CompletedPhases, got.CompletedPhases)
	assert.Equal(t, st.Checkpoints, got.Checkpoints)
	assert.Equal(t, StatusActive, got.Status)
	assert.True(t, st.CreatedAt.Equal(got.CreatedAt))
	assert.True(t, st.UpdatedAt.Equal(got.UpdatedAt))
	require.Contains(t, got.PhaseArtifacts, 1)
	assert.Equal(t, 1, got.PhaseArtifacts[1].Attempts)
	assert.True(t, st.PhaseArtifacts[1].Timestamp.Equal(got.PhaseArtifacts[1].Timestamp))
	assert.Equal(t, "run it", got.PhaseArtifacts[1].Evidence["steps"])

	again, err := EncodeState(got, ver)
	require.NoError(t, err)
	assert.JSONEq(t, string(data), string(again), "decode then encode changes nothing")
}

// TestCodecEncodesEmptyCollections: prAxIs OS reads every collection
// without a None check, so nil ones are written empty.
func TestCodecEncodesEmptyCollections(t *testing.T) {
	data, err := EncodeState(&SessionState{SessionID: "s", WorkflowType: "w"}, 1)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	for _, k := range []string{"completed_phases", "phase_artifacts", "checkpoints", "metadata"} {
		assert.NotNil(t, raw[k], k)
	}
}

// TestCodecDecodeErrorsNameTheField: a file that is not a state names what
// is wrong; a file without a version is version 1.
func TestCodecDecodeErrorsNameTheField(t *testing.T) {
	for in, field := range map[string]string{
		`{`:                      "not valid state JSON",
		`{"workflow_type": "w"}`: "session_id",
		`{"session_id": "s"}`:    "workflow_type",
		`{"session_id": "s", "workflow_type": "w", "current_phase": -1}`: "current_phase",
		`{"session_id": "s", "workflow_type": "w", "version": -2}`:       "version",
		`{"session_id": "s", "workflow_type": "w", "status": "lost"}`:    "status",
	} {
		_, _, err := DecodeState([]byte(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), field, in)
	}
	st, ver, err := DecodeState([]byte(`{"session_id": "s", "workflow_type": "w"}`))
	require.NoError(t, err)
	assert.Equal(t, Version(1), ver)
	assert.Equal(t, StatusActive, st.Status)
	assert.NotNil(t, st.PhaseArtifacts, "normalized")
}
