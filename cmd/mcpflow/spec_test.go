package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// checklistSpec lays out a project with one spec written in list form, a
// later Dependencies section and a Validation Gates section.
func checklistSpec(t *testing.T) (root, rel string) {
	t.Helper()
	root = t.TempDir()
	rel = filepath.Join(".praxis-os", "specs", "2025-11-01-export")
	dir := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tasks.md"), []byte(`# Tasks

### Phase 1: Encoder

### Phase 1 Tasks

- [x] **Task 1.1**: Pick the columns (S - 1 hour)
- [ ] **Task 1.2**: Escape fields
  - **Dependencies**: Task 1.1

### Phase 2: Endpoint

#### Task 2.1: Serve reports.csv

## Dependencies

### Phase 1 → Phase 2

- **Task 2.1** (endpoint) needs Task 1.2

## Validation Gates

### Phase 1 Validation Gate

- [ ] Encoder tests pass
`), 0o644))
	return root, rel
}

type checkedPlan struct {
	Source string `json:"source"`
	Phases []struct {
		Number int    `json:"number"`
		Name   string `json:"name"`
		Tasks  []struct {
			ID     string `json:"id"`
			Number int    `json:"number"`
			Name   string `json:"name"`
		} `json:"tasks"`
		ValidationGate []string `json:"validation_gate"`
	} `json:"phases"`
}

func TestSpecCheckCommand(t *testing.T) {
	root, rel := checklistSpec(t)
	code, out, errOut := runCmd(t, nil, "", "spec", "check", "--root", root, rel)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "2 phase(s), 3 task(s)")
	assert.Contains(t, out, "Phase 1: Encoder (line 3)")
	assert.Contains(t, out, "  1.1   Pick the columns [S - 1 hour]\n")
	assert.Contains(t, out, "    - Encoder tests pass  [encoder_tests_pass]\n")
	assert.Contains(t, out, "Phase 2: Endpoint (line 11)\n  2.1   Serve reports.csv\n  gate: none listed\n")

	// JSON, the tasks.md itself, and MCPFLOW_ROOT for --root.
	code, out, errOut = runCmd(t, map[string]string{"MCPFLOW_ROOT": root}, "", "spec", "check", "--json", filepath.Join(rel, "tasks.md"))
	require.Equal(t, 0, code, errOut)
	var p checkedPlan
	require.NoError(t, json.Unmarshal([]byte(out), &p), out)
	assert.Equal(t, filepath.ToSlash(filepath.Join(rel, "tasks.md")), p.Source, "inside the project folder, as a workflow names it")
	require.Len(t, p.Phases, 2)
	assert.Equal(t, 1, p.Phases[0].Number)
	assert.Equal(t, "Encoder", p.Phases[0].Name)
	require.Len(t, p.Phases[0].Tasks, 2)
	assert.Equal(t, "1.2", p.Phases[0].Tasks[1].ID)
	assert.Equal(t, 2, p.Phases[0].Tasks[1].Number)
	assert.Equal(t, "Escape fields", p.Phases[0].Tasks[1].Name)
	assert.Equal(t, []string{"Encoder tests pass"}, p.Phases[0].ValidationGate)
	assert.Equal(t, []string{}, p.Phases[1].ValidationGate, "an empty gate is [] in JSON, not null")
	assert.Contains(t, out, `"validation_gate": []`)

	// An absolute PATH without --root is taken inside its own folder, and
	// named as given.
	code, out, errOut = runCmd(t, nil, "", "spec", "check", filepath.Join(root, rel))
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, filepath.Join(root, rel, "tasks.md")+": 2 phase(s), 3 task(s)")
	// With --root, PATH must be inside it, as spec_path must.
	code, _, errOut = runCmd(t, nil, "", "spec", "check", "--root", filepath.Join(root, rel), filepath.Join(root, ".praxis-os"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "is outside the project folder")
	code, _, errOut = runCmd(t, nil, "", "spec", "check", "--root", filepath.Join(root, rel), "../x")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `"../x" is outside the project folder`)
}

// TestSpecCheckErrors: an invalid spec exits 1 naming its line; a wrong
// command line exits 2 naming what is wrong.
func TestSpecCheckErrors(t *testing.T) {
	dir := t.TempDir()
	dup := filepath.Join(dir, "dup.md")
	require.NoError(t, os.WriteFile(dup, []byte("## Phase 1: A\n\n### Task 1.1: a\n\n### Task 1.1: b\n"), 0o644))
	none := filepath.Join(dir, "none.md")
	require.NoError(t, os.WriteFile(none, []byte("# Notes\n\n## Dependencies\n\n- **Task 1.1**: mentioned\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644))
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"two tasks with one id", []string{"spec", "check", dup}, 1, "PATH " + dup + ": spec: invalid tasks.md: dup.md: line 5: Task 1.1 is numbered twice (first at line 3)"},
		{"no phase", []string{"spec", "check", "--json", none}, 1, "line 5: Task 1.1 is outside a phase"},
		{"folder without tasks.md", []string{"spec", "check", filepath.Join(dir, "empty")}, 1, "has no tasks.md"},
		{"missing", []string{"spec", "check", filepath.Join(dir, "gone")}, 1, `"gone" does not exist`},
		{"not markdown", []string{"spec", "check", filepath.Join(dir, "notes.txt")}, 1, "must be a spec folder holding tasks.md, or a markdown file"},
		{"missing root", []string{"spec", "check", "--root", "/no/such/root", "x"}, 1, "--root /no/such/root: no such folder"},
		{"no PATH", []string{"spec", "check"}, 2, "give one PATH"},
		{"two PATHs", []string{"spec", "check", "a", "b"}, 2, "got 2 arguments"},
		{"no subcommand", []string{"spec"}, 2, "mcpflow spec: no subcommand"},
		{"unknown subcommand", []string{"spec", "lint", "x"}, 2, `unknown subcommand "lint"`},
		{"unknown flag", []string{"spec", "check", "--bogus", "x"}, 2, "unknown flag --bogus"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, "", c.args...)
			assert.Equal(t, c.code, code, errOut)
			assert.Contains(t, errOut, c.want)
			assert.Empty(t, out, "nothing on stdout when the check fails")
		})
	}
	code, out, _ := runCmd(t, nil, "", "help", "spec")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: mcpflow spec check [flags] PATH")
	assert.Contains(t, out, "MCPFLOW_JSON")
	code, out, _ = runCmd(t, nil, "", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "mcpflow spec check [flags] PATH")
}

// TestBinarySpecCheck runs the built binary on a spec from the current
// folder: the plan on stdout with status 0, and status 1 with the line on
// stderr once the spec is broken.
func TestBinarySpecCheck(t *testing.T) {
	bin := testutil.Binary(t)
	root, rel := checklistSpec(t)
	cmd := exec.Command(bin, "spec", "check", "--json", rel)
	cmd.Dir = root
	out, err := cmd.Output()
	require.NoError(t, err)
	var p checkedPlan
	require.NoError(t, json.Unmarshal(out, &p), string(out))
	ids := []string{}
	for _, ph := range p.Phases {
		for _, tk := range ph.Tasks {
			ids = append(ids, tk.ID)
		}
	}
	assert.Equal(t, []string{"1.1", "1.2", "2.1"}, ids)
	assert.Equal(t, filepath.Join(rel, "tasks.md"), p.Source)

	f, err := os.OpenFile(filepath.Join(root, rel, "tasks.md"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("\n### Phase 2: Endpoint again\n\n#### Task 2.2: Cache it\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	cmd = exec.Command(bin, "spec", "check", rel)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Empty(t, out)
	assert.Contains(t, stderr.String(), "tasks.md: line 29: Task 2.2 is under a second heading of Phase 2 (line 27, the first is at line 11)")
}

// TestBinarySpecCheckRealSpecs runs the built binary over the real prAxIs
// OS specs in ../shared/data/praxis (beside the clone; CI has it), or in
// $MCPFLOW_PRAXIS_DATA, and compares each plan's task IDs per phase with
// expected-tasks.json.
func TestBinarySpecCheckRealSpecs(t *testing.T) {
	dir, want := testutil.PraxisExpectedTasks(t)
	bin := testutil.Binary(t)
	for name, exp := range want {
		cmd := exec.Command(bin, "spec", "check", "--json", "--root", dir, filepath.Join("specs", name))
		out, err := cmd.Output()
		require.NoError(t, err, name)
		var p checkedPlan
		require.NoError(t, json.Unmarshal(out, &p), name)
		got := map[string][]string{}
		for _, ph := range p.Phases {
			ids := []string{}
			for _, tk := range ph.Tasks {
				ids = append(ids, tk.ID)
			}
			got[strconv.Itoa(ph.Number)] = ids
		}
		assert.Equal(t, exp, got, name)
	}
}
