//go:build unix

package engine

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// checkedMetadata is a two-phase workflow whose phase 0 gate runs a
// command and whose phase 1 gate reads a test report.
const checkedMetadata = `{
  "workflow_type": "checked", "version": "1", "name": "Checked", "description": "d",
  "total_phases": 2, "estimated_duration": "1h", "primary_outputs": [],
  "phases": [
    {"phase_number": 0, "phase_name": "Run", "purpose": "p", "estimated_effort": "1m", "key_deliverables": [], "validation_criteria": [], "tasks": []},
    {"phase_number": 1, "phase_name": "Test", "purpose": "p", "estimated_effort": "1m", "key_deliverables": [], "validation_criteria": [], "tasks": []}
  ]
}`

const checkedGate0 = `checkpoint: {strict: true}
evidence_schema:
  summary: {type: string, required: true}
checks:
  - kind: command
    argv: [sh, -c, 'cat gate.fifo 2>/dev/null; echo ran >> runs.log']
  - kind: git
    strict: false
`

const checkedGate1 = `checkpoint: {strict: true}
evidence_schema:
  tests_failed: {type: integer, required: true}
checks:
  - kind: test_report
    path: report.json
    failed_field: tests_failed
  - kind: files_changed
    strict: false
`

// checkedEnv is an engine on the checked workflow and a project folder.
func checkedEnv(t *testing.T, allow bool) (*env, string) {
	t.Helper()
	wf := t.TempDir()
	writeFiles(t, wf, map[string]string{
		"checked/metadata.json":                 checkedMetadata,
		"checked/phases/0/phase.md":             "# Run\n",
		"checked/phases/0/gate-definition.yaml": checkedGate0,
		"checked/phases/1/phase.md":             "# Test\n",
		"checked/phases/1/gate-definition.yaml": checkedGate1,
		"demo/metadata.json":                    demoMetadata,
		"demo/phases/0/phase.md":                "# Phase zero\n",
		"demo/phases/0/task-0-zero.md":          "t\n",
		"demo/phases/0/task-1-one.md":           "t\n",
		"demo/phases/0/gate-definition.yaml":    demoGate0,
		"demo/phases/1/phase.md":                "# Phase one\n",
		"demo/phases/1/task-1-only.md":          "t\n",
		"demo/phases/2/phase.md":                "# Phase two\n",
	})
	proj := t.TempDir()
	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = proj; c.AllowGateCommands = allow })
	return en, proj
}

func TestPhaseListsItsChecks(t *testing.T) {
	en, _ := checkedEnv(t, false)
	r, err := en.Start(t.Context(), MustParseWorkflowName("checked"), "t", nil)
	require.NoError(t, err)
	require.Len(t, r.Checks, 2)
	assert.Equal(t, "checks[0].command", r.Checks[0].Name)
	assert.False(t, r.Checks[1].Strict, "the git check says strict: false")
	assert.True(t, r.Checks[0].Strict)
	assert.Contains(t, r.Checks[0].Summary, "--allow-gate-commands")
	v, err := en.CurrentPhase(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, r.Checks, v.Checks)
}

func TestGateCommandDisabledFailsTheGate(t *testing.T) {
	en, proj := checkedEnv(t, false)
	r, err := en.Start(t.Context(), MustParseWorkflowName("checked"), "t", nil)
	require.NoError(t, err)
	res, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"summary": "done"})
	require.NoError(t, err)
	assert.False(t, res.CheckpointPassed)
	require.Len(t, res.ValidationResult.Checks, 2)
	assert.Equal(t, checkpoint.VerdictFailed, res.ValidationResult.Checks[0].Verdict)
	assert.Contains(t, res.ValidationResult.Errors[0], "--allow-gate-commands")
	assert.NoFileExists(t, filepath.Join(proj, "runs.log"))
}

// TestConcurrentCompletesRunGateCommandOnce: agents completing the same
// phase at once run its command once; the others are answered as
// retries with its verdict.
func TestConcurrentCompletesRunGateCommandOnce(t *testing.T) {
	for _, n := range []int{2, 8} {
		en, proj := checkedEnv(t, true)
		r, err := en.Start(t.Context(), MustParseWorkflowName("checked"), "t", nil)
		require.NoError(t, err)
		ev := map[string]any{"summary": "done"}
		testutil.Release(n, func(i int) {
			res, err := en.CompletePhase(callerCtx(t.Context(), i), state.MustParseSessionID(r.SessionID), 0, ev)
			if err != nil {
				t.Errorf("agent %d: %v", i, err)
				return
			}
			if !res.CheckpointPassed || len(res.ValidationResult.Checks) != 2 || res.ValidationResult.Checks[0].Verdict != checkpoint.VerdictPassed {
				t.Errorf("agent %d: %+v", i, res.ValidationResult)
			}
		})
		b, err := os.ReadFile(filepath.Join(proj, "runs.log"))
		require.NoError(t, err)
		assert.Equal(t, "ran\n", string(b), "%d agents at once ran the command once", n)
	}
}

// TestGateCommandBlocksNoOtherSession: while one session's command runs,
// other sessions start, read and complete phases.
func TestGateCommandBlocksNoOtherSession(t *testing.T) {
	en, proj := checkedEnv(t, true)
	fifo := filepath.Join(proj, "gate.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	r, err := en.Start(t.Context(), MustParseWorkflowName("checked"), "t", nil)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"summary": "done"})
		done <- err
	}()
	// Opening the FIFO for writing returns once the command opened it
	// for reading: the command is running from here on.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	other, err := en.Start(t.Context(), MustParseWorkflowName("demo"), "other", nil)
	require.NoError(t, err)
	res, err := en.CompletePhase(t.Context(), state.MustParseSessionID(other.SessionID), 0, demoPass[0])
	require.NoError(t, err)
	assert.True(t, res.CheckpointPassed)
	_, err = en.CurrentPhase(t.Context(), state.MustParseSessionID(other.SessionID))
	require.NoError(t, err)
	select {
	case err := <-done:
		t.Fatalf("the command ended before it was released: %v", err)
	default:
	}
	require.NoError(t, w.Close())
	require.NoError(t, <-done)
}

func TestPhaseStartsRecordedAndCheckCatchesFalseClaim(t *testing.T) {
	requireGit(t)
	en, proj := checkedEnv(t, true)
	git := gitIn(t, proj)
	git("init", "-q")
	writeFiles(t, proj, map[string]string{"a.go": "package a\n", ".gitignore": "runs.log\nreport.json\n"})
	git("add", ".")
	git("commit", "-qm", "one")
	head := git("rev-parse", "HEAD")

	r, err := en.Start(t.Context(), MustParseWorkflowName("checked"), "t", nil)
	require.NoError(t, err)
	st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	rec := st.Recovery.PhaseStarts[0]
	assert.Equal(t, head, rec.Head)
	assert.True(t, rec.Git)
	assert.False(t, rec.Dirty)

	res, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"summary": "done"})
	require.NoError(t, err)
	require.True(t, res.CheckpointPassed, "%+v", res.ValidationResult)

	// Read back from the state file: phase 1's start is kept too, in
	// mcpflow's record under metadata, which prAxIs OS carries along.
	loaded, _, err := en.fstore.Load(t.Context(), r.SessionID)
	require.NoError(t, err)
	require.Contains(t, loaded.Recovery.PhaseStarts, 1)
	assert.Equal(t, head, loaded.Recovery.PhaseStarts[1].Head)
	raw, err := os.ReadFile(filepath.Join(en.stateDir, r.SessionID+".json"))
	require.NoError(t, err)
	var doc struct {
		Metadata struct {
			Mcpflow struct {
				PhaseStarts map[string]map[string]any `json:"phase_starts"`
			} `json:"mcpflow"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, head, doc.Metadata.Mcpflow.PhaseStarts["1"]["head"], "state file: %s", raw)
	require.Len(t, loaded.PhaseArtifacts[0].Checks, 2)
	assert.Equal(t, "passed", loaded.PhaseArtifacts[0].Checks[0].Verdict)
	assert.Equal(t, "passed", loaded.PhaseArtifacts[0].Checks[1].Verdict, "nothing uncommitted")

	writeFiles(t, proj, map[string]string{"report.json": `{"Action":"run","Package":"a","Test":"TestA"}
{"Action":"pass","Package":"a","Test":"TestA"}
{"Action":"run","Package":"a","Test":"TestB"}
{"Action":"fail","Package":"a","Test":"TestB"}
{"Action":"fail","Package":"a"}
`})
	// Dated ahead: the file system's clock may lag the wall clock by a
	// tick, and the report must be newer than the phase's start.
	later := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(filepath.Join(proj, "report.json"), later, later))
	res, err = en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 1, map[string]any{"tests_failed": 0})
	require.NoError(t, err)
	assert.False(t, res.CheckpointPassed)
	require.Len(t, res.ValidationResult.Errors, 1)
	assert.Equal(t, "checks[0].test_report: evidence tests_failed says 0, the report has 1; report.json (go_test_json): 1 passed, 1 failed, 0 skipped (failed: TestB)", res.ValidationResult.Errors[0])
	assert.Contains(t, res.ValidationResult.Remediation, "submit the counts the report holds")
}

// TestRollbackReopensThePhaseStart: a phase that a rollback re-opens
// records the project as it is then, so its checks compare with that.
func TestRollbackReopensThePhaseStart(t *testing.T) {
	requireGit(t)
	en, proj := checkedEnv(t, true)
	git := gitIn(t, proj)
	git("init", "-q")
	writeFiles(t, proj, map[string]string{"a.go": "package a\n", ".gitignore": "runs.log\n"})
	git("add", ".")
	git("commit", "-qm", "one")
	first := git("rev-parse", "HEAD")
	r, err := en.Start(t.Context(), MustParseWorkflowName("checked"), "t", nil)
	require.NoError(t, err)
	res, err := en.CompletePhase(t.Context(), state.MustParseSessionID(r.SessionID), 0, map[string]any{"summary": "done"})
	require.NoError(t, err)
	require.True(t, res.CheckpointPassed, "%+v", res.ValidationResult)

	writeFiles(t, proj, map[string]string{"a.go": "package a // two\n"})
	git("commit", "-qam", "two")
	second := git("rev-parse", "HEAD")
	_, err = en.Rollback(t.Context(), state.MustParseSessionID(r.SessionID), 0)
	require.NoError(t, err)
	st, err := en.State(t.Context(), state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	require.NotEqual(t, first, second)
	assert.Equal(t, second, st.Recovery.PhaseStarts[0].Head, "phase 0 opened again at the second commit")
}

// requireGit skips the test when git is not installed.
func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// gitIn returns a function that runs git with its arguments in dir, with
// a fixed identity and HOME=dir so that the user's configuration plays no
// part, and returns its output, trimmed; a failure fails the test.
func gitIn(t *testing.T, dir string) func(args ...string) string {
	t.Helper()
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.TrimSpace(string(out))
	}
}
