package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

func TestParseMetadata(t *testing.T) {
	m, err := workflows.ParseMetadata([]byte(demoMetadata))
	require.NoError(t, err)
	assert.Equal(t, "demo", m.WorkflowType)
	assert.Equal(t, "0.1.0", m.Version)
	assert.Equal(t, "Demo", m.Name)
	assert.Equal(t, workflows.TotalPhases{N: 3}, m.TotalPhases)
	require.Len(t, m.Phases, 3)
	assert.Equal(t, 0, m.Phases[0].PhaseNumber)
	assert.Equal(t, 0, m.Phases[0].Tasks[0].TaskNumber, "task 0 exists")
	assert.Equal(t, "tz", m.Phases[0].Tasks[0].Purpose)
	assert.Empty(t, m.Missing())
	assert.Equal(t, []int{0, 1, 2}, m.Order())
	next, ok := m.Next(1)
	assert.True(t, ok)
	assert.Equal(t, 2, next)
	_, ok = m.Next(2)
	assert.False(t, ok)
}

func TestParseMetadataVariants(t *testing.T) {
	m, err := workflows.ParseMetadata([]byte(`{"workflow_type": "w", "version": 2, "total_phases": "dynamic", "phases": [{"phase_number": 3.0, "tasks": []}]}`))
	require.NoError(t, err)
	assert.True(t, m.TotalPhases.Dynamic)
	assert.Equal(t, "2", m.Version, "a bare version number is accepted")
	assert.Equal(t, 3, m.Phases[0].PhaseNumber, "3.0 is a whole number")
	assert.ElementsMatch(t, []string{"estimated_duration", "primary_outputs", "phases[0].phase_name", "phases[0].purpose", "phases[0].estimated_effort", "phases[0].key_deliverables", "phases[0].validation_criteria"}, m.Missing())

	b, err := json.Marshal(workflows.TotalPhases{Dynamic: true})
	require.NoError(t, err)
	assert.JSONEq(t, `"dynamic"`, string(b))
	var tp workflows.TotalPhases
	require.NoError(t, json.Unmarshal([]byte(`7`), &tp))
	assert.Equal(t, workflows.TotalPhases{N: 7}, tp)
	err = json.Unmarshal([]byte(`"seven"`), &tp)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "total_phases")
}

// TestParseMetadataErrorsNameTheField: a field of the wrong type is
// refused with its path.
func TestParseMetadataErrorsNameTheField(t *testing.T) {
	tests := []struct{ name, json, field string }{
		{"not json", `{"workflow_type": `, "(file)"},
		{"not object", `[1, 2]`, "(file)"},
		{"null", `null`, "(file)"},
		{"workflow_type number", `{"workflow_type": 5}`, "workflow_type"},
		{"version object", `{"version": {}}`, "version"},
		{"total_phases string", `{"total_phases": "three"}`, "total_phases"},
		{"total_phases negative", `{"total_phases": -1}`, "total_phases"},
		{"total_phases fraction", `{"total_phases": 2.5}`, "total_phases"},
		{"primary_outputs string", `{"primary_outputs": "x"}`, "primary_outputs"},
		{"phases object", `{"phases": {}}`, "phases"},
		{"phase not object", `{"phases": [1]}`, "phases[0]"},
		{"phase number 1-N", `{"phases": [{"phase_number": 0}, {"phase_number": "1-N"}]}`, "phases[1].phase_number"},
		{"phase number bool", `{"phases": [{"phase_number": true}]}`, "phases[0].phase_number"},
		{"phase number negative", `{"phases": [{"phase_number": -2}]}`, "phases[0].phase_number"},
		{"phase name number", `{"phases": [{"phase_number": 1, "phase_name": 3}]}`, "phases[0].phase_name"},
		{"deliverables not list", `{"phases": [{"phase_number": 1, "key_deliverables": "a"}]}`, "phases[0].key_deliverables"},
		{"tasks not list", `{"phases": [{"phase_number": 1, "tasks": "a"}]}`, "phases[0].tasks"},
		{"task not object", `{"phases": [{"phase_number": 1, "tasks": ["a"]}]}`, "phases[0].tasks[0]"},
		{"task number fraction", `{"phases": [{"phase_number": 1, "tasks": [{"task_number": 1.5}]}]}`, "phases[0].tasks[0].task_number"},
		{"task file number", `{"phases": [{"phase_number": 1, "tasks": [{"task_number": 1, "file": 1}]}]}`, "phases[0].tasks[0].file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := workflows.ParseMetadata([]byte(tt.json))
			require.ErrorIs(t, err, workflows.ErrMetadata)
			require.ErrorIs(t, err, state.ErrCorrupt)
			assert.Contains(t, err.Error(), "metadata.json: "+tt.field+": ", "error must name the field")
		})
	}
	_, err := workflows.ParseMetadata([]byte(strings.Repeat(" ", workflows.MaxMetadataBytes+1)))
	require.ErrorIs(t, err, workflows.ErrMetadata)
}

func TestValidateListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		// Many problems in one workflow.
		"broken/metadata.json": `{
		  "workflow_type": "other_name",
		  "version": "1",
		  "total_phases": 5,
		  "phases": [
		    {"phase_number": 0, "phase_name": "A", "purpose": "p", "estimated_effort": "e", "key_deliverables": [], "validation_criteria": [],
		     "tasks": [{"task_number": 0, "name": "t", "file": "missing.md"},
		               {"task_number": 0, "name": "dup", "file": "../../escape.md"},
		               {"task_number": 2, "name": "abs", "file": "/etc/passwd"}]},
		    {"phase_number": 1, "phase_name": "B", "purpose": "p", "estimated_effort": "e", "key_deliverables": [], "validation_criteria": [], "tasks": []}
		  ]
		}`,
		"broken/phases/0/phase.md":             "x",
		"broken/phases/0/gate-definition.yaml": "evidence_schema:\n  a:\n    type: date\n",
		"broken/phases/7/phase.md":             "stray",
		"unparsable/metadata.json":             `{"phases": [{"phase_number": "1-N"}]}`,
		"nometa/phases/0/phase.md":             "x",
		"ok/metadata.json":                     strings.ReplaceAll(demoMetadata, `"demo"`, `"ok"`),
		"ok/phases/0/phase.md":                 "x",
		"ok/phases/0/task-0-zero.md":           "x",
		"ok/phases/0/task-1-one.md":            "x",
		"ok/phases/1/phase.md":                 "x",
		"ok/phases/1/task-1-only.md":           "x",
		"ok/phases/2/phase.md":                 "x",
		"ok/phases/2/gate-definition.yaml":     demoGate2,
		"escape.md":                            "outside",
	})
	problems := workflows.Validate(dir)
	var lines []string
	for _, p := range problems {
		lines = append(lines, p.String())
	}
	all := strings.Join(lines, "\n")
	want := []string{
		"broken: metadata.json:estimated_duration: required field is missing",
		"broken: metadata.json:primary_outputs: required field is missing",
		`broken: metadata.json:workflow_type: is "other_name" but the folder is "broken"`,
		"broken: metadata.json:total_phases: is 5 but phases lists 2",
		"broken: phases/1/phase.md: is missing",
		"broken: metadata.json:phases[0].tasks[0].file: task file missing.md does not exist",
		"broken: metadata.json:phases[0].tasks[1].task_number: task 0 is listed twice",
		`broken: metadata.json:phases[0].tasks[1].file: file "../../escape.md" must be a relative path inside the phase folder`,
		`broken: metadata.json:phases[0].tasks[2].file: file "/etc/passwd" must be a relative path`,
		"broken: phases/0/gate-definition.yaml: evidence_schema.a.type",
		"broken: phases/7: folder is not listed in metadata.json phases",
		`unparsable: metadata.json: phases[0].phase_number: must be a whole number, got "1-N"`,
		"nometa: metadata.json: is missing",
	}
	for _, w := range want {
		assert.Contains(t, all, w)
	}
	assert.NotContains(t, all, "ok:", "the valid workflow has no problems")
	assert.Len(t, problems, len(want)+1, "one problem each, plus total_phases against the folders:\n%s", all)

	assert.NotEmpty(t, workflows.Validate(filepath.Join(dir, "missing")))
	empty := t.TempDir()
	require.Len(t, workflows.Validate(empty), 1)
	assert.Contains(t, workflows.Validate(empty)[0].Message, "no workflow folders")
}

func TestValidateRefusesSymlinksOutside(t *testing.T) {
	dir := demoWorkflows(t)
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.md": "secret"})
	task := filepath.Join(dir, "demo", "phases", "0", "task-1-one.md")
	require.NoError(t, os.Remove(task))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.md"), task))
	problems := workflows.Validate(dir)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].String(), "demo: metadata.json:phases[0].tasks[1].file: task file task-1-one.md does not exist")
}
