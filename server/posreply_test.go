package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// posError is prAxIs OS's error shape.
type posError struct {
	Status       string   `json:"status"`
	Action       string   `json:"action"`
	Error        string   `json:"error"`
	ErrorType    string   `json:"error_type"`
	ValidActions []string `json:"valid_actions"`
	Remediation  string   `json:"remediation"`
}

// posTaskFields are the fields prAxIs OS gives each task of a phase.
type posTaskFields struct {
	TaskNumber    int      `json:"task_number"`
	TaskID        string   `json:"task_id"`
	TaskName      string   `json:"task_name"`
	EstimatedTime string   `json:"estimated_time"`
	Dependencies  []string `json:"dependencies"`
}

// posPhaseFields are the fields of prAxIs OS's get_current_phase.
type posPhaseFields struct {
	Status         string          `json:"status"`
	Action         string          `json:"action"`
	SessionID      string          `json:"session_id"`
	WorkflowType   string          `json:"workflow_type"`
	CurrentPhase   int             `json:"current_phase"`
	PhaseName      string          `json:"phase_name"`
	PhaseContent   string          `json:"phase_content"`
	Tasks          []posTaskFields `json:"tasks"`
	TaskCount      *int            `json:"task_count"`
	ValidationGate []string        `json:"validation_gate"`
	Source         string          `json:"source"`
	IsComplete     *bool           `json:"is_complete"`
	Message        string          `json:"message"`
}

type posValidation struct {
	CheckpointPassed bool     `json:"checkpoint_passed"`
	Errors           []string `json:"errors"`
	NextSteps        []string `json:"next_steps"`
	Remediation      string   `json:"remediation"`
	Diagnostics      struct {
		ValidationTimestamp string `json:"validation_timestamp"`
	} `json:"diagnostics"`
}

type posCompleteFields struct {
	Status           string          `json:"status"`
	Action           string          `json:"action"`
	CheckpointPassed bool            `json:"checkpoint_passed"`
	ValidationResult posValidation   `json:"validation_result"`
	PhaseCompleted   *int            `json:"phase_completed"`
	NextPhase        *int            `json:"next_phase"`
	NextPhaseContent *posPhaseFields `json:"next_phase_content"`
	WorkflowComplete bool            `json:"workflow_complete"`
	Message          string          `json:"message"`
}

// TestPosWorkflowPraxisFields reads, through the Go SDK client, every
// field that prAxIs OS's pos_workflow handlers return and its clients
// read (issue 19, section 3), action by action, on a spec_execution_v1
// session over the thread-safety spec, and checks that the arguments
// prAxIs OS accepts are honoured.
func TestPosWorkflowPraxisFields(t *testing.T) {
	root, workflows := praxisLayout(t)
	wf := filepath.Join(workflows, "spec_execution_v1")
	// A category, as prAxIs OS's list_workflows filters on, and marked
	// steps in a task file.
	meta, err := os.ReadFile(filepath.Join(wf, "metadata.json"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(wf, "metadata.json"), append([]byte(`{"category": "execution",`), meta[1:]...), 0o644))
	step := "\n🛑 EXECUTE-NOW: list the spec folder\n```bash\nls .praxis-os/specs\n```\n📊 COUNT-AND-DOCUMENT: the spec files found\n\n🔍 QUERY-AND-DECIDE: which tasks.md is the plan\n"
	f, err := os.OpenFile(filepath.Join(wf, "phases", "0", "task-1-locate-spec.md"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(step)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	cs := praxisClientIn(t, root, workflows)
	pos := func(args map[string]any) *mcp.CallToolResult { return mustOK(t, cs, server.ToolPosWorkflow, args) }

	// list_workflows: metadata.json as written, category honoured.
	lw := decode[struct {
		Status    string           `json:"status"`
		Action    string           `json:"action"`
		Workflows []map[string]any `json:"workflows"`
		Count     int              `json:"count"`
	}](t, pos(map[string]any{"action": "list_workflows", "category": "execution"}))
	assert.Equal(t, "success", lw.Status)
	assert.Equal(t, "list_workflows", lw.Action)
	require.Equal(t, 1, lw.Count)
	w := lw.Workflows[0]
	assert.Equal(t, "spec_execution_v1", w["workflow_type"])
	assert.Equal(t, "execution", w["category"])
	assert.Equal(t, "dynamic", w["total_phases"])
	assert.Equal(t, true, w["dynamic_phases"])
	assert.IsType(t, map[string]any{}, w["dynamic_config"])
	assert.Equal(t, []any{"spec_path"}, w["required_options"], "every key of metadata.json")
	phases, _ := w["phases"].([]any)
	assert.Len(t, phases, 2, "phases as metadata.json lists them")
	assert.Equal(t, []any{}, w["problems"])
	none := decode[struct {
		Count int `json:"count"`
	}](t, pos(map[string]any{"action": "list_workflows", "category": "testing"}))
	assert.Zero(t, none.Count)

	// start: the first phase as get_phase gives it, and workflow_overview.
	st := decode[struct {
		posPhaseFields
		TargetFile       string `json:"target_file"`
		WorkflowOverview struct {
			WorkflowType   string           `json:"workflow_type"`
			Version        string           `json:"version"`
			TotalPhases    int              `json:"total_phases"`
			PrimaryOutputs []string         `json:"primary_outputs"`
			Phases         []map[string]any `json:"phases"`
			DynamicPhases  bool             `json:"dynamic_phases"`
		} `json:"workflow_overview"`
	}](t, pos(map[string]any{"action": "start", "workflow_type": "spec_execution_v1", "target_file": "fields", "options": map[string]any{"spec_path": threadSafetySpec}}))
	assert.Equal(t, "success", st.Status)
	assert.Equal(t, "start", st.Action)
	assert.Equal(t, "fields", st.TargetFile)
	assert.Equal(t, "metadata_file", st.Source)
	require.NotNil(t, st.TaskCount)
	assert.Equal(t, 3, *st.TaskCount)
	assert.Equal(t, []string{"tasks.md was read", "every phase has a gate to aim for"}, st.ValidationGate)
	assert.Equal(t, "spec_execution_v1", st.WorkflowOverview.WorkflowType)
	assert.Equal(t, "1.0.0", st.WorkflowOverview.Version)
	assert.Equal(t, 2, st.WorkflowOverview.TotalPhases, `"dynamic" counts metadata.json's phases, as prAxIs OS counts them`)
	assert.True(t, st.WorkflowOverview.DynamicPhases)
	assert.NotEmpty(t, st.WorkflowOverview.PrimaryOutputs)
	require.Len(t, st.WorkflowOverview.Phases, 1, "phase 0; the 1-N entry stands for the spec's phases")
	assert.Equal(t, "Read the spec and plan", st.WorkflowOverview.Phases[0]["phase_name"])
	assert.Equal(t, posTaskFields{TaskNumber: 1, TaskID: "0.1", TaskName: "Locate the spec", Dependencies: []string{}}, st.Tasks[0])
	id := st.SessionID

	// get_task of a task file: task_content, task_metadata, source, steps.
	tk := decode[struct {
		Status       string        `json:"status"`
		Action       string        `json:"action"`
		WorkflowType string        `json:"workflow_type"`
		TaskContent  string        `json:"task_content"`
		Content      string        `json:"content"`
		TaskMetadata posTaskFields `json:"task_metadata"`
		Source       string        `json:"source"`
		Steps        []struct {
			Type             string `json:"type"`
			Description      string `json:"description"`
			Command          string `json:"command"`
			EvidenceRequired string `json:"evidence_required"`
			RequiresAnalysis bool   `json:"requires_analysis"`
		} `json:"steps"`
	}](t, pos(map[string]any{"action": "get_task", "session_id": id, "phase": 0, "task_number": 1}))
	assert.Equal(t, "get_task", tk.Action)
	assert.Equal(t, "spec_execution_v1", tk.WorkflowType)
	assert.Equal(t, tk.Content, tk.TaskContent)
	assert.Contains(t, tk.TaskContent, "EXECUTE-NOW")
	assert.Equal(t, "metadata_file", tk.Source)
	assert.Equal(t, posTaskFields{TaskNumber: 1, TaskID: "0.1", TaskName: "Locate the spec", Dependencies: []string{}}, tk.TaskMetadata)
	require.Len(t, tk.Steps, 2)
	assert.Equal(t, "execute_command", tk.Steps[0].Type)
	assert.Equal(t, "list the spec folder", tk.Steps[0].Description)
	assert.Equal(t, "ls .praxis-os/specs", tk.Steps[0].Command)
	assert.Equal(t, "the spec files found", tk.Steps[0].EvidenceRequired)
	assert.Equal(t, "decision_point", tk.Steps[1].Type)
	assert.True(t, tk.Steps[1].RequiresAnalysis)

	// complete_phase that passes: next_phase_content is phase 1 as
	// get_phase gives it, with the spec's tasks.
	before := time.Now().Add(-time.Second)
	c0 := decode[posCompleteFields](t, pos(map[string]any{"action": "complete_phase", "session_id": id, "phase": 0,
		"evidence": map[string]any{"spec_read": true, "phases_found": 4, "plan_summary": "phase by phase"}}))
	assert.Equal(t, "success", c0.Status)
	assert.Equal(t, "complete_phase", c0.Action)
	assert.True(t, c0.CheckpointPassed)
	require.NotNil(t, c0.PhaseCompleted)
	assert.Equal(t, 0, *c0.PhaseCompleted)
	assert.Equal(t, []string{}, c0.ValidationResult.NextSteps)
	at, err := time.Parse(time.RFC3339Nano, c0.ValidationResult.Diagnostics.ValidationTimestamp)
	require.NoError(t, err, "validation_timestamp %q", c0.ValidationResult.Diagnostics.ValidationTimestamp)
	assert.True(t, at.After(before) && at.Before(time.Now().Add(time.Second)), "validation_timestamp %v is now", at)
	require.NotNil(t, c0.NextPhaseContent)
	next := c0.NextPhaseContent
	assert.Equal(t, id, next.SessionID)
	assert.Equal(t, "spec_execution_v1", next.WorkflowType)
	assert.Equal(t, 1, next.CurrentPhase)
	assert.Equal(t, "dynamic", next.Source)
	require.NotNil(t, next.TaskCount)
	assert.Equal(t, 4, *next.TaskCount)
	assert.Len(t, next.ValidationGate, 3)
	assert.Contains(t, next.PhaseContent, "# Phase 1 of 4")
	assert.Equal(t, posTaskFields{TaskNumber: 2, TaskID: "1.2", TaskName: "Add Thread-Safe Session Cache to WorkflowEngine", EstimatedTime: "2-3 hours", Dependencies: []string{}}, next.Tasks[1])
	assert.Equal(t, []string{}, next.Tasks[3].Dependencies, `"None (can run in parallel with 1.2)" is no dependency`)

	// The same call again is a retry: the same answer.
	again := pos(map[string]any{"action": "complete_phase", "session_id": id, "phase": 0,
		"evidence": map[string]any{"plan_summary": "phase by phase", "phases_found": 4, "spec_read": true}})
	assert.Equal(t, c0, decode[posCompleteFields](t, again))

	// get_phase on a spec phase.
	ph := decode[posPhaseFields](t, pos(map[string]any{"action": "get_phase", "session_id": id}))
	assert.Equal(t, "success", ph.Status)
	assert.Equal(t, "get_phase", ph.Action)
	assert.Equal(t, 1, ph.CurrentPhase)
	assert.Equal(t, next.ValidationGate, ph.ValidationGate)
	assert.Equal(t, next.Tasks, ph.Tasks)
	require.NotNil(t, ph.IsComplete)
	assert.False(t, *ph.IsComplete)
	assert.Empty(t, ph.Message)

	// get_task on a spec task.
	dt := decode[struct {
		TaskContent  string        `json:"task_content"`
		TaskMetadata posTaskFields `json:"task_metadata"`
		Source       string        `json:"source"`
		Steps        []any         `json:"steps"`
	}](t, pos(map[string]any{"action": "get_task", "session_id": id, "phase": 1, "task_number": 2}))
	assert.Contains(t, dt.TaskContent, "# Task 1.2: Add Thread-Safe Session Cache to WorkflowEngine")
	assert.Equal(t, "dynamic", dt.Source)
	assert.Equal(t, next.Tasks[1], dt.TaskMetadata)
	assert.Equal(t, []any{}, dt.Steps)

	// complete_phase whose gate fails: prAxIs OS's values.
	gate := map[string]any{}
	for _, m := range evidenceField.FindAllStringSubmatch(ph.PhaseContent, -1) {
		gate[m[1]] = true
	}
	require.Len(t, gate, 3)
	bad := decode[posCompleteFields](t, pos(map[string]any{"action": "complete_phase", "session_id": id, "phase": 1, "evidence": map[string]any{}}))
	assert.False(t, bad.CheckpointPassed)
	require.NotNil(t, bad.PhaseCompleted)
	assert.Equal(t, 1, *bad.PhaseCompleted, "the phase submitted, as prAxIs OS returns it")
	require.NotNil(t, bad.NextPhase)
	assert.Equal(t, 1, *bad.NextPhase, "the phase still current")
	require.NotNil(t, bad.NextPhaseContent)
	assert.Equal(t, 1, bad.NextPhaseContent.CurrentPhase)
	assert.Equal(t, ph.Tasks, bad.NextPhaseContent.Tasks)
	assert.False(t, bad.WorkflowComplete)
	assert.NotEmpty(t, bad.ValidationResult.Errors)
	assert.NotEmpty(t, bad.ValidationResult.Remediation)
	require.Len(t, bad.ValidationResult.NextSteps, 5, "read the gate, the three fields, submit again")
	for k := range gate {
		assert.Contains(t, bad.ValidationResult.NextSteps, "Gather evidence for '"+k+"'")
	}
	assert.Equal(t, "Submit the evidence again with complete_phase", bad.ValidationResult.NextSteps[len(bad.ValidationResult.NextSteps)-1])

	// get_state: the workflow_state wrapper; get_session: session_status
	// and artifacts; list_sessions: session_status and its filter.
	gs := decode[struct {
		Status        string `json:"status"`
		Action        string `json:"action"`
		SessionStatus string `json:"session_status"`
		WorkflowState struct {
			SessionID       string            `json:"session_id"`
			CurrentPhase    int               `json:"current_phase"`
			CompletedPhases []int             `json:"completed_phases"`
			TotalPhases     int               `json:"total_phases"`
			IsComplete      bool              `json:"is_complete"`
			Checkpoints     map[string]string `json:"checkpoints"`
		} `json:"workflow_state"`
	}](t, pos(map[string]any{"action": "get_state", "session_id": id}))
	assert.Equal(t, "success", gs.Status)
	assert.Equal(t, "get_state", gs.Action)
	assert.Equal(t, "error", gs.SessionStatus, "the last gate attempt failed")
	assert.Equal(t, id, gs.WorkflowState.SessionID)
	assert.Equal(t, 5, gs.WorkflowState.TotalPhases)
	assert.False(t, gs.WorkflowState.IsComplete)
	assert.Equal(t, []int{0}, gs.WorkflowState.CompletedPhases)
	assert.Equal(t, map[string]string{"0": "passed", "1": "failed"}, gs.WorkflowState.Checkpoints)

	ss := decode[struct {
		Action        string `json:"action"`
		SessionStatus string `json:"session_status"`
		TargetFile    string `json:"target_file"`
		Artifacts     map[string]struct {
			PhaseNumber      int            `json:"phase_number"`
			Evidence         map[string]any `json:"evidence"`
			Outputs          map[string]any `json:"outputs"`
			CommandsExecuted []any          `json:"commands_executed"`
			Timestamp        string         `json:"timestamp"`
		} `json:"artifacts"`
	}](t, pos(map[string]any{"action": "get_session", "session_id": id}))
	assert.Equal(t, "get_session", ss.Action)
	assert.Equal(t, "error", ss.SessionStatus)
	assert.Equal(t, "fields", ss.TargetFile)
	require.Contains(t, ss.Artifacts, "0")
	require.Contains(t, ss.Artifacts, "1")
	assert.Equal(t, 0, ss.Artifacts["0"].PhaseNumber)
	assert.Equal(t, map[string]any{"spec_read": true, "phases_found": 4.0, "plan_summary": "phase by phase"}, ss.Artifacts["0"].Evidence)
	assert.Equal(t, map[string]any{}, ss.Artifacts["0"].Outputs)
	assert.Equal(t, []any{}, ss.Artifacts["0"].CommandsExecuted)
	assert.Equal(t, c0.ValidationResult.Diagnostics.ValidationTimestamp, ss.Artifacts["0"].Timestamp)

	type listed struct {
		Status   string `json:"status"`
		Sessions []struct {
			SessionID     string `json:"session_id"`
			SessionStatus string `json:"session_status"`
		} `json:"sessions"`
		Count int `json:"count"`
	}
	errs := decode[listed](t, pos(map[string]any{"action": "list_sessions", "status": "error"}))
	assert.Equal(t, "success", errs.Status)
	require.Equal(t, 1, errs.Count)
	assert.Equal(t, id, errs.Sessions[0].SessionID)
	assert.Equal(t, "error", errs.Sessions[0].SessionStatus)
	assert.Zero(t, decode[listed](t, pos(map[string]any{"action": "list_sessions", "status": "completed"})).Count)

	// The rest of the workflow; then is_complete and message.
	c1 := decode[posCompleteFields](t, pos(map[string]any{"action": "complete_phase", "session_id": id, "phase": 1, "evidence": gate}))
	require.True(t, c1.CheckpointPassed)
	assert.Equal(t, "active", decode[listed](t, pos(map[string]any{"action": "list_sessions"})).Sessions[0].SessionStatus, "the failed gate passed since")
	var last posCompleteFields
	for p := 2; p <= 4; p++ {
		cur := decode[posPhaseFields](t, pos(map[string]any{"action": "get_phase", "session_id": id}))
		ev := map[string]any{}
		for _, m := range evidenceField.FindAllStringSubmatch(cur.PhaseContent, -1) {
			ev[m[1]] = true
		}
		last = decode[posCompleteFields](t, pos(map[string]any{"action": "complete_phase", "session_id": id, "phase": p, "evidence": ev}))
		require.True(t, last.CheckpointPassed, "phase %d", p)
	}
	assert.True(t, last.WorkflowComplete)
	assert.Equal(t, "Workflow complete! All phases finished.", last.Message)
	assert.Nil(t, last.NextPhaseContent)
	done := decode[posPhaseFields](t, pos(map[string]any{"action": "get_phase", "session_id": id}))
	require.NotNil(t, done.IsComplete)
	assert.True(t, *done.IsComplete)
	assert.Equal(t, "Workflow complete! All phases finished.", done.Message)
	assert.Equal(t, "completed", decode[listed](t, pos(map[string]any{"action": "list_sessions", "status": "completed"})).Sessions[0].SessionStatus)

	// mcpflow's own get_workflow_state has total_phases and is_complete.
	native := decode[struct {
		Status      string `json:"status"`
		TotalPhases int    `json:"total_phases"`
		IsComplete  bool   `json:"is_complete"`
	}](t, mustOK(t, cs, server.ToolGetWorkflowState, map[string]any{"session_id": id}))
	assert.Equal(t, "completed", native.Status)
	assert.Equal(t, 5, native.TotalPhases)
	assert.True(t, native.IsComplete)
}

// TestPosWorkflowErrorShape: a pos_workflow error is an isError result
// whose structured content is prAxIs OS's error shape, which the Go SDK
// client accepts as it is, and which conforms to the output schema
// pos_workflow declares.
func TestPosWorkflowErrorShape(t *testing.T) {
	cs := praxisClient(t)
	tools, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var schema map[string]any
	for _, tl := range tools.Tools {
		if tl.Name == server.ToolPosWorkflow {
			schema = decodeAny(t, tl.OutputSchema)
		}
	}
	require.Equal(t, "object", schema["type"], "pos_workflow's output schema is an object, which an error's content is too")

	const missing = "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"
	res := callTool(t, cs, server.ToolPosWorkflow, map[string]any{"action": "get_phase", "session_id": missing})
	require.True(t, res.IsError)
	e := decode[posError](t, res)
	assert.Equal(t, posError{
		Status: "error", Action: "get_phase", Error: textOf(res), ErrorType: "ValueError",
		ValidActions: e.ValidActions, Remediation: "call list_sessions to see the sessions, or start_workflow to start one",
	}, e)
	assert.Contains(t, e.Error, missing)
	assert.Contains(t, e.ValidActions, "get_phase")
	assert.Contains(t, e.ValidActions, "list_workflows")

	// A phase completed with other evidence: already completed, clearly.
	st := decode[struct {
		SessionID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "start", "workflow_type": "spec_execution_v1", "target_file": "errs", "options": map[string]any{"spec_path": threadSafetySpec}}))
	ev := map[string]any{"spec_read": true, "phases_found": 4, "plan_summary": "phase by phase, in order"}
	first := decode[posCompleteFields](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "complete_phase", "session_id": st.SessionID, "phase": 0, "evidence": ev}))
	require.True(t, first.CheckpointPassed)
	ev["plan_summary"] = "phase by phase, in another order"
	res = callTool(t, cs, server.ToolPosWorkflow, map[string]any{"action": "complete_phase", "session_id": st.SessionID, "phase": 0, "evidence": ev})
	require.True(t, res.IsError)
	e = decode[posError](t, res)
	assert.Equal(t, "complete_phase", e.Action)
	assert.Equal(t, "ValueError", e.ErrorType)
	assert.Contains(t, e.Error, "phase 0 of session "+st.SessionID+" is already completed, with other evidence than this call's; the current phase is 1")
	assert.Equal(t, "call get_workflow_state to see where the session stands", e.Remediation)

	// mcpflow's own tools keep error results without structured content.
	res = callTool(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": missing})
	require.True(t, res.IsError)
	assert.Nil(t, res.StructuredContent)
}

// TestSearchStandardsPraxisArguments: filter_phase and filter_tags are
// honoured as phase and tags are, and every result has relevance_score.
func TestSearchStandardsPraxisArguments(t *testing.T) {
	cs := praxisClient(t)
	type hit struct {
		File           string  `json:"file"`
		Section        string  `json:"section"`
		Score          float64 `json:"score"`
		RelevanceScore float64 `json:"relevance_score"`
	}
	type out struct {
		Results []hit `json:"results"`
	}
	search := func(args map[string]any) []hit {
		args["query"] = "tests review errors phases"
		args["n_results"] = 20
		return decode[out](t, mustOK(t, cs, server.ToolSearchStandards, args)).Results
	}
	all := search(map[string]any{})
	require.NotEmpty(t, all)
	for _, h := range all {
		assert.InDelta(t, h.Score, h.RelevanceScore, 0, "%s", h.Section)
	}
	byTags := search(map[string]any{"tags": []any{"testing"}})
	require.NotEmpty(t, byTags)
	assert.Less(t, len(byTags), len(all), "the tag filters")
	assert.Equal(t, byTags, search(map[string]any{"filter_tags": []any{"testing"}}))
	byPhase := search(map[string]any{"phase": 1})
	assert.Equal(t, byPhase, search(map[string]any{"filter_phase": 1}))
	assert.Equal(t, search(map[string]any{"phase": 3}), search(map[string]any{"filter_phase": 3}))
	res := callTool(t, cs, server.ToolSearchStandards, map[string]any{"query": "x", "filter_tags": []any{"no-such-tag"}})
	require.True(t, res.IsError)
	assert.Contains(t, textOf(res), "filter_tags: no standard in this index is tagged", "an unknown filter_tags tag is refused as an unknown tag is, by its name")

	res = callTool(t, cs, server.ToolSearchStandards, map[string]any{"query": "x", "phase": 1, "filter_phase": 2})
	require.True(t, res.IsError)
	assert.Contains(t, textOf(res), "filter_phase: is prAxIs OS's name for phase; give phase or filter_phase, not both")
}

// decodeAny returns v, a schema or other JSON value, as a JSON object.
func decodeAny(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// TestCompletePhaseRetriedOverTheWire: a client whose answer was lost
// sends complete_phase again while the first call may still run; every
// one of the concurrent identical calls gets the same answer, over
// mcpflow's tool and over pos_workflow, and the session advances once.
func TestCompletePhaseRetriedOverTheWire(t *testing.T) {
	cs := praxisClient(t)
	for _, tool := range []string{server.ToolCompletePhase, server.ToolPosWorkflow} {
		t.Run(tool, func(t *testing.T) {
			st := decode[struct {
				SessionID string `json:"session_id"`
			}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "spec_execution_v1", "target_file": "retry-" + tool, "options": map[string]any{"spec_path": threadSafetySpec}}))
			args := map[string]any{"session_id": st.SessionID, "phase": 0, "evidence": map[string]any{"spec_read": true, "phases_found": 4, "plan_summary": "phase by phase"}}
			if tool == server.ToolPosWorkflow {
				args["action"] = "complete_phase"
			}
			const n = 16
			answers := make([]string, n)
			testutil.Release(n, func(i int) {
				res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
				if err != nil || res.IsError {
					t.Errorf("call %d: %v %v", i, err, res)
					return
				}
				b, err := json.Marshal(res.StructuredContent)
				if err != nil {
					t.Errorf("call %d: %v", i, err)
				}
				answers[i] = string(b)
			})
			for i := range answers {
				assert.JSONEq(t, answers[0], answers[i], "call %d", i)
			}
			assert.Contains(t, answers[0], `"checkpoint_passed":true`)
			state := decode[struct {
				CurrentPhase    int   `json:"current_phase"`
				CompletedPhases []int `json:"completed_phases"`
			}](t, mustOK(t, cs, server.ToolGetWorkflowState, map[string]any{"session_id": st.SessionID}))
			assert.Equal(t, 1, state.CurrentPhase)
			assert.Equal(t, []int{0}, state.CompletedPhases)
		})
	}
}
