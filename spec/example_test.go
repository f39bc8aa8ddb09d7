package spec_test

import (
	"fmt"

	"github.com/mcpflow/mcpflow/spec"
)

// Example parses a small tasks.md and renders a task template from it.
func Example() {
	plan, err := spec.Parse([]byte(`# Tasks

## Phase 1: Cache

**Validation Gate:**
- Race tests pass

#### Task 1.1: Add the cache

**Description:**
Put a shard.Cache in front of the loader.

**Acceptance Criteria:**
- [ ] One load per key
`), "specs/cache/tasks.md")
	if err != nil {
		fmt.Println(err)
		return
	}
	ph := &plan.Phases[0]
	fmt.Println(len(plan.Phases), "phase,", plan.TaskCount(), "task")
	fmt.Println(spec.Render("Task [TASK_ID]: [TASK_NAME]\n[ACCEPTANCE_CRITERIA]", plan.TaskVars(ph, &ph.Tasks[0], "specs/cache")))
	fmt.Println(ph.Gate("tasks.md").Fields[0].Name)

	_, err = spec.Parse([]byte("#### Task 1.1: Early\n"), "specs/bad/tasks.md")
	fmt.Println(err)
	// Output:
	// 1 phase, 1 task
	// Task 1.1: Add the cache
	// - [ ] One load per key
	// race_tests_pass
	// spec: invalid tasks.md: specs/bad/tasks.md: line 1: Task 1.1 is outside a phase; put it under its "## Phase 1: Name" heading
}
