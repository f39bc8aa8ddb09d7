package state_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// naiveISO is a timestamp as Python's datetime.isoformat() writes a naive
// datetime, which datetime.fromisoformat reads back as naive, the kind
// prAxIs OS compares with datetime.now().
var naiveISO = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$`)

// checkFromDict checks that doc, a state file, has what prAxIs OS's
// WorkflowState.from_dict needs, with the types it reads. The list comes
// from its source (honeyhiveai/praxis-os, mcp_server/models/workflow.py):
//
//   - WorkflowState.from_dict reads data["session_id"], ["workflow_type"],
//     ["target_file"], ["current_phase"], ["completed_phases"] and
//     ["phase_artifacts"] (.items(), int(key)), ["checkpoints"] (.items(),
//     int(key), CheckpointStatus(value): pending, passed, failed,
//     skipped), datetime.fromisoformat(["created_at"]) and
//     (["updated_at"]), and data.get("metadata", {}); other keys are
//     ignored;
//   - PhaseArtifact.from_dict reads ["phase_number"], ["evidence"],
//     ["outputs"], ["commands_executed"] (iterated, each through
//     CommandExecution.from_dict: command, output, exit_code, executed_at,
//     duration_ms) and fromisoformat(["timestamp"]);
//   - its is_complete reads metadata.get("total_phases") as a number, and
//     its session handlers metadata.get("paused") as a flag.
func checkFromDict(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(doc, &m))
	str := func(where string, v any) {
		t.Helper()
		_, ok := v.(string)
		assert.True(t, ok, "%s must be a string, got %T", where, v)
	}
	integer := func(where string, v any) {
		t.Helper()
		f, ok := v.(float64)
		assert.True(t, ok && f == float64(int64(f)), "%s must be an integer, got %v", where, v)
	}
	iso := func(where string, v any) {
		t.Helper()
		s, _ := v.(string)
		assert.Regexp(t, naiveISO, s, "%s must be a naive ISO timestamp", where)
	}
	intKey := func(where, k string) {
		t.Helper()
		_, err := strconv.Atoi(k)
		assert.NoError(t, err, "%s key %q must read as int()", where, k)
	}
	for _, k := range []string{"session_id", "workflow_type", "target_file"} {
		str(k, m[k])
	}
	integer("current_phase", m["current_phase"])
	cp, ok := m["completed_phases"].([]any)
	require.True(t, ok, "completed_phases must be a list, got %T", m["completed_phases"])
	for _, p := range cp {
		integer("completed_phases[]", p)
	}
	arts, ok := m["phase_artifacts"].(map[string]any)
	require.True(t, ok, "phase_artifacts must be an object, got %T", m["phase_artifacts"])
	for k, v := range arts {
		intKey("phase_artifacts", k)
		a, ok := v.(map[string]any)
		require.True(t, ok, "phase_artifacts[%s] must be an object", k)
		integer("phase_number", a["phase_number"])
		for _, f := range []string{"evidence", "outputs"} {
			_, ok := a[f].(map[string]any)
			assert.True(t, ok, "phase_artifacts[%s].%s must be an object, got %T", k, f, a[f])
		}
		cmds, ok := a["commands_executed"].([]any)
		require.True(t, ok, "phase_artifacts[%s].commands_executed must be a list, got %T", k, a["commands_executed"])
		for _, c := range cmds {
			cm, ok := c.(map[string]any)
			require.True(t, ok)
			for _, f := range []string{"command", "output", "exit_code", "executed_at", "duration_ms"} {
				assert.Contains(t, cm, f)
			}
		}
		iso("phase_artifacts["+k+"].timestamp", a["timestamp"])
	}
	cks, ok := m["checkpoints"].(map[string]any)
	require.True(t, ok, "checkpoints must be an object, got %T", m["checkpoints"])
	for k, v := range cks {
		intKey("checkpoints", k)
		assert.Contains(t, []any{"pending", "passed", "failed", "skipped"}, v)
	}
	iso("created_at", m["created_at"])
	iso("updated_at", m["updated_at"])
	md, ok := m["metadata"].(map[string]any)
	require.True(t, ok, "metadata must be an object, got %T", m["metadata"])
	if tp, ok := md["total_phases"]; ok {
		integer("metadata.total_phases", tp)
	}
	if p, ok := md["paused"]; ok {
		_, isBool := p.(bool)
		assert.True(t, isBool, "metadata.paused must be a bool, got %T", p)
	}
	return m
}

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
			m := checkFromDict(t, doc)
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
			got := checkFromDict(t, doc)
			for _, k := range []string{"session_id", "workflow_type", "target_file", "current_phase", "completed_phases", "phase_artifacts", "checkpoints", "created_at", "updated_at", "metadata"} {
				assert.Equal(t, want[k], got[k], "%s is written back as prAxIs OS wrote it", k)
			}
		})
	}
}
