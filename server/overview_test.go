package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// overviewMetadata is a dynamic workflow's metadata.json: a static phase
// 0 with tasks, the "1-N" entry that stands for the spec's phases, a
// dynamic_config with every field, and keys workflow_overview leaves out.
const overviewMetadata = `{
  "workflow_type": "spec_execution_v1",
  "version": 2,
  "name": "Spec execution",
  "description": "Run a spec.",
  "category": "execution",
  "approval": "none",
  "total_phases": "dynamic",
  "estimated_duration": "as the spec estimates",
  "primary_outputs": ["the spec implemented"],
  "phases": [
    {"phase_number": 0, "phase_name": "Read the spec", "purpose": "Plan.", "estimated_effort": "5 minutes",
     "key_deliverables": ["a plan"], "validation_criteria": ["tasks.md was read"],
     "tasks": [{"task_number": 1, "name": "Locate the spec", "file": "task-1-locate-spec.md", "purpose": "Find it"},
               {"task_number": 2, "name": "Read the tasks", "file": "task-2-read-tasks.md"}]},
    {"phase_number": "1-N", "phase_name": "The spec's phases", "purpose": "One per section.", "estimated_effort": "from tasks.md",
     "key_deliverables": [], "validation_criteria": [], "tasks": []}
  ],
  "dynamic_phases": true,
  "dynamic_config": {"source_type": "spec_tasks_md", "source_path_key": "spec_path",
    "templates": {"phase": "phases/dynamic/phase-template.md", "task": "phases/dynamic/task-template.md"},
    "parser": "spec_tasks_parser", "example_spec": "example-spec/tasks.md"},
  "required_options": ["spec_path"]
}`

// TestPosStartWorkflowOverviewBytes pins, byte for byte, pos_workflow
// start's workflow_overview for a dynamic workflow: total_phases counts
// metadata.json's phases list (the "1-N" entry included, as prAxIs OS
// counts it), phases leaves that entry out, and the fields keep their
// names and order.
func TestPosStartWorkflowOverviewBytes(t *testing.T) {
	root, workflows := praxisLayout(t)
	require.NoError(t, os.WriteFile(filepath.Join(workflows, "spec_execution_v1", "metadata.json"), []byte(overviewMetadata), 0o644))
	h := startHarness(t, harnessOpts{http: true, token: testToken, workflows: workflows, project: root})
	got := rawStructured(t, h.url, server.ToolPosWorkflow,
		`{"action":"start","workflow_type":"spec_execution_v1","target_file":"overview","options":{"spec_path":"`+threadSafetySpec+`"}}`)
	var reply struct {
		WorkflowOverview json.RawMessage `json:"workflow_overview"`
	}
	require.NoError(t, json.Unmarshal(got, &reply))
	const want = `{"workflow_type":"spec_execution_v1","version":"2","description":"Run a spec.","total_phases":2,` +
		`"estimated_duration":"as the spec estimates","primary_outputs":["the spec implemented"],` +
		`"phases":[{"phase_number":0,"phase_name":"Read the spec","purpose":"Plan.","estimated_effort":"5 minutes",` +
		`"key_deliverables":["a plan"],"validation_criteria":["tasks.md was read"],` +
		`"tasks":[{"task_number":1,"name":"Locate the spec","file":"task-1-locate-spec.md","purpose":"Find it"},` +
		`{"task_number":2,"name":"Read the tasks","file":"task-2-read-tasks.md"}]}],` +
		`"dynamic_phases":true,"dynamic_config":{"source_type":"spec_tasks_md","source_path_key":"spec_path",` +
		`"templates":{"phase":"phases/dynamic/phase-template.md","task":"phases/dynamic/task-template.md"},` +
		`"parser":"spec_tasks_parser","example_spec":"example-spec/tasks.md"}}`
	assertSameBytes(t, want, reply.WorkflowOverview)
}

// TestListWorkflowsBytes pins, byte for byte, list_workflows' entry for a
// dynamic workflow and pos_workflow list_workflows' (metadata.json as
// written, with problems).
func TestListWorkflowsBytes(t *testing.T) {
	root, workflows := praxisLayout(t)
	require.NoError(t, os.WriteFile(filepath.Join(workflows, "spec_execution_v1", "metadata.json"), []byte(overviewMetadata), 0o644))
	h := startHarness(t, harnessOpts{http: true, token: testToken, workflows: workflows, project: root})
	got := rawStructured(t, h.url, server.ToolListWorkflows, `{}`)
	assertSameBytes(t, `{"workflows":[{"workflow_type":"spec_execution_v1","version":"2","title":"Spec execution","description":"Run a spec.",`+
		`"estimated_duration":"as the spec estimates","total_phases":"dynamic","phases":1,"problems":[],"category":"execution"}],"count":1}`, got)
	got = rawStructured(t, h.url, server.ToolPosWorkflow, `{"action":"list_workflows"}`)
	var pos struct {
		Workflows []json.RawMessage `json:"workflows"`
	}
	require.NoError(t, json.Unmarshal(got, &pos))
	require.Len(t, pos.Workflows, 1)
	assertSameBytes(t, `{"approval":"none","category":"execution","description":"Run a spec.",`+
		`"dynamic_config":{"example_spec":"example-spec/tasks.md","parser":"spec_tasks_parser","source_path_key":"spec_path","source_type":"spec_tasks_md",`+
		`"templates":{"phase":"phases/dynamic/phase-template.md","task":"phases/dynamic/task-template.md"}},"dynamic_phases":true,`+
		`"estimated_duration":"as the spec estimates","name":"Spec execution",`+
		`"phases":[{"estimated_effort":"5 minutes","key_deliverables":["a plan"],"phase_name":"Read the spec","phase_number":0,"purpose":"Plan.",`+
		`"tasks":[{"file":"task-1-locate-spec.md","name":"Locate the spec","purpose":"Find it","task_number":1},`+
		`{"file":"task-2-read-tasks.md","name":"Read the tasks","task_number":2}],"validation_criteria":["tasks.md was read"]},`+
		`{"estimated_effort":"from tasks.md","key_deliverables":[],"phase_name":"The spec's phases","phase_number":"1-N","purpose":"One per section.",`+
		`"tasks":[],"validation_criteria":[]}],"primary_outputs":["the spec implemented"],"problems":[],"required_options":["spec_path"],`+
		`"total_phases":"dynamic","version":2,"workflow_type":"spec_execution_v1"}`, pos.Workflows[0])
}

// rawStructured calls tool with args (a JSON object) over raw HTTP on a
// fresh MCP session and returns the result's structuredContent as the
// server wrote it, field order included.
func rawStructured(t *testing.T, url, tool, args string) json.RawMessage {
	t.Helper()
	sid := legacySession(t, url)
	status, _, body := postJSON(t, url, sid, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"`+tool+`","arguments":`+args+`}}`)
	require.Equal(t, http.StatusOK, status, body)
	if _, data, ok := strings.Cut(body, "data: "); ok { // an SSE event
		body = data
	}
	var reply struct {
		Result struct {
			IsError           bool            `json:"isError"`
			StructuredContent json.RawMessage `json:"structuredContent"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &reply), body)
	require.False(t, reply.Result.IsError, body)
	return reply.Result.StructuredContent
}

// assertSameBytes fails unless got is want byte for byte; JSONEq would
// accept another field order, which clients can see.
func assertSameBytes(t *testing.T, want string, got []byte) {
	t.Helper()
	assert.Equal(t, want, string(got))
}
