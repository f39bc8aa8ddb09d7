package fuzz

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpflow/mcpflow/spec"
)

// specErr is the shape of every Parse error: the sentinel, the file, then
// a line number or one of the whole-file problems.
var specErr = regexp.MustCompile(`^spec: invalid tasks\.md: specs/x/tasks\.md: (line \d+: |has no phases|is \d+ bytes)`)

// FuzzParseTasks: any bytes give a Plan whose phase and task numbers are
// unique and consistent, with every placeholder of a template rendered, or
// an error that names the line; never a panic.
func FuzzParseTasks(f *testing.F) {
	for _, name := range []string{
		"tasks-small.md", "tasks-thread-safety.md", "tasks-list-form.md", "tasks-h3-phases.md",
		"tasks-h3-tasks.md", "tasks-checklist.md", "tasks-nested-fence.md", "tasks-gate-headings.md",
	} {
		if b, err := os.ReadFile("../spec/testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"## Phase 1: A\n#### Task 1.1: a\n#### Task 1.1: b\n",
		"#### Task 1.1: early\n## Phase 1: A\n",
		"## Phase 1: A\n**Validation Gate:**\n- x\n- x\n- [ ] y\n  - z\n",
		"## Phase 2: B\n```\n#### Task 2.1: code\n",
		"## Phase 1: A\n" + strings.Repeat("> ", 20) + "x\n",
		"## Phase 1: A\n- **Task 1.1**: a\n  - **Acceptance Criteria**:\n    - [ ] x\n- [ ] **Task 1.2**\n",
		"## Phase 1: A\n### Phase 1 Tasks\n- [x] **Task 1.1**: a (S - 1 hour)\n\n  **Acceptance Criteria:**\n  - [ ] x\n- [ ] **Task 1.2**: b\n",
		"## Validation Gates\n### Phase 1 Validation Gate\n- [ ] x\n## Phase 1: A\n### Task 1.1: a\n## 🛑 VALIDATION GATE: Final\n- [ ] y\n",
		"### Phase 1: A\n#### Task 1.1: a\n## Dependencies\n#### Phase 1: A (again)\n- **Task 1.1** (a) first\n- **Task 1.2**: b\n",
		"## Phase 1: A\n```markdown\n```sh\n#### Task 1.1: x\n```\n```\n#### Task 1.2: y\n````\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := spec.Parse(data, "specs/x/tasks.md")
		if err != nil {
			if !errors.Is(err, spec.ErrInvalidSpec) || !specErr.MatchString(err.Error()) {
				t.Fatalf("error of the wrong shape: %v", err)
			}
			return
		}
		if len(p.Phases) == 0 {
			t.Fatal("a plan without phases")
		}
		phases := map[int]bool{}
		for i := range p.Phases {
			ph := &p.Phases[i]
			if phases[ph.Number] {
				t.Fatalf("phase %d twice", ph.Number)
			}
			phases[ph.Number] = true
			tasks := map[int]bool{}
			for j := range ph.Tasks {
				tk := &ph.Tasks[j]
				if tk.Phase != ph.Number || tk.Number < 1 || tasks[tk.Number] {
					t.Fatalf("task %s under phase %d", tk.ID(), ph.Number)
				}
				tasks[tk.Number] = true
				out := spec.Render("[TASK_ID] [TASK_NAME] [ACCEPTANCE_CRITERIA] [VALIDATION_GATE]", p.TaskVars(ph, tk, "s"))
				if strings.HasPrefix(out, "[TASK_ID]") {
					t.Fatalf("placeholder left: %q", out)
				}
			}
			fields := map[string]bool{}
			for _, it := range ph.GateItems() {
				if fields[it.Field] || it.Field == "" {
					t.Fatalf("gate field %q twice or empty", it.Field)
				}
				fields[it.Field] = true
			}
		}
	})
}
