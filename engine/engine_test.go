package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

func TestStartCreatesSession(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "src/a.go", map[string]any{"depth": "full"})
	require.NoError(t, err)
	_, err = uuid.Parse(r.SessionID)
	require.NoError(t, err)
	assert.Equal(t, "demo", r.WorkflowType)
	assert.Equal(t, "src/a.go", r.TargetFile)
	assert.Equal(t, 0, r.CurrentPhase, "phase numbers start at 0")
	assert.Equal(t, "Zero", r.PhaseName)
	assert.Equal(t, "# Phase zero\n", r.PhaseContent)
	assert.Equal(t, 3, r.TotalPhases)
	assert.False(t, r.Resumed)
	require.Len(t, r.Tasks, 2)
	assert.Equal(t, TaskInfo{TaskNumber: 0, Name: "Task zero", File: "task-0-zero.md", Purpose: "tz", Dependencies: []string{}}, r.Tasks[0])

	files := en.stateFiles(t)
	require.Len(t, files, 1)
	assert.Equal(t, r.SessionID+".json", filepath.Base(files[0]))
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, state.StatusActive, st.Status)
	assert.Equal(t, []int{}, st.CompletedPhases)
	assert.Equal(t, state.CheckpointPending, st.Checkpoints[0])
	assert.Equal(t, map[string]any{"depth": "full"}, st.Metadata["options"])
	assert.Equal(t, en.clock.Now().UTC(), st.CreatedAt)

}

func TestStartResumesActivePair(t *testing.T) {
	wf := demoWorkflows(t)
	en := newEnv(t, wf)
	ctx := t.Context()
	a, err := en.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)

	b, err := en.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	assert.Equal(t, a.SessionID, b.SessionID)
	assert.True(t, b.Resumed)

	other, err := en.Start(ctx, MustParseWorkflowName("demo"), "y.go", nil)
	require.NoError(t, err)
	assert.NotEqual(t, a.SessionID, other.SessionID, "another target is another session")
	assert.False(t, other.Resumed)

	// Resumed sessions keep their progress.
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(a.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	c, err := en.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	assert.Equal(t, a.SessionID, c.SessionID)
	assert.Equal(t, 1, c.CurrentPhase)
	assert.Equal(t, "# Phase one\n", c.PhaseContent)

	// A new engine on the same folder resumes too.
	require.NoError(t, en.Close())
	en2 := newEnvAt(t, wf, en.stateDir)
	d, err := en2.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	assert.Equal(t, a.SessionID, d.SessionID)
	assert.True(t, d.Resumed)

	// A completed session is not resumed.
	for p := 1; p <= 2; p++ {
		_, err = en2.CompletePhase(ctx, state.MustParseSessionID(a.SessionID), p, demoPass[p])
		require.NoError(t, err)
	}
	e, err := en2.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	assert.NotEqual(t, a.SessionID, e.SessionID)
	assert.False(t, e.Resumed)

	// Nor is a deleted one.
	require.NoError(t, en2.DeleteSession(ctx, state.MustParseSessionID(e.SessionID)))
	f, err := en2.Start(ctx, MustParseWorkflowName("demo"), "x.go", nil)
	require.NoError(t, err)
	assert.NotEqual(t, e.SessionID, f.SessionID)
	assert.False(t, f.Resumed)
}

func TestStartArgumentErrors(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	tests := []struct {
		name, wf, target string
		opts             map[string]any
		is               error
		field            string
	}{
		{"empty workflow", "", "a", nil, state.ErrInvalidArgument, "workflow_type"},
		{"parent dir", "../demo", "a", nil, state.ErrInvalidArgument, "workflow_type"},
		{"dot dot", "..", "a", nil, state.ErrInvalidArgument, "workflow_type"},
		{"absolute", "/etc", "a", nil, state.ErrInvalidArgument, "workflow_type"},
		{"nested", "demo/phases", "a", nil, state.ErrInvalidArgument, "workflow_type"},
		{"nul", "de\x00mo", "a", nil, state.ErrInvalidArgument, "workflow_type"},
		{"unknown", "nope", "a", nil, state.ErrNotFound, "workflow_type"},
		{"empty target", "demo", "", nil, state.ErrInvalidArgument, "target_file"},
		{"nul target", "demo", "a\x00b", nil, state.ErrInvalidArgument, "target_file"},
		{"long target", "demo", strings.Repeat("a", MaxTargetFileLen+1), nil, state.ErrInvalidArgument, "target_file"},
		{"bad options", "demo", "a", map[string]any{"f": func() {}}, state.ErrInvalidArgument, "options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The name is checked where it enters the engine.
			wf, err := ParseWorkflowName(tt.wf)
			if err == nil {
				_, err = en.Start(t.Context(), wf, tt.target, tt.opts)
			}
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
	assert.Empty(t, en.stateFiles(t))
}

func TestStartReadsMetadataEveryTime(t *testing.T) {
	wf := demoWorkflows(t)
	en := newEnv(t, wf)
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	assert.Equal(t, "Zero", r.PhaseName)
	edited := strings.Replace(demoMetadata, `"phase_name": "Zero"`, `"phase_name": "Renamed"`, 1)
	writeFiles(t, wf, map[string]string{"demo/metadata.json": edited})
	r, err = en.Start(t.Context(), MustParseWorkflowName("demo"), "b", nil)
	require.NoError(t, err)
	assert.Equal(t, "Renamed", r.PhaseName, "an edit is live on the next start")

	writeFiles(t, wf, map[string]string{"demo/metadata.json": strings.Replace(demoMetadata, `"phase_number": 1,`, `"phase_number": "1-N",`, 1)})
	_, err = en.Start(t.Context(), MustParseWorkflowName("demo"), "c", nil)
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), `phases[1].phase_number: must be a whole number, got "1-N"`)
}

func TestCurrentPhase(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, 0, v.Phase)
	assert.Equal(t, "# Phase zero\n", v.Content)
	assert.Len(t, v.Tasks, 2)
	assert.Equal(t, 3, v.TotalPhases)
	assert.False(t, v.WorkflowComplete)

	for p := range 3 {
		_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), p, demoPass[p])
		require.NoError(t, err)
	}
	v, err = en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.True(t, v.WorkflowComplete)
	assert.Equal(t, state.StatusCompleted, v.Status)
	assert.Equal(t, []int{0, 1, 2}, v.CompletedPhases)

	_, err = en.CurrentPhase(ctx, state.MustParseSessionID(uuid.NewString()))
	require.ErrorIs(t, err, state.ErrNotFound)
	assert.Contains(t, err.Error(), "session_id")
}

func TestTaskRules(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	id := r.SessionID

	tv, err := en.Task(ctx, state.MustParseSessionID(id), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, "task zero text\n", tv.Content)
	assert.Equal(t, "Task zero", tv.Name)
	assert.Equal(t, "tz", tv.Purpose)

	_, err = en.Task(ctx, state.MustParseSessionID(id), 1, 1)
	require.ErrorIs(t, err, state.ErrWrongPhase, "a future phase is closed")
	assert.Contains(t, err.Error(), "is on phase 0")

	_, err = en.Task(ctx, state.MustParseSessionID(id), 0, 7)
	require.ErrorIs(t, err, state.ErrNotFound)
	assert.Contains(t, err.Error(), "task_number 7")
	assert.Contains(t, err.Error(), "[0 1]")

	_, err = en.Task(ctx, state.MustParseSessionID(id), -1, 0)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "phase")
	_, err = en.Task(ctx, state.MustParseSessionID(id), 0, -1)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "task_number")

	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 0, demoPass[0])
	require.NoError(t, err)
	tv, err = en.Task(ctx, state.MustParseSessionID(id), 0, 1)
	require.NoError(t, err, "a completed phase stays open")
	assert.Equal(t, "task one text\n", tv.Content)
	tv, err = en.Task(ctx, state.MustParseSessionID(id), 1, 1)
	require.NoError(t, err)
	assert.Equal(t, "only task\n", tv.Content)
}

func TestCompletePhaseRules(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	id := r.SessionID

	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 1, demoPass[1])
	require.ErrorIs(t, err, state.ErrWrongPhase)
	assert.Contains(t, err.Error(), "the current phase is 0")

	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), -1, nil)
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "phase")

	// Failure: stored, no advance.
	res, err := en.CompletePhase(ctx, state.MustParseSessionID(id), 0, map[string]any{"n": 0, "note": 5})
	require.NoError(t, err)
	assert.False(t, res.CheckpointPassed)
	assert.False(t, res.PhaseCompleted)
	assert.Nil(t, res.NextPhase)
	assert.Len(t, res.ValidationResult.Errors, 2)
	assert.Contains(t, res.ValidationResult.Remediation, "fix n")
	st, err := en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, 0, st.CurrentPhase)
	assert.Equal(t, state.CheckpointFailed, st.Checkpoints[0])
	assert.Equal(t, map[string]any{"n": 0.0, "note": 5.0}, st.PhaseArtifacts[0].Evidence)
	assert.Equal(t, 1, st.PhaseArtifacts[0].Attempts)
	assert.Len(t, st.PhaseArtifacts[0].Errors, 2)

	// Pass: advance with the next phase's content.
	res, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 0, demoPass[0])
	require.NoError(t, err)
	assert.True(t, res.CheckpointPassed)
	assert.True(t, res.PhaseCompleted)
	require.NotNil(t, res.NextPhase)
	assert.Equal(t, 1, *res.NextPhase)
	require.NotNil(t, res.NextPhaseContent)
	assert.Equal(t, "# Phase one\n", res.NextPhaseContent.Content)
	assert.False(t, res.WorkflowComplete)
	st, err = en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, 1, st.CurrentPhase)
	assert.Equal(t, []int{0}, st.CompletedPhases)
	assert.Equal(t, state.CheckpointPassed, st.Checkpoints[0])
	assert.Equal(t, state.CheckpointPending, st.Checkpoints[1])
	assert.Equal(t, 2, st.PhaseArtifacts[0].Attempts)
	assert.Empty(t, st.PhaseArtifacts[0].Errors)

	// Other evidence than the completing call's: not a retry.
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 0, map[string]any{"n": 4})
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)
	assert.Contains(t, err.Error(), "phase 0")
	assert.Contains(t, err.Error(), "the current phase is 1")

	// Phase 1 has no gate: permissive, with a warning.
	res, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 1, nil)
	require.NoError(t, err)
	assert.True(t, res.CheckpointPassed)
	assert.Equal(t, checkpoint.GateSourceNone, res.ValidationResult.Diagnostics.GateSource)
	assert.NotEmpty(t, res.ValidationResult.Warnings)

	// Phase 2's gate is lenient: a bad submission passes with warnings.
	res, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 2, map[string]any{"ok": "yes"})
	require.NoError(t, err)
	assert.True(t, res.CheckpointPassed)
	assert.True(t, res.WorkflowComplete)
	assert.Nil(t, res.NextPhase)
	assert.Contains(t, strings.Join(res.ValidationResult.Warnings, "\n"), "lenient: ok: must be true or false")

	// Completed: out of the cache, on disk, refused further.
	_, cached := en.sessions.Get(id)
	assert.False(t, cached, "a completed session leaves the cache")
	data, err := os.ReadFile(filepath.Join(en.stateDir, id+".json"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"status":"completed"`)
	st, err = en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, state.StatusCompleted, st.Status)
	assert.Equal(t, []int{0, 1, 2}, st.CompletedPhases)
	_, cached = en.sessions.Get(id)
	assert.False(t, cached, "reading a completed session does not bring it back into the cache")
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 2, demoPass[2])
	require.ErrorIs(t, err, state.ErrAlreadyCompleted)
	assert.Contains(t, err.Error(), "workflow demo is already completed")
}

func TestCompletePhaseEvidenceLimit(t *testing.T) {
	en := newEnv(t, demoWorkflows(t), func(c *Config) { c.MaxEvidenceBytes = 100 })
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	_, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"n": 1, "note": strings.Repeat("x", 200)})
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	require.ErrorIs(t, err, checkpoint.ErrEvidenceTooLarge)
	assert.Contains(t, err.Error(), "evidence is 217 bytes encoded, more than the 100 allowed")
	st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Empty(t, st.PhaseArtifacts, "refused evidence is not stored")
}

func TestCompletePhaseCopiesEvidence(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	ev := map[string]any{"n": 0}
	_, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, ev)
	require.NoError(t, err)
	ev["n"] = 99 // the caller reuses its map
	st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"n": 0.0}, st.PhaseArtifacts[0].Evidence)
	st.PhaseArtifacts[0].Evidence["n"] = 7 // and State returns a copy
	st2, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"n": 0.0}, st2.PhaseArtifacts[0].Evidence)
}

func TestSessionIDErrors(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	for _, id := range []string{"", "not-a-uuid", "../../etc/passwd", "/etc/passwd", "123e4567-e89b-42d3-a456-42661417400\x00", "../123e4567-e89b-42d3-a456-426614174000", "{123e4567-e89b-42d3-a456-426614174000}"} {
		// The engine takes only parsed IDs: a bad one stops at the parse.
		_, err := state.ParseSessionID(id)
		require.ErrorIs(t, err, state.ErrInvalidArgument, "%q", id)
		assert.Contains(t, err.Error(), "session_id")
	}
	// Upper case is the same UUID.
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	st, err := en.State(t.Context(), state.MustParseSessionID(strings.ToUpper(r.SessionID)))
	require.NoError(t, err)
	assert.Equal(t, r.SessionID, st.SessionID)
}

func TestListSessions(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	a, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	en.clock.Advance(time.Second)
	b, err := en.Start(ctx, MustParseWorkflowName("demo"), "b", nil)
	require.NoError(t, err)
	for p := range 3 {
		en.clock.Advance(time.Second)
		_, err = en.CompletePhase(ctx, state.MustParseSessionID(a.SessionID), p, demoPass[p])
		require.NoError(t, err)
	}
	bad := uuid.NewString()
	writeFiles(t, en.stateDir, map[string]string{bad + ".json": "{not json", "notes.txt": "ignored"})

	// A file put in the folder by hand is indexed when it is first
	// loaded.
	_, err = en.State(ctx, state.MustParseSessionID(bad))
	require.ErrorIs(t, err, state.ErrCorrupt)

	page, err := en.ListSessions(ctx, state.PageQuery{})
	require.NoError(t, err)
	all := page.Sessions
	require.Len(t, all, 3)
	assert.Nil(t, page.Next)
	assert.Equal(t, b.SessionID, all[0].SessionID, "newest created first")
	assert.Equal(t, a.SessionID, all[1].SessionID)
	assert.Equal(t, bad, all[2].SessionID, "a session that cannot be read lists last")
	var corrupt *state.SessionSummary
	for i := range all {
		if all[i].SessionID == bad {
			corrupt = &all[i]
		}
	}
	require.NotNil(t, corrupt)
	assert.Contains(t, corrupt.Error, "corrupt")

	page, err = en.ListSessions(ctx, state.PageQuery{Status: state.StatusActive})
	require.NoError(t, err)
	active := page.Sessions
	require.Len(t, active, 1)
	assert.Equal(t, b.SessionID, active[0].SessionID)
	page, err = en.ListSessions(ctx, state.PageQuery{Status: state.StatusCompleted})
	require.NoError(t, err)
	done := page.Sessions
	require.Len(t, done, 1)
	assert.Equal(t, []int{0, 1, 2}, done[0].CompletedPhases)

	_, err = en.Pause(ctx, state.MustParseSessionID(b.SessionID), "")
	require.NoError(t, err)
	paused, err := en.ListSessions(ctx, state.PageQuery{Status: state.StatusPaused})
	require.NoError(t, err)
	require.Len(t, paused.Sessions, 1)
	assert.Equal(t, b.SessionID, paused.Sessions[0].SessionID)
	assert.True(t, paused.Sessions[0].Paused)

	_, err = en.ListSessions(ctx, state.PageQuery{Status: "halted"})
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "status")
}

func TestDeleteSession(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	require.NoError(t, en.DeleteSession(ctx, state.MustParseSessionID(r.SessionID)))
	assert.Empty(t, en.stateFiles(t))
	_, cached := en.sessions.Get(r.SessionID)
	assert.False(t, cached, "file and cache entry leave together")
	_, err = en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.ErrorIs(t, err, state.ErrNotFound)
	require.ErrorIs(t, en.DeleteSession(ctx, state.MustParseSessionID(r.SessionID)), state.ErrNotFound)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.ErrorIs(t, err, state.ErrNotFound)
}

// TestDeletedSessionHeldByAnotherCallerIsNotServed: a caller that looked
// the session up before it was deleted cannot mutate or resurrect it.
func TestDeletedSessionHeldByAnotherCallerIsNotServed(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	held, err := en.lookup(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	require.NoError(t, en.DeleteSession(ctx, state.MustParseSessionID(r.SessionID)))
	held.mu.Lock()
	_, err = en.completeLocked(ctx, held, 0, map[string]any{"n": 1}, &checkMemo{})
	held.mu.Unlock()
	require.ErrorIs(t, err, state.ErrNotFound)
	en.touch(r.SessionID, held)
	_, cached := en.sessions.Get(r.SessionID)
	assert.False(t, cached)
	assert.Empty(t, en.stateFiles(t))
}

func TestCorruptStateFileAffectsOnlyThatSession(t *testing.T) {
	wf := demoWorkflows(t)
	stateDir := t.TempDir()
	bad := uuid.NewString()
	wrongID := uuid.NewString()
	writeFiles(t, stateDir, map[string]string{
		bad + ".json":     `{"session_id": "` + bad + `", "workflow_type": "demo", "current_phase": "x"}`,
		wrongID + ".json": `{"session_id": "` + bad + `", "workflow_type": "demo"}`,
	})
	en := newEnvAt(t, wf, stateDir)
	ctx := t.Context()
	good, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)

	_, err = en.State(ctx, state.MustParseSessionID(bad))
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), bad)
	assert.Contains(t, err.Error(), "delete")
	_, err = en.State(ctx, state.MustParseSessionID(wrongID))
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), "holds session_id")

	_, err = en.State(ctx, state.MustParseSessionID(good.SessionID))
	require.NoError(t, err)
	require.NoError(t, en.DeleteSession(ctx, state.MustParseSessionID(bad)), "a corrupt session can be deleted")
	_, err = os.Stat(filepath.Join(stateDir, bad+".json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// praxisState is a state file as prAxIs OS writes it: naive timestamps,
// phase keys as strings, no status, no version.
const praxisState = `{
  "session_id": "%s",
  "workflow_type": "demo",
  "target_file": "src/legacy.py",
  "current_phase": 1,
  "completed_phases": [0],
  "phase_artifacts": {
    "0": {"phase_number": 0, "evidence": {"n": 2}, "outputs": {"file": "x"}, "commands_executed": [{"command": "pytest", "exit_code": 0}], "timestamp": "2025-10-06T12:34:56.789012"}
  },
  "checkpoints": {"0": "passed", "1": "pending"},
  "created_at": "2025-10-06T12:00:00.000001",
  "updated_at": "2025-10-06T12:34:56.789012",
  "metadata": {"created_by": "praxis"}
}`

func TestReadsPraxisSessionFile(t *testing.T) {
	wf := demoWorkflows(t)
	stateDir := t.TempDir()
	id := uuid.NewString()
	writeFiles(t, stateDir, map[string]string{id + ".json": strings.Replace(praxisState, "%s", id, 1)})
	en := newEnvAt(t, wf, stateDir)
	ctx := t.Context()

	st, err := en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, "src/legacy.py", st.TargetFile)
	assert.Equal(t, 1, st.CurrentPhase)
	assert.Equal(t, []int{0}, st.CompletedPhases)
	assert.Equal(t, state.CheckpointPassed, st.Checkpoints[0])
	assert.Equal(t, state.StatusActive, st.Status)
	assert.Equal(t, time.Date(2025, 10, 6, 12, 34, 56, 789012000, time.UTC), st.UpdatedAt)
	assert.Equal(t, map[string]any{"n": 2.0}, st.PhaseArtifacts[0].Evidence)
	assert.Equal(t, "praxis", st.Metadata["created_by"])

	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "src/legacy.py", nil)
	require.NoError(t, err)
	assert.Equal(t, id, r.SessionID, "an active prAxIs OS session is resumed")
	assert.True(t, r.Resumed)

	_, err = en.CompletePhase(ctx, state.MustParseSessionID(id), 1, nil)
	require.NoError(t, err)
	_, ver, err := en.fstore.Load(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, state.Version(2), ver, "a file without version is version 1")
	st, err = en.State(ctx, state.MustParseSessionID(id))
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{"command": "pytest", "exit_code": 0.0}}, st.PhaseArtifacts[0].CommandsExecuted)
}

func TestIdleSessionLeavesMemory(t *testing.T) {
	en := newEnv(t, demoWorkflows(t), func(c *Config) { c.SessionTTL = time.Hour })
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	busy, err := en.Start(ctx, MustParseWorkflowName("demo"), "b", nil)
	require.NoError(t, err)
	sc := en.sessions

	submitting, err := en.Start(ctx, MustParseWorkflowName("demo"), "c", nil)
	require.NoError(t, err)

	// One session is read every 20 minutes, one gets a (failing)
	// submission every 20 minutes; the other is idle.
	for range 4 {
		en.clock.Advance(20 * time.Minute)
		_, err = en.CurrentPhase(ctx, state.MustParseSessionID(busy.SessionID))
		require.NoError(t, err)
		_, err = en.CompletePhase(ctx, state.MustParseSessionID(submitting.SessionID), 0, map[string]any{"n": 0})
		require.NoError(t, err)
		sc.Sweep()
	}
	_, cached := en.sessions.Get(r.SessionID)
	assert.False(t, cached, "idle for 80 minutes with a 1 h TTL")
	_, cached = en.sessions.Get(busy.SessionID)
	assert.True(t, cached, "read every 20 minutes")
	_, cached = en.sessions.Get(submitting.SessionID)
	assert.True(t, cached, "submitted to every 20 minutes")

	loads := en.store.loads.Load()
	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err, "the state stays on disk")
	assert.Equal(t, 0, st.CurrentPhase)
	assert.Equal(t, loads+1, en.store.loads.Load())
	assert.Positive(t, en.Metrics()["sessions"].Expirations)
}

func TestMetrics(t *testing.T) {
	en := newEnv(t, demoWorkflows(t))
	r, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "a", nil)
	require.NoError(t, err)
	_, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	m := en.Metrics()
	require.Contains(t, m, "sessions")
	require.Contains(t, m, "gates")
	assert.Equal(t, int64(1), m["sessions"].Entries)
	// Phase 0's gate is read by Start (its checks are listed) and
	// served from the cache to CompletePhase; phase 1's is read for the
	// next phase's content.
	assert.Equal(t, int64(2), m["gates"].Loads)
}

func TestListWorkflowsBuiltin(t *testing.T) {
	en := newEnv(t, "")
	list, err := en.ListWorkflows(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, "bug_fix", list[0].Name)
	assert.Equal(t, "feature_delivery", list[1].Name)
	assert.Equal(t, "spec_execution_v1", list[2].Name)
	for _, w := range list {
		assert.Empty(t, w.Problems, w.Name)
		assert.Equal(t, w.Name, w.WorkflowType)
		if w.Name == "spec_execution_v1" {
			// Phase 0 is listed; the rest come from the spec.
			assert.True(t, w.TotalPhases.Dynamic)
			assert.Equal(t, 1, w.Phases)
		} else {
			assert.Equal(t, w.Phases, w.TotalPhases.N)
		}
		assert.NotEmpty(t, w.Description)
	}
}

func TestBuiltinWorkflowsValidate(t *testing.T) {
	assert.Empty(t, workflows.ValidateFS(workflows.BuiltinWorkflows()))
}

// TestBuiltinGatesUseEveryTypeAndConstraint: between them the sample
// gates use every field type and every constraint.
func TestBuiltinGatesUseEveryTypeAndConstraint(t *testing.T) {
	fsys := workflows.BuiltinWorkflows()
	types := map[checkpoint.FieldType]bool{}
	cons := map[string]bool{}
	strictSeen := map[bool]bool{}
	for _, wf := range []string{"feature_delivery", "bug_fix"} {
		m, err := workflows.ReadMetadata(fsys, wf)
		require.NoError(t, err)
		for _, p := range m.Phases {
			data, err := workflows.ReadFile(fsys, filepath.ToSlash(filepath.Join(wf, "phases", itoa(p.PhaseNumber), checkpoint.GateFile)), checkpoint.MaxGateBytes)
			require.NoError(t, err)
			g, err := checkpoint.ParseGate(data, wf)
			require.NoError(t, err)
			strictSeen[g.Strict] = true
			for _, f := range g.Fields {
				types[f.Type] = true
				cons["min"] = cons["min"] || f.Min != nil
				cons["max"] = cons["max"] || f.Max != nil
				cons["min_length"] = cons["min_length"] || f.MinLength != nil
				cons["max_length"] = cons["max_length"] || f.MaxLength != nil
				cons["pattern"] = cons["pattern"] || f.Pattern != nil
				cons["enum"] = cons["enum"] || len(f.Enum) > 0
				cons["min_items"] = cons["min_items"] || f.MinItems != nil
			}
		}
	}
	assert.Len(t, types, 6, "%v", types)
	for _, c := range []string{"min", "max", "min_length", "max_length", "pattern", "enum", "min_items"} {
		assert.True(t, cons[c], c)
	}
	assert.Len(t, strictSeen, 2, "both strict and lenient gates are shown")
}

func TestBuiltinFeatureDeliveryRunsToTheEnd(t *testing.T) {
	proj := t.TempDir()
	writeFiles(t, proj, map[string]string{"docs/design/csv-export.md": "# CSV export\n"})
	en := newEnv(t, "", func(c *Config) { c.ProjectDir = proj })
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("feature_delivery"), "cmd/export/csv.go", nil)
	require.NoError(t, err)
	evidence := []map[string]any{
		{"summary": "Add a CSV export of the monthly report next to the existing PDF one.", "acceptance_criteria": []any{"a", "b"}, "affected_files": []any{"report/export.go"}, "open_questions": []any{}, "scope_confirmed": true, "size": "small"},
		{"design_note": "docs/design/csv-export.md", "approach": "extend_existing", "interfaces_changed": 1, "risks": []any{"encoding of commas"}, "alternatives": map[string]any{"new_module": "too small for its own package"}},
		{"tests_added": 4, "tests_passed": 2, "tests_failed": 0, "coverage_percent": 87.5, "lint_clean": true, "commit": "3f2a9c1", "test_report": "out/report.json"},
		{"pr_url": "https://example.com/pr/42", "changelog_entry": "Reports can be exported as CSV.", "reviewers": []any{"sam"}, "docs_updated": true},
	}
	for p, ev := range evidence {
		if p == 2 {
			// The phase's work: code and a test report written after
			// the phase opened (dated ahead, as the file system's clock
			// may lag the wall clock by a tick).
			writeFiles(t, proj, map[string]string{
				"report/export.go": "package report\n",
				"out/report.json":  "{\"Action\":\"pass\",\"Package\":\"report\",\"Test\":\"TestCSV\"}\n{\"Action\":\"pass\",\"Package\":\"report\",\"Test\":\"TestCommas\"}\n{\"Action\":\"pass\",\"Package\":\"report\"}\n",
			})
			later := time.Now().Add(time.Minute)
			for _, f := range []string{"report/export.go", "out/report.json"} {
				require.NoError(t, os.Chtimes(filepath.Join(proj, f), later, later))
			}
		}
		res, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), p, ev)
		require.NoError(t, err)
		require.True(t, res.CheckpointPassed, "phase %d: %v", p, res.ValidationResult.Errors)
		assert.Empty(t, res.ValidationResult.Warnings, "phase %d", p)
	}
	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, state.StatusCompleted, st.Status)
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
		is    error
	}{
		{Config{}, "Config.StateDir", state.ErrInvalidArgument},
		{Config{StateDir: t.TempDir(), SessionTTL: -1}, "Config.SessionTTL", state.ErrInvalidArgument},
		{Config{StateDir: t.TempDir(), MaxEvidenceBytes: -1}, "Config.MaxEvidenceBytes", state.ErrInvalidArgument},
		{Config{StateDir: t.TempDir(), GateRecheck: -1}, "Config.GateRecheck", state.ErrInvalidArgument},
		{Config{StateDir: t.TempDir(), WorkflowsDir: filepath.Join(t.TempDir(), "missing")}, "Config.WorkflowsDir", state.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		require.ErrorIs(t, err, tt.is)
		assert.Contains(t, err.Error(), tt.field)
	}
}

func TestClosedEngine(t *testing.T) {
	e, err := New(Config{StateDir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close(), "Close twice is fine")
	_, err = e.Start(t.Context(), MustParseWorkflowName("bug_fix"), "a", nil)
	require.ErrorIs(t, err, state.ErrClosed)
	_, err = e.ListSessions(t.Context(), state.PageQuery{})
	require.ErrorIs(t, err, state.ErrClosed)
}
