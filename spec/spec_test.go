package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/spec"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParseSmall(t *testing.T) {
	p, err := spec.Parse(read(t, "tasks-small.md"), "tasks-small.md")
	require.NoError(t, err)
	assert.Equal(t, "Tasks: Rate-limit the login endpoint", p.Title)
	require.Len(t, p.Phases, 2, "the ## Notes section is not a phase")
	ph := p.Phases[0]
	assert.Equal(t, 1, ph.Number)
	assert.Equal(t, "Limiter", ph.Name)
	assert.Equal(t, 5, ph.Line)
	assert.Equal(t, "Add a token-bucket limiter in front of the login handler.", ph.Objective)
	assert.Equal(t, "2 hours", ph.EstimatedDuration)
	assert.Equal(t, "None", ph.Dependencies)
	assert.Equal(t, []string{"Unit tests pass", "Limiter is documented"}, ph.ValidationGate)
	require.Len(t, ph.Tasks, 2)
	t1 := ph.Tasks[0]
	assert.Equal(t, spec.Task{
		Phase: 1, Number: 1, Name: "Write the limiter", Line: 19,
		Description:        "Write a token bucket keyed by client address.",
		AcceptanceCriteria: []string{"Bucket refills at the configured rate", "Keys expire when idle\n  - after ten minutes"},
		Dependencies:       "None", EstimatedTime: "1 hour", Priority: "HIGH",
	}, t1)
	t2 := ph.Tasks[1]
	assert.Equal(t, "1.2", t2.ID())
	assert.Equal(t, "Task 1.1", t2.Dependencies)
	assert.Equal(t, []string{"429 seen in the integration test"}, t2.ValidationGate)
	assert.Equal(t, 3, p.TaskCount())
	got, ok := p.Phase(2)
	require.True(t, ok)
	task, ok := got.Task(1)
	require.True(t, ok)
	assert.Equal(t, "Add the flag", task.Name)
}

// TestParseThreadSafetySpec: the spec this project started from has 4
// phases and 15 task headings (its summary claims 16: the parser follows
// the headings), each phase with a three-item validation gate.
func TestParseThreadSafetySpec(t *testing.T) {
	p, err := spec.Parse(read(t, "tasks-thread-safety.md"), "tasks.md")
	require.NoError(t, err)
	require.Len(t, p.Phases, 4)
	assert.Equal(t, 15, p.TaskCount())
	names := []string{"Core Thread Safety Implementation", "Observability & Monitoring", "Testing & Validation", "Documentation & Deployment"}
	counts := []int{4, 3, 5, 3}
	for i, ph := range p.Phases {
		assert.Equal(t, i+1, ph.Number)
		assert.Equal(t, names[i], ph.Name)
		assert.Len(t, ph.Tasks, counts[i], ph.Name)
		assert.Len(t, ph.ValidationGate, 3, ph.Name)
		assert.NotEmpty(t, ph.Objective, ph.Name)
		for j, task := range ph.Tasks {
			assert.Equal(t, j+1, task.Number)
			assert.NotEmpty(t, task.Description, task.ID())
			assert.NotEmpty(t, task.AcceptanceCriteria, task.ID())
			if task.ID() != "1.1" { // the only task without a Dependencies line
				assert.NotEmpty(t, task.Dependencies, task.ID())
			}
		}
	}
	task, _ := p.Phases[1].Task(2)
	assert.Equal(t, "Task 1.2 (WorkflowEngine locking), Task 2.1 (CacheMetrics)", task.Dependencies)
	assert.Equal(t, "All modified files pass linting (ruff, mypy)", p.Phases[0].ValidationGate[0])
	// Fenced code under a task is not read as headings or fields.
	assert.Equal(t, 66, p.Phases[0].Tasks[1].Line)
	assert.Equal(t, 120, p.Phases[0].Tasks[2].Line)
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"no phases", "# Tasks\n\nNothing here.\n", "has no phases"},
		{"only other sections", "## Summary\n\n#### Notes\n", "has no phases"},
		{"task outside a phase", "# T\n\n#### Task 1.1: Early\n", "line 3: Task 1.1 is outside a phase"},
		{"task after the phase ended", "## Phase 1: A\n\n#### Task 1.1: a\n\n## Summary\n\n#### Task 1.2: b\n", "line 7: Task 1.2 is outside a phase"},
		{"duplicate task", "## Phase 1: A\n\n#### Task 1.1: a\n\n#### Task 1.1: b\n", "line 5: Task 1.1 is numbered twice (first at line 3)"},
		{"task under a repeated phase heading", "## Phase 1: A\n\n#### Task 1.1: a\n\n## Phase 1: B\n\n#### Task 1.2: b\n", "line 7: Task 1.2 is under a second heading of Phase 1 (line 5, the first is at line 1)"},
		{"task of a phase that is not there", "## Phase 1: A\n\n## Notes\n\n- **Task 3.1**: later\n", "line 5: Task 3.1 is outside a phase"},
		{"task of another phase", "## Phase 1: A\n\n#### Task 2.1: a\n", "line 3: Task 2.1 is under Phase 1 (line 1)"},
		{"task zero", "## Phase 1: A\n\n#### Task 1.0: a\n", "line 3: Task 1.0"},
		{"bad phase heading", "## Phase one: A\n", "line 1: heading \"Phase one: A\""},
		{"bad task heading", "## Phase 1: A\n\n#### Task 1: a\n", "line 3: heading \"Task 1: a\""},
		{"huge number", "## Phase 123456: A\n", "line 1: phase number 123456"},
		{"nested too deep", "## Phase 1: A\n\nok\n" + strings.Repeat("> ", 17) + "deep\n", "line 4: is nested deeper"},
		{"list marker too far right", "## Phase 1: A\n" + strings.Repeat(" ", 101) + "- x\n", "line 2: is nested deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Parse([]byte(tc.src), "specs/x/tasks.md")
			require.ErrorIs(t, err, spec.ErrInvalidSpec)
			assert.Contains(t, err.Error(), "specs/x/tasks.md")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := spec.Parse(make([]byte, spec.MaxTasksBytes+1), "big.md")
	require.ErrorIs(t, err, spec.ErrInvalidSpec)
}

// TestParseDeepNestingInCodeIsFine: the nesting limit does not apply
// inside fenced code.
func TestParseDeepNestingInCodeIsFine(t *testing.T) {
	_, err := spec.Parse([]byte("## Phase 1: A\n\n```\n"+strings.Repeat("> ", 40)+"\n```\n"), "t.md")
	require.NoError(t, err)
}

// TestParseHeadingsInCodeAreNotHeadings: a "## Phase" line inside a fenced
// block is code, by the markdown spec.
func TestParseHeadingsInCodeAreNotHeadings(t *testing.T) {
	p, err := spec.Parse([]byte("## Phase 1: A\n\n```\n## Phase 2: not a heading\n#### Task 1.1: nor this\n```\n\n#### Task 1.1: real\n"), "t.md")
	require.NoError(t, err)
	require.Len(t, p.Phases, 1)
	require.Len(t, p.Phases[0].Tasks, 1)
	assert.Equal(t, 8, p.Phases[0].Tasks[0].Line)
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{
		"All modified files pass linting (ruff, mypy)": "all_modified_files_pass_linting_ruff_mypy",
		"Coverage ≥95% for modified files":             "coverage_95_for_modified_files",
		"  --- ":                                       "item",
		strings.Repeat("abc ", 40):                     "abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_abc_a", // 48 bytes of letters
	} {
		assert.Equal(t, want, spec.FieldName(in), in)
	}
	ph := spec.Phase{ValidationGate: []string{"Tests pass", "tests pass!", "Docs"}}
	assert.Equal(t, []spec.GateItem{{"tests_pass", "Tests pass"}, {"tests_pass_2", "tests pass!"}, {"docs", "Docs"}}, ph.GateItems())
}

func TestPhaseGate(t *testing.T) {
	ph := spec.Phase{ValidationGate: []string{"Tests pass", "Docs"}}
	g := ph.Gate("t.md#phase-1")
	assert.True(t, g.Strict)
	assert.Equal(t, "t.md#phase-1", g.Source)
	require.Len(t, g.Fields, 2)
	assert.Equal(t, checkpoint.Field{Name: "tests_pass", Type: checkpoint.TypeBoolean, Required: true, Description: "Tests pass", Enum: []any{true}}, g.Fields[0])
	assert.True(t, checkpoint.Validate(g, map[string]any{"tests_pass": true, "docs": true}).CheckpointPassed)
	assert.False(t, checkpoint.Validate(g, map[string]any{"tests_pass": true, "docs": false}).CheckpointPassed)
	assert.False(t, checkpoint.Validate(g, map[string]any{"tests_pass": true}).CheckpointPassed)
	assert.True(t, (&spec.Phase{}).Gate("x").Permissive)
}

func TestRender(t *testing.T) {
	p, err := spec.Parse(read(t, "tasks-small.md"), "tasks.md")
	require.NoError(t, err)
	ph := &p.Phases[0]
	out := spec.Render("[PHASE_NUMBER]/[TOTAL_PHASES] [PHASE_NAME] [TASK_COUNT] next [NEXT_PHASE_NUMBER] [N.1] [UNKNOWN]\n[VALIDATION_GATE]", p.PhaseVars(ph, "specs/x"))
	assert.Equal(t, "1/2 Limiter 2 next 2 [N.1] [UNKNOWN]\nSubmit each item as a boolean evidence field set to true:\n- [ ] `unit_tests_pass`: Unit tests pass\n- [ ] `limiter_is_documented`: Limiter is documented", out)
	out = spec.Render("[TASK_ID] [TASK_NAME] [DEPENDENCIES] [NEXT_TASK_NUMBER] [SPEC_PATH]\n[ACCEPTANCE_CRITERIA]", p.TaskVars(ph, &ph.Tasks[0], "specs/x"))
	assert.Equal(t, "1.1 Write the limiter None 2 specs/x\n- [ ] Bucket refills at the configured rate\n- [ ] Keys expire when idle\n  - after ten minutes", out)
	// A value holding a placeholder is not expanded again.
	assert.Equal(t, "[PHASE_NAME]", spec.Render("[A]", map[string]string{"A": "[PHASE_NAME]", "PHASE_NAME": "x"}))
}

func writeFile(t *testing.T, name string, data []byte, mod time.Time) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(t, os.WriteFile(name, data, 0o644))
	require.NoError(t, os.Chtimes(name, mod, mod))
}

func newLoader(t *testing.T, dir string, clock *testutil.Clock) *spec.Loader {
	t.Helper()
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	cfg := spec.LoaderConfig{FS: root.FS(), Dir: dir, Recheck: time.Second}
	if clock != nil {
		cfg.Clock = clock
	}
	l, err := spec.NewLoader(cfg)
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

// TestLoaderRereadsOnChange: a plan is served from the cache until the
// recheck, then re-read only if the file's stamp changed.
func TestLoaderRereadsOnChange(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "specs", "a", "tasks.md")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	writeFile(t, file, []byte("## Phase 1: One\n"), t0)
	clock := testutil.NewClock(t0)
	l := newLoader(t, dir, clock)
	ctx := t.Context()
	p, err := l.Plan(ctx, "specs/a")
	require.NoError(t, err)
	assert.Equal(t, "specs/a/tasks.md", p.Source)
	assert.Equal(t, "One", p.Phases[0].Name)
	p2, err := l.Plan(ctx, "./specs/a/")
	require.NoError(t, err)
	assert.Same(t, p, p2, "spellings of one path share the cache entry")

	writeFile(t, file, []byte("## Phase 1: Two\n"), t0.Add(time.Minute))
	p, err = l.Plan(ctx, "specs/a")
	require.NoError(t, err)
	assert.Equal(t, "One", p.Phases[0].Name, "cached until the recheck")
	clock.Advance(2 * time.Second)
	p, err = l.Plan(ctx, "specs/a")
	require.NoError(t, err)
	assert.Equal(t, "Two", p.Phases[0].Name)
	clock.Advance(2 * time.Second)
	p3, err := l.Plan(ctx, "specs/a")
	require.NoError(t, err)
	assert.Same(t, p, p3, "an unchanged file is not parsed again")
	assert.Equal(t, int64(2), l.Parses())

	// A broken edit is reported, and remembered until the next change.
	writeFile(t, file, []byte("#### Task 1.1: x\n"), t0.Add(2*time.Minute))
	clock.Advance(2 * time.Second)
	_, err = l.Plan(ctx, "specs/a")
	require.ErrorIs(t, err, spec.ErrInvalidSpec)
	clock.Advance(2 * time.Second)
	_, err = l.Plan(ctx, "specs/a")
	require.ErrorIs(t, err, spec.ErrInvalidSpec)
	assert.Equal(t, int64(3), l.Parses())
}

func TestLoaderPaths(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	now := time.Now()
	writeFile(t, filepath.Join(dir, "s", "tasks.md"), []byte("## Phase 1: A\n"), now)
	writeFile(t, filepath.Join(dir, "s", "plan.md"), []byte("## Phase 1: B\n"), now)
	writeFile(t, filepath.Join(dir, "s", "notes.txt"), []byte("x"), now)
	writeFile(t, filepath.Join(outside, "tasks.md"), []byte("## Phase 1: C\n"), now)
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "out")))
	l := newLoader(t, dir, nil)
	ctx := t.Context()
	for in, want := range map[string]string{"s": "A", "s/plan.md": "B", filepath.Join(dir, "s"): "A"} {
		p, err := l.Plan(ctx, in)
		require.NoError(t, err, in)
		assert.Equal(t, want, p.Phases[0].Name, in)
	}
	for in, want := range map[string]error{
		"":                spec.ErrInvalidArgument,
		".":               spec.ErrInvalidArgument,
		"../x":            spec.ErrInvalidArgument,
		"s/../../x":       spec.ErrInvalidArgument,
		outside:           spec.ErrInvalidArgument,
		"out":             spec.ErrInvalidArgument,
		"out/tasks.md":    spec.ErrInvalidArgument,
		"s/notes.txt":     spec.ErrInvalidArgument,
		"nope":            spec.ErrNotFound,
		"s/missing.md":    spec.ErrNotFound,
		"a\x00b":          spec.ErrInvalidArgument,
		"/":               spec.ErrInvalidArgument,
		filepath.Dir(dir): spec.ErrInvalidArgument,
	} {
		_, err := l.Plan(ctx, in)
		require.ErrorIs(t, err, want, "%q", in)
	}
}

// TestLoaderConcurrentSharedKeys: goroutines asking for one plan at once
// parse it once and all get the same plan.
func TestLoaderConcurrentSharedKeys(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s", "tasks.md"), read(t, "tasks-thread-safety.md"), time.Now())
	for _, n := range []int{1, 8, 128} {
		l := newLoader(t, dir, testutil.NewClock(time.Now()))
		var first atomic.Pointer[spec.Plan]
		var bad atomic.Int64
		testutil.Release(n, func(int) {
			p, err := l.Plan(t.Context(), "s")
			if err != nil {
				t.Errorf("Plan: %v", err)
				return
			}
			if !first.CompareAndSwap(nil, p) && first.Load() != p {
				bad.Add(1)
			}
		})
		assert.Zero(t, bad.Load(), "n=%d: every caller gets the same plan", n)
		assert.Equal(t, int64(1), l.Parses(), "n=%d", n)
	}
}

// TestShippedTemplatesLeaveNoPlaceholder: every placeholder the built-in
// spec_execution_v1 templates use is one Render knows.
func TestShippedTemplatesLeaveNoPlaceholder(t *testing.T) {
	p, err := spec.Parse(read(t, "tasks-thread-safety.md"), "tasks.md")
	require.NoError(t, err)
	ph := &p.Phases[2]
	placeholder := regexp.MustCompile(`\[[A-Z][A-Z_]+\]`)
	for name, vars := range map[string]map[string]string{
		"phase-template.md": p.PhaseVars(ph, "specs/x"),
		"task-template.md":  p.TaskVars(ph, &ph.Tasks[0], "specs/x"),
	} {
		tmpl, err := os.ReadFile(filepath.Join("..", "engine", "workflows", "spec_execution_v1", "phases", "dynamic", name))
		require.NoError(t, err)
		require.Regexp(t, placeholder, string(tmpl), name)
		assert.NotRegexp(t, placeholder, spec.Render(string(tmpl), vars), name)
	}
}

// TestParseListFormTasks: tasks written as list items, the form prAxIs
// OS's own parsing guide shows ("- **Task N.M**: Name" with sub-items),
// are read with their fields, and the phase's fields after the list stay
// the phase's.
func TestParseListFormTasks(t *testing.T) {
	p, err := spec.Parse(read(t, "tasks-list-form.md"), "tasks.md")
	require.NoError(t, err)
	require.Len(t, p.Phases, 2)
	ph := p.Phases[0]
	assert.Equal(t, "Groundwork (Day 1)", ph.Name)
	assert.Equal(t, "Lay out the package and its configuration.", ph.Objective)
	assert.Equal(t, []string{"the cache package"}, ph.Deliverables)
	assert.Equal(t, []string{"All tasks complete", "Tests pass under -race"}, ph.ValidationGate)
	require.Len(t, ph.Tasks, 2)
	assert.Equal(t, spec.Task{
		Phase: 1, Number: 1, Name: "Create the cache package", Line: 9,
		Description:        "Create the cache package",
		AcceptanceCriteria: []string{"cache/doc.go says what is guaranteed", "go vet is clean"},
		Dependencies:       "None", EstimatedTime: "2 hours",
	}, ph.Tasks[0])
	t2 := ph.Tasks[1]
	assert.Equal(t, "Add the configuration type\nKeep the zero value usable", t2.Description)
	assert.Equal(t, "Task 1.1", t2.Dependencies)
	assert.Equal(t, []string{"Config validates every field"}, t2.AcceptanceCriteria)
	require.Len(t, p.Phases[1].Tasks, 1)
	assert.Equal(t, "Use the cache in search", p.Phases[1].Tasks[0].Name)
	assert.Equal(t, []string{"Hit ratio is reported"}, p.Phases[1].ValidationGate)

	_, err = spec.Parse([]byte("- **Task 1.1**: early\n"), "t.md")
	require.ErrorContains(t, err, "line 1: Task 1.1 is outside a phase")
	_, err = spec.Parse([]byte("## Phase 1: A\n\n#### Task 1.1: a\n\n- **Task 1.1**: again\n"), "t.md")
	require.ErrorContains(t, err, "line 5: Task 1.1 is numbered twice (first at line 3)")
}

// TestParseErrorHasItsParts: every Parse error is a ParseError naming the
// source, matching ErrInvalidSpec.
func TestParseErrorHasItsParts(t *testing.T) {
	_, err := spec.Parse([]byte("no phases here\n"), "s/tasks.md")
	require.ErrorIs(t, err, spec.ErrInvalidSpec)
	pe, ok := errors.AsType[*spec.ParseError](err)
	require.True(t, ok, "%T", err)
	assert.Equal(t, "s/tasks.md", pe.Source)
	assert.True(t, strings.HasPrefix(pe.Err.Error(), "has no phases: "), pe.Err.Error())
	assert.Equal(t, "spec: invalid tasks.md: s/tasks.md: "+pe.Err.Error(), err.Error())
}

// TestLoaderSaysASymlinkLeadsOutside: a spec path through a symlink that
// leads out of the folder, as the last element or an earlier one, is
// refused with a message that says so (asked of the file system, not read
// from the error's text).
func TestLoaderSaysASymlinkLeadsOutside(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "tasks.md"), []byte("## Phase 1: C\n"), time.Now())
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "specs"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "specs", "out")))
	l := newLoader(t, dir, nil)
	for _, in := range []string{"specs/out", "specs/out/tasks.md"} {
		_, err := l.Plan(t.Context(), in)
		require.ErrorIs(t, err, spec.ErrInvalidArgument, in)
		assert.Contains(t, err.Error(), "leads outside the project folder (through a symlink)", in)
	}
}
