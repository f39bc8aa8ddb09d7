package spec_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/spec"
)

// taskIDs returns the task IDs of each phase, keyed by phase number, as
// expected-tasks.json writes them.
func taskIDs(p *spec.Plan) map[string][]string {
	out := map[string][]string{}
	for i := range p.Phases {
		ph := &p.Phases[i]
		ids := []string{}
		for i := range ph.Tasks {
			ids = append(ids, ph.Tasks[i].ID())
		}
		out[strconv.Itoa(ph.Number)] = ids
	}
	return out
}

func parseFixture(t *testing.T, name string) *spec.Plan {
	t.Helper()
	p, err := spec.Parse(read(t, name), name)
	require.NoError(t, err)
	return p
}

// TestParseLevel3Phases: "### Phase N: Name" headings under an overview,
// each with a "### Phase N Tasks" sub-heading at its own level, and a
// "### Phase N Validation Gate" section inside the phase.
func TestParseLevel3Phases(t *testing.T) {
	p := parseFixture(t, "tasks-h3-phases.md")
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2"}, "2": {"2.1"}, "3": {"3.1"}}, taskIDs(p))
	ph := p.Phases[0]
	assert.Equal(t, "Encoder", ph.Name)
	assert.Equal(t, "Write the CSV encoder.", ph.Objective)
	assert.Equal(t, "half a day", ph.EstimatedDuration)
	assert.Empty(t, ph.ValidationGate)
	assert.Equal(t, []string{"Encoder tests pass"}, ph.Tasks[1].ValidationGate, "a gate under a task heading is the task's")
	assert.Equal(t, "1 hour", ph.Tasks[0].EstimatedTime)
	assert.Equal(t, "Task 1.1", ph.Tasks[1].Dependencies)
	assert.Equal(t, []string{"A field holding a comma round-trips"}, ph.Tasks[1].AcceptanceCriteria)
	assert.Equal(t, []string{"The endpoint answers in the integration test"}, p.Phases[1].ValidationGate)
	assert.Empty(t, p.Phases[2].ValidationGate)
}

// TestParseLevel3Tasks: "### Task N.M: Name" headings under "## Phase N",
// a "## Validation Gates" section whose "### Phase N Validation Gate"
// lists are phase N's gate, and a heading in fenced code that is code.
func TestParseLevel3Tasks(t *testing.T) {
	p := parseFixture(t, "tasks-h3-tasks.md")
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2"}, "2": {"2.1"}}, taskIDs(p))
	t11 := p.Phases[0].Tasks[0]
	assert.Equal(t, spec.Task{
		Phase: 1, Number: 1, Name: "Write the file format", Line: 9,
		Description:        "One JSON file per session.",
		AcceptanceCriteria: []string{"Files are replaced atomically"},
		Dependencies:       "None", EstimatedTime: "2 hours",
	}, t11)
	assert.Equal(t, "30 minutes", p.Phases[1].Tasks[0].EstimatedTime)
	assert.Equal(t, []string{"Round-trip test passes", "Old files load"}, p.Phases[0].ValidationGate)
	assert.Equal(t, []string{"Crash test passes"}, p.Phases[1].ValidationGate)
}

// TestParseChecklistTasks: "- [x] **Task N.M**: Name (S - 1 hour)" items
// with sub-items and labelled paragraphs, a task whose fields follow its
// list, and the later sections of a real spec (Dependencies with "Phase 1
// → Phase 2", "#### Phase 1: ..." and "- **Task 2.1** (...) comes
// before"; Testing Strategy; an Acceptance Criteria Summary repeating the
// phase headings), which define nothing.
func TestParseChecklistTasks(t *testing.T) {
	p := parseFixture(t, "tasks-checklist.md")
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2", "1.3", "1.4"}, "2": {"2.1", "2.2"}}, taskIDs(p))
	ph := p.Phases[0]
	assert.Equal(t, spec.Task{
		Phase: 1, Number: 1, Name: "Define the config struct", Line: 11,
		Description:        "Define the config struct\nPut every setting in one struct\nGive each field a doc comment",
		AcceptanceCriteria: []string{"The zero value is usable", "go vet is clean"},
		EstimatedTime:      "S - 1 hour",
	}, ph.Tasks[0])
	assert.Equal(t, "2 hours", ph.Tasks[1].EstimatedTime, "a field wins over the estimate in the name")
	assert.Equal(t, "Parse the file", ph.Tasks[1].Name)
	assert.Equal(t, "Task 1.1", ph.Tasks[1].Dependencies)
	assert.Equal(t, []string{"Unknown keys are reported with their line"}, ph.Tasks[1].AcceptanceCriteria)
	assert.Equal(t, "Report errors ✅", ph.Tasks[2].Name)
	assert.Equal(t, []string{"Every error names the key", "Every error names the line"}, ph.Tasks[2].AcceptanceCriteria,
		"criteria after a task's list item are the task's, even when the next task shares their list")
	assert.Equal(t, []string{"Parser tests pass"}, ph.ValidationGate)
	assert.Equal(t, "2-3 hours", ph.EstimatedDuration)
	assert.Equal(t, "M - 2 hours", p.Phases[1].Tasks[0].EstimatedTime)
	assert.Equal(t, "Swap the config atomically", p.Phases[1].Tasks[1].Name)
	assert.Equal(t, "Reload", p.Phases[1].Name, "a later heading of a phase does not rename it")
}

// TestParseNestedFences: a "```markdown" block holding its own fenced
// block ends where its author closed it, so the tasks after it are tasks;
// a task heading inside a plain fenced block is code.
func TestParseNestedFences(t *testing.T) {
	p := parseFixture(t, "tasks-nested-fence.md")
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2", "1.3"}, "2": {"2.1"}}, taskIDs(p))
	assert.Equal(t, []string{"The template renders"}, p.Phases[0].Tasks[0].AcceptanceCriteria)
	assert.Equal(t, 26, p.Phases[0].Tasks[1].Line, "lines are the file's")
	assert.Equal(t, 36, p.Phases[0].Tasks[2].Line)
	assert.Equal(t, 44, p.Phases[1].Tasks[0].Line)

	// A markdown block whose inner fences never balance keeps CommonMark's
	// reading: its first bare fence closes it.
	p, err := spec.Parse([]byte("## Phase 1: A\n\n```markdown\n```sh\n```\n\n#### Task 1.1: after\n"), "t.md")
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1": {"1.1"}}, taskIDs(p))
	p, err = spec.Parse([]byte("## Phase 1: A\n\n```markdown\n```sh\n\n#### Task 1.1: code\n"), "t.md")
	require.NoError(t, err)
	assert.Empty(t, p.Phases[0].Tasks, "an unclosed fence runs to the end of the file")
}

// TestParseGateHeadings: "## 🛑 VALIDATION GATE: Phase 1 Checkpoint" is
// phase 1's gate, and a gate heading without a number that closes the
// last phase is that phase's; an item already in the gate is kept once.
func TestParseGateHeadings(t *testing.T) {
	p := parseFixture(t, "tasks-gate-headings.md")
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2"}, "2": {"2.1", "2.2"}}, taskIDs(p))
	assert.Equal(t, []string{"Every source is listed ✅/❌", "Fetching is retried ✅/❌"}, p.Phases[0].ValidationGate)
	assert.Equal(t, []string{"The feed validates"}, p.Phases[1].Tasks[0].ValidationGate)
	assert.Equal(t, []string{"The feed validates", "Subscribers got the announcement"}, p.Phases[1].ValidationGate)
}

// TestParseMentionsAreNotTasks: a task met outside its phase stands for
// the task of that number; it is an error only when no phase defines it.
func TestParseMentionsAreNotTasks(t *testing.T) {
	p, err := spec.Parse([]byte("## Overview\n\n- **Task 1.1**: the first task\n\n## Phase 1: A\n\n### Task 1.1: a\n\n## Phase 2: B\n\n### Task 2.1: b\n\n- **Task 1.1**: done before this one\n\n## Notes\n\n#### Task 2.1: again\n"), "t.md")
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1": {"1.1"}, "2": {"2.1"}}, taskIDs(p))
	assert.Equal(t, "a", p.Phases[0].Tasks[0].Name)

	// Tasks listed under a Dependencies label, as a field or a sub-item,
	// are the field's text, even a task that does not exist.
	p, err = spec.Parse([]byte("## Phase 1: A\n\n### Task 1.1: a\n\n### Task 1.2: b\n\n**Dependencies:**\n- **Task 1.1**: must come first\n- **Task 1.3**: no such task\n\n## Phase 2: B\n\n- **Task 2.1**: c\n  - **Dependencies**:\n    - **Task 1.2**: b\n"), "t.md")
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2"}, "2": {"2.1"}}, taskIDs(p))
	assert.Equal(t, "- **Task 1.1**: must come first\n- **Task 1.3**: no such task", p.Phases[0].Tasks[1].Dependencies)
	assert.Equal(t, "- **Task 1.2**: b", p.Phases[1].Tasks[0].Dependencies)

	// A "Phase N" heading that says which phase without naming it is not
	// a phase, and "Phase Validation Gates" is a section.
	p, err = spec.Parse([]byte("## Phase 1: A\n\n### Phase 1 → Phase 2\n\n### Task 1.1: a\n\n## Phase Validation Gates\n\n### Phase 1 Validation Gate: Done\n\n- [ ] **All tasks done**\n  - [ ] Task 1.1: a\n"), "t.md")
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1": {"1.1"}}, taskIDs(p))
	assert.Equal(t, []string{"**All tasks done**\n  - Task 1.1: a"}, p.Phases[0].ValidationGate)
}

// TestParseSameTaskTwice: a phase that lists its tasks and then gives each
// a heading defines each task once, with the heading's fields; the same
// number under another name is a second task, an error.
func TestParseSameTaskTwice(t *testing.T) {
	p, err := spec.Parse([]byte("## Phase 1: A\n\n- [ ] **Task 1.1**: Build it (S - 1 hour)\n- [ ] **Task 1.2**: Ship it\n\n### Task 1.1: Build it\n\n**Description:** Build the thing.\n\n### Task 1.2: ship it\n\n**Estimated Time:** 2 hours\n"), "t.md")
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{"1": {"1.1", "1.2"}}, taskIDs(p))
	t1, t2 := p.Phases[0].Tasks[0], p.Phases[0].Tasks[1]
	assert.Equal(t, 3, t1.Line, "the task is where it is first written")
	assert.Equal(t, "Build it\nBuild the thing.", t1.Description)
	assert.Equal(t, "S - 1 hour", t1.EstimatedTime)
	assert.Equal(t, "2 hours", t2.EstimatedTime)

	_, err = spec.Parse([]byte("## Phase 1: A\n\n- **Task 1.1**: Build it\n\n### Task 1.1: Test it\n"), "t.md")
	require.ErrorIs(t, err, spec.ErrInvalidSpec)
	assert.ErrorContains(t, err, `line 5: Task 1.1 is numbered twice (first at line 3): "Build it" and "Test it" are different tasks`)
}

// TestParseRealPraxisSpecs parses the real prAxIs OS specs in
// ../shared/data/praxis from the module root (beside the clone; CI has
// it), or in $MCPFLOW_PRAXIS_DATA, and checks each against the task IDs
// per phase that its author wrote.
func TestParseRealPraxisSpecs(t *testing.T) {
	dir, want := testutil.PraxisExpectedTasks(t)
	entries, err := os.ReadDir(filepath.Join(dir, "specs"))
	require.NoError(t, err)
	seen := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			exp, ok := want[e.Name()]
			require.True(t, ok, "expected-tasks.json has no entry for %s", e.Name())
			data, err := os.ReadFile(filepath.Join(dir, "specs", e.Name(), spec.TasksFile))
			require.NoError(t, err)
			p, err := spec.Parse(data, e.Name()+"/tasks.md")
			require.NoError(t, err)
			assert.Equal(t, exp, taskIDs(p))
		})
		seen++
	}
	assert.Len(t, want, seen, "every spec of expected-tasks.json is in specs/")
}
