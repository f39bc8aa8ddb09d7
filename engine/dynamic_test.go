package engine

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// leftover matches a placeholder the renderer knows but did not replace.
var leftover = regexp.MustCompile(`\[(PHASE|TASK|VALIDATION|ACCEPTANCE|ESTIMATED|DEPENDENCIES|TOTAL|NEXT|SPEC|PRIORITY)[A-Z_]*\]`)

// praxisProject lays out a project with .praxis-os/workflows holding the
// built-in spec_execution_v1 (without its example spec) and .praxis-os/specs/<name>/tasks.md holding
// tasks, and returns the project folder and the workflows folder.
func praxisProject(t *testing.T, name string, tasks []byte) (root, wfDir string) {
	t.Helper()
	root = t.TempDir()
	wfDir = filepath.Join(root, ".praxis-os", "workflows")
	require.NoError(t, os.CopyFS(filepath.Join(wfDir, "spec_execution_v1"), mustSub(t, workflows.BuiltinWorkflows(), "spec_execution_v1")))
	// A prAxIs OS project's workflow has no example spec: spec_path is
	// required.
	meta := filepath.Join(wfDir, "spec_execution_v1", workflows.MetadataFile)
	b, err := os.ReadFile(meta)
	require.NoError(t, err)
	b = regexp.MustCompile(`,\s*"example_spec": "[^"]*"`).ReplaceAll(b, nil)
	require.NoError(t, os.WriteFile(meta, b, 0o644))
	dir := filepath.Join(root, ".praxis-os", "specs", name)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tasks.md"), tasks, 0o644))
	return root, wfDir
}

func mustSub(t *testing.T, fsys fs.FS, dir string) fs.FS {
	t.Helper()
	sub, err := fs.Sub(fsys, dir)
	require.NoError(t, err)
	return sub
}

func readSpec(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "spec", "testdata", name))
	require.NoError(t, err)
	return b
}

// phase0Evidence passes the built-in spec_execution_v1's phase 0 gate.
func phase0Evidence() map[string]any {
	return map[string]any{"spec_read": true, "phases_found": 2, "plan_summary": "limiter first, then the flag"}
}

// TestDynamicExampleSpec runs the built-in spec_execution_v1 on its example
// spec, with no project: phase 0 is the static phase on disk, phases 1 and
// 2 are rendered from the example tasks.md, their gates come from its
// validation-gate lists, and completing both ends the workflow.
func TestDynamicExampleSpec(t *testing.T) {
	en := newEnv(t, "")
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("spec_execution_v1"), "login rate limit", nil)
	require.NoError(t, err)
	assert.Equal(t, 0, r.CurrentPhase)
	assert.Equal(t, 3, r.TotalPhases)
	assert.Contains(t, r.PhaseContent, "# Phase 0: Read the spec and plan")
	require.Len(t, r.Tasks, 3)

	c, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, phase0Evidence())
	require.NoError(t, err)
	require.True(t, c.CheckpointPassed, "%v", c.ValidationResult.Errors)
	require.NotNil(t, c.NextPhase)
	assert.Equal(t, 1, *c.NextPhase)
	assert.Equal(t, "Limiter", c.NextPhaseContent.PhaseName)

	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, 3, v.TotalPhases)
	assert.Equal(t, "Limiter", v.PhaseName)
	assert.Equal(t, "Add a token-bucket limiter in front of the login handler.", v.Purpose)
	assert.Contains(t, v.Content, "# Phase 1 of 2: Limiter")
	assert.Contains(t, v.Content, "**Estimated duration:** 2 hours")
	assert.Contains(t, v.Content, "- [ ] `unit_tests_pass`: Unit tests pass")
	assert.Contains(t, v.Content, "- [ ] `limiter_is_documented`: Limiter is documented")
	assert.Contains(t, v.Content, "- Task 1.2: Wire it in (get_task task_number 2)")
	assert.Contains(t, v.Content, "The phase after this one is 2.")
	assert.NotRegexp(t, leftover, v.Content)
	require.Len(t, v.Tasks, 2)
	assert.Equal(t, TaskInfo{TaskNumber: 1, Name: "Write the limiter", File: "spec_execution_v1/example-spec/tasks.md", Purpose: "Write a token bucket keyed by client address.", EstimatedTime: "1 hour", Dependencies: []string{}}, v.Tasks[0])

	tv, err := en.Task(ctx, state.MustParseSessionID(r.SessionID), 1, 2)
	require.NoError(t, err)
	assert.Equal(t, r.SessionID, tv.SessionID)
	assert.Equal(t, "Wire it in", tv.Name)
	assert.Contains(t, tv.Content, "# Task 1.2: Wire it in")
	assert.Contains(t, tv.Content, "**Depends on:** Task 1.1")
	assert.Contains(t, tv.Content, "- [ ] Over-limit requests get 429")
	assert.Contains(t, tv.Content, "- [ ] 429 seen in the integration test")
	assert.Contains(t, tv.Content, "this is the phase's last task")
	assert.NotRegexp(t, leftover, tv.Content)
	_, err = en.Task(ctx, state.MustParseSessionID(r.SessionID), 1, 3)
	require.ErrorIs(t, err, state.ErrNotFound)
	assert.Contains(t, err.Error(), "its tasks are [1 2]")
	_, err = en.Task(ctx, state.MustParseSessionID(r.SessionID), 2, 1)
	require.ErrorIs(t, err, state.ErrWrongPhase, "phase 2 is not open yet")

	// A gate item left false or out fails the gate, naming the field.
	c, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, map[string]any{"unit_tests_pass": true, "limiter_is_documented": false})
	require.NoError(t, err)
	assert.False(t, c.CheckpointPassed)
	assert.Contains(t, strings.Join(c.ValidationResult.Errors, "\n"), "limiter_is_documented")
	c, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, map[string]any{"unit_tests_pass": true})
	require.NoError(t, err)
	assert.False(t, c.CheckpointPassed)
	c, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, map[string]any{"unit_tests_pass": true, "limiter_is_documented": true})
	require.NoError(t, err)
	require.True(t, c.CheckpointPassed, "%v", c.ValidationResult.Errors)
	assert.Equal(t, "Rollout", c.NextPhaseContent.PhaseName)

	c, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 2, map[string]any{"flag_defaults_to_off": true})
	require.NoError(t, err)
	assert.True(t, c.WorkflowComplete)
	st, err := en.State(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 2}, st.CompletedPhases)
	assert.Equal(t, state.StatusCompleted, st.Status)
}

// TestDynamicProjectSpec runs the real thread-safety spec from a project's
// .praxis-os/specs folder: 4 phases from tasks.md after phase 0, with 4,
// 3, 5 and 3 tasks, every task readable, every gate built from the
// phase's validation-gate list.
func TestDynamicProjectSpec(t *testing.T) {
	root, wf := praxisProject(t, "2025-10-13-thread-safety", readSpec(t, "tasks-thread-safety.md"))
	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
	ctx := t.Context()
	specPath := ".praxis-os/specs/2025-10-13-thread-safety"
	r, err := en.Start(ctx, MustParseWorkflowName("spec_execution_v1"), specPath, map[string]any{"spec_path": specPath})
	require.NoError(t, err)
	assert.Equal(t, 5, r.TotalPhases)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, phase0Evidence())
	require.NoError(t, err)

	wantTasks := []int{4, 3, 5, 3}
	read := 0
	for p := 1; p <= 4; p++ {
		v, err := en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
		require.NoError(t, err)
		require.Equal(t, p, v.Phase)
		require.Len(t, v.Tasks, wantTasks[p-1])
		assert.NotRegexp(t, leftover, v.Content)
		for _, ti := range v.Tasks {
			tv, err := en.Task(ctx, state.MustParseSessionID(r.SessionID), p, ti.TaskNumber)
			require.NoError(t, err)
			assert.Contains(t, tv.Content, ti.Name)
			assert.NotRegexp(t, leftover, tv.Content)
			read++
		}
		ev := map[string]any{}
		for _, f := range gateFields(t, v.Content) {
			ev[f] = true
		}
		require.Len(t, ev, 3, "each phase of the spec lists three gate items")
		c, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), p, ev)
		require.NoError(t, err)
		require.True(t, c.CheckpointPassed, "phase %d: %v", p, c.ValidationResult.Errors)
		assert.Equal(t, p == 4, c.WorkflowComplete)
	}
	assert.Equal(t, 15, read)
	assert.Equal(t, int64(1), en.specs.Parses(), "the spec is parsed once for the whole run")
}

var gateField = regexp.MustCompile("(?m)^- \\[ \\] `([a-z0-9_]+)`:")

// gateFields returns the evidence fields a rendered phase asks for.
func gateFields(t *testing.T, content string) []string {
	t.Helper()
	var out []string
	for _, m := range gateField.FindAllStringSubmatch(content, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDynamicSpecPathErrors: every bad spec_path is refused at Start with
// an error naming options.spec_path, and no session is left behind.
func TestDynamicSpecPathErrors(t *testing.T) {
	root, wf := praxisProject(t, "good", readSpec(t, "tasks-small.md"))
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "tasks.md"), readSpec(t, "tasks-small.md"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, ".praxis-os", "specs", "escape")))
	bad := filepath.Join(root, ".praxis-os", "specs", "bad")
	require.NoError(t, os.MkdirAll(bad, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "tasks.md"), []byte("# Tasks\n\n#### Task 1.1: Early\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "empty"), 0o755))

	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
	for _, tc := range []struct {
		name string
		opts map[string]any
		is   error
		msg  string
	}{
		{"missing", nil, state.ErrInvalidArgument, "options.spec_path is required"},
		{"not a string", map[string]any{"spec_path": 3}, state.ErrInvalidArgument, "must be a string"},
		{"parent", map[string]any{"spec_path": "../x"}, state.ErrInvalidArgument, "outside the project folder"},
		{"absolute outside", map[string]any{"spec_path": outside}, state.ErrInvalidArgument, "outside the project folder"},
		{"symlink out", map[string]any{"spec_path": ".praxis-os/specs/escape"}, state.ErrInvalidArgument, "outside the project folder"},
		{"absent", map[string]any{"spec_path": ".praxis-os/specs/nope"}, state.ErrInvalidArgument, "does not exist"},
		{"no tasks.md", map[string]any{"spec_path": "empty"}, state.ErrInvalidArgument, "has no tasks.md"},
		{"task outside a phase", map[string]any{"spec_path": ".praxis-os/specs/bad"}, state.ErrInvalidArgument, "line 3: Task 1.1 is outside a phase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := en.Start(t.Context(), MustParseWorkflowName("spec_execution_v1"), "t-"+tc.name, tc.opts)
			require.ErrorIs(t, err, tc.is)
			assert.Contains(t, err.Error(), "options.spec_path")
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	page, err := en.ListSessions(t.Context(), state.PageQuery{})
	require.NoError(t, err)
	assert.Empty(t, page.Sessions)

	// An absolute path inside the project is accepted, and so is the
	// tasks.md itself.
	for _, p := range []string{filepath.Join(root, ".praxis-os", "specs", "good"), ".praxis-os/specs/good/tasks.md"} {
		r, err := en.Start(t.Context(), MustParseWorkflowName("spec_execution_v1"), p, map[string]any{"spec_path": p})
		require.NoError(t, err, p)
		assert.Equal(t, 3, r.TotalPhases)
	}
}

// TestDynamicSpecEditIsSeen: a change to tasks.md is served once the
// recheck interval has passed, and the file is parsed once per version.
func TestDynamicSpecEditIsSeen(t *testing.T) {
	root, wf := praxisProject(t, "s", readSpec(t, "tasks-small.md"))
	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("spec_execution_v1"), "s", map[string]any{"spec_path": ".praxis-os/specs/s"})
	require.NoError(t, err)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, phase0Evidence())
	require.NoError(t, err)
	v, err := en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, "Limiter", v.PhaseName)

	file := filepath.Join(root, ".praxis-os", "specs", "s", "tasks.md")
	edited := strings.Replace(string(readSpec(t, "tasks-small.md")), "## Phase 1: Limiter", "## Phase 1: Token bucket", 1)
	require.NoError(t, os.WriteFile(file, []byte(edited), 0o644))
	require.NoError(t, os.Chtimes(file, time.Now(), time.Now().Add(time.Hour)))
	v, err = en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, "Limiter", v.PhaseName, "served from the cache until the recheck")
	en.clock.Advance(2 * time.Second)
	v, err = en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
	require.NoError(t, err)
	assert.Equal(t, "Token bucket", v.PhaseName)
	assert.Equal(t, int64(2), en.specs.Parses())
	assert.Contains(t, en.Metrics(), "specs")
}

// TestDynamicGateFileWins: a phases/<N>/gate-definition.yaml in the
// workflow folder replaces the gate built from the spec's list.
func TestDynamicGateFileWins(t *testing.T) {
	root, wf := praxisProject(t, "s", readSpec(t, "tasks-small.md"))
	dir := filepath.Join(wf, "spec_execution_v1", "phases", "1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gate-definition.yaml"), []byte("checkpoint:\n  strict: true\nevidence_schema:\n  coverage:\n    type: number\n    required: true\n    min: 80\n"), 0o644))
	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
	ctx := t.Context()
	r, err := en.Start(ctx, MustParseWorkflowName("spec_execution_v1"), "s", map[string]any{"spec_path": ".praxis-os/specs/s"})
	require.NoError(t, err)
	_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, phase0Evidence())
	require.NoError(t, err)
	c, err := en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, map[string]any{"unit_tests_pass": true, "limiter_is_documented": true})
	require.NoError(t, err)
	assert.False(t, c.CheckpointPassed, "the file's gate asks for coverage")
	c, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 1, map[string]any{"coverage": 91.5})
	require.NoError(t, err)
	assert.True(t, c.CheckpointPassed, "%v", c.ValidationResult.Errors)
}

// TestDynamicMetadataPraxisRange: prAxIs OS's metadata.json lists the
// dynamic phases as one entry numbered "1-N"; it parses, and is not a
// phase. A static workflow with such an entry is still refused.
func TestDynamicMetadataPraxisRange(t *testing.T) {
	m, err := workflows.ParseMetadata([]byte(`{"workflow_type":"w","version":"1","total_phases":"dynamic","estimated_duration":"x","primary_outputs":[],
		"phases":[{"phase_number":0,"phase_name":"a","purpose":"p","estimated_effort":"e","key_deliverables":[],"validation_criteria":[],"tasks":[]},
		{"phase_number":"1-N","phase_name":"dyn"}],
		"dynamic_phases":true,"dynamic_config":{"source_type":"spec_tasks_md","source_path_key":"spec_path","templates":{"phase":"p.md","task":"t.md"},"parser":"spec_tasks_parser"}}`))
	require.NoError(t, err)
	require.Len(t, m.Phases, 1)
	require.NotNil(t, m.DynamicConfig)
	assert.Equal(t, "spec_path", m.DynamicConfig.SourcePathKey)
	assert.Equal(t, "p.md", m.DynamicConfig.Templates.Phase)

	_, err = workflows.ParseMetadata([]byte(`{"phases":[{"phase_number":"1-N"}]}`))
	require.ErrorContains(t, err, "phases[0].phase_number")
	_, err = workflows.ParseMetadata([]byte(`{"dynamic_phases":true,"dynamic_config":{"templates":{"phase":"p","task":"t"},"parser":"other"}}`))
	require.ErrorContains(t, err, "dynamic_config.parser")
	_, err = workflows.ParseMetadata([]byte(`{"dynamic_phases":"yes"}`))
	require.ErrorContains(t, err, "dynamic_phases")
}

// TestDynamicSpecPhaseZeroClashes: a spec that numbers a phase 0 clashes
// with the static phase 0 and is refused, naming the line.
func TestDynamicSpecPhaseZeroClashes(t *testing.T) {
	root, wf := praxisProject(t, "s", []byte("# T\n\n## Phase 0: Setup\n\n#### Task 0.1: Go\n"))
	en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
	_, err := en.Start(t.Context(), MustParseWorkflowName("spec_execution_v1"), "s", map[string]any{"spec_path": ".praxis-os/specs/s"})
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "line 3: Phase 0 is a static phase")
}

// TestValidateDynamicWorkflow: a valid dynamic workflow with a spec
// phase's gate file has no problems; a missing template, an example spec
// that does not parse and a spec phase's gate that does not parse are
// each reported with their field.
func TestValidateDynamicWorkflow(t *testing.T) {
	_, wf := praxisProject(t, "s", readSpec(t, "tasks-small.md"))
	dir := filepath.Join(wf, "spec_execution_v1")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "phases", "2"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "phases", "2", "gate-definition.yaml"), []byte("evidence_schema:\n  ok:\n    type: boolean\n"), 0o644))
	assert.Empty(t, workflows.Validate(wf))

	require.NoError(t, os.Remove(filepath.Join(dir, "phases", "dynamic", "task-template.md")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "phases", "2", "gate-definition.yaml"), []byte("evidence_schema: [1]\n"), 0o644))
	meta := filepath.Join(dir, workflows.MetadataFile)
	b, err := os.ReadFile(meta)
	require.NoError(t, err)
	b = []byte(strings.Replace(string(b), `"parser": "spec_tasks_parser"`, `"parser": "spec_tasks_parser", "example_spec": "bad.md"`, 1))
	require.NoError(t, os.WriteFile(meta, b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.md"), []byte("no phases here\n"), 0o644))
	var got []string
	for _, p := range workflows.Validate(wf) {
		got = append(got, p.String())
	}
	require.Len(t, got, 3, "%q", got)
	assert.Contains(t, got[0], "spec_execution_v1: metadata.json:dynamic_config.templates.task: template phases/dynamic/task-template.md cannot be read")
	assert.Contains(t, got[1], "spec_execution_v1: metadata.json:dynamic_config.example_spec: bad.md: has no phases")
	assert.Contains(t, got[2], "spec_execution_v1: phases/2/gate-definition.yaml: evidence_schema")
}

// TestDynamicConcurrentSharedKeys: goroutines released together on one
// dynamic session read its phase and tasks; the spec is parsed once and
// every caller sees the same content.
func TestDynamicConcurrentSharedKeys(t *testing.T) {
	for _, n := range []int{1, runtime.GOMAXPROCS(0), 128} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			root, wf := praxisProject(t, "s", readSpec(t, "tasks-thread-safety.md"))
			en := newEnv(t, wf, func(c *Config) { c.ProjectDir = root })
			ctx := t.Context()
			r, err := en.Start(ctx, MustParseWorkflowName("spec_execution_v1"), "s", map[string]any{"spec_path": ".praxis-os/specs/s"})
			require.NoError(t, err)
			require.Equal(t, int64(1), en.specs.Parses())
			_, err = en.CompletePhase(ctx, state.MustParseSessionID(r.SessionID), 0, phase0Evidence())
			require.NoError(t, err)
			var bad atomic.Int64
			testutil.Release(n, func(i int) {
				tv, err := en.Task(ctx, state.MustParseSessionID(r.SessionID), 1, i%4+1)
				if err != nil || !strings.Contains(tv.Content, "# Task 1."+strconv.Itoa(i%4+1)+": ") {
					bad.Add(1)
				}
				v, err := en.CurrentPhase(ctx, state.MustParseSessionID(r.SessionID))
				if err != nil || v.PhaseName != "Core Thread Safety Implementation" || len(v.Tasks) != 4 {
					bad.Add(1)
				}
			})
			assert.Zero(t, bad.Load())
			assert.Equal(t, int64(1), en.specs.Parses(), "one parse for every caller")
		})
	}
}
