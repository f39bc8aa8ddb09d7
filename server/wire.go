package server

import (
	"fmt"
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// The wire format of the workflow tools' results lives here, and only
// here: the engine and checkpoint return plain Go values, and each type
// below is built from one of them by one function. The JSON field names,
// the jsonschema descriptions (the tools' output schemas are generated
// from these types, see portableSchemas) and the rule that every list is
// [] when empty, never null, are this file's business.

// taskOutline is one task of a phase, as the phase lists it.
type taskOutline struct {
	TaskNumber int    `json:"task_number"`
	Name       string `json:"name"`
	File       string `json:"file"`
	Purpose    string `json:"purpose"`
}

func newTaskOutlines(ts []engine.TaskInfo) []taskOutline {
	out := make([]taskOutline, len(ts))
	for i, t := range ts {
		out[i] = taskOutline{TaskNumber: t.TaskNumber, Name: t.Name, File: t.File, Purpose: t.Purpose}
	}
	return out
}

// startOut is start_workflow's result.
type startOut struct {
	SessionID    string        `json:"session_id" jsonschema:"pass it to every other workflow tool"`
	WorkflowType string        `json:"workflow_type"`
	TargetFile   string        `json:"target_file"`
	CurrentPhase int           `json:"current_phase"`
	PhaseName    string        `json:"phase_name"`
	PhaseContent string        `json:"phase_content" jsonschema:"the phase's instructions, markdown"`
	Tasks        []taskOutline `json:"tasks" jsonschema:"the phase's tasks; get_task returns one in full"`
	TotalPhases  int           `json:"total_phases"`
	Resumed      bool          `json:"resumed" jsonschema:"true when an active session for this workflow and target already existed"`
}

func newStartOut(r *engine.StartResult) startOut {
	return startOut{
		SessionID: r.SessionID, WorkflowType: r.WorkflowType, TargetFile: r.TargetFile,
		CurrentPhase: r.CurrentPhase, PhaseName: r.PhaseName, PhaseContent: r.PhaseContent,
		Tasks: newTaskOutlines(r.Tasks), TotalPhases: r.TotalPhases, Resumed: r.Resumed,
	}
}

// phaseOut is get_current_phase's result.
type phaseOut struct {
	SessionID        string        `json:"session_id"`
	WorkflowType     string        `json:"workflow_type"`
	TargetFile       string        `json:"target_file"`
	Status           string        `json:"status" jsonschema:"active or completed"`
	CurrentPhase     int           `json:"current_phase"`
	PhaseName        string        `json:"phase_name"`
	Purpose          string        `json:"purpose"`
	PhaseContent     string        `json:"phase_content" jsonschema:"the phase's instructions, markdown; empty when the workflow is complete"`
	Tasks            []taskOutline `json:"tasks"`
	CompletedPhases  []int         `json:"completed_phases"`
	TotalPhases      int           `json:"total_phases"`
	WorkflowComplete bool          `json:"workflow_complete"`
}

func newPhaseOut(v *engine.PhaseView) phaseOut {
	return phaseOut{
		SessionID: v.SessionID, WorkflowType: v.WorkflowType, TargetFile: v.TargetFile, Status: string(v.Status),
		CurrentPhase: v.Phase, PhaseName: v.PhaseName, Purpose: v.Purpose, PhaseContent: v.Content,
		Tasks: newTaskOutlines(v.Tasks), CompletedPhases: ints(v.CompletedPhases), TotalPhases: v.TotalPhases,
		WorkflowComplete: v.WorkflowComplete,
	}
}

// taskOut is get_task's result.
type taskOut struct {
	SessionID  string `json:"session_id"`
	Phase      int    `json:"phase"`
	TaskNumber int    `json:"task_number"`
	TaskName   string `json:"task_name"`
	TaskFile   string `json:"task_file"`
	Purpose    string `json:"purpose"`
	Content    string `json:"content" jsonschema:"the task's instructions, markdown"`
}

func newTaskOut(t *engine.TaskView) taskOut {
	return taskOut{SessionID: t.SessionID, Phase: t.Phase, TaskNumber: t.TaskNumber, TaskName: t.Name, TaskFile: t.File, Purpose: t.Purpose, Content: t.Content}
}

// phaseContentOut is complete_phase's next_phase_content.
type phaseContentOut struct {
	Phase     int           `json:"phase"`
	PhaseName string        `json:"phase_name"`
	Purpose   string        `json:"purpose"`
	Content   string        `json:"content"`
	Tasks     []taskOutline `json:"tasks"`
}

// newPhaseContentOut returns nil for a nil c.
func newPhaseContentOut(c *engine.PhaseContent) *phaseContentOut {
	if c == nil {
		return nil
	}
	return &phaseContentOut{Phase: c.Phase, PhaseName: c.PhaseName, Purpose: c.Purpose, Content: c.Content, Tasks: newTaskOutlines(c.Tasks)}
}

// validationOut is complete_phase's validation_result: the gate's verdict.
type validationOut struct {
	CheckpointPassed bool           `json:"checkpoint_passed" jsonschema:"whether the gate lets the phase complete"`
	Errors           []string       `json:"errors" jsonschema:"the problems that failed the gate, each starting with its field; empty when it passed"`
	Warnings         []string       `json:"warnings" jsonschema:"problems that did not fail the gate: lenient-mode errors, unknown fields, unsupported validators, a missing gate file"`
	Diagnostics      diagnosticsOut `json:"diagnostics" jsonschema:"what the gate checked"`
	Remediation      string         `json:"remediation,omitempty" jsonschema:"what to submit next to pass; absent when there is nothing to fix"`
}

// diagnosticsOut is validation_result.diagnostics.
type diagnosticsOut struct {
	FieldsSubmitted []string `json:"fields_submitted" jsonschema:"the evidence fields received, sorted"`
	FieldsRequired  []string `json:"fields_required" jsonschema:"the gate's required fields, in the gate's order"`
	FieldsMissing   []string `json:"fields_missing" jsonschema:"required fields the evidence lacks"`
	FieldsFailed    []string `json:"fields_failed" jsonschema:"submitted fields whose type or constraints failed"`
	StrictMode      bool     `json:"strict_mode" jsonschema:"the gate's checkpoint.strict: errors fail the gate"`
	AllowOverride   bool     `json:"allow_override" jsonschema:"the gate's checkpoint.allow_override"`
	GateSource      string   `json:"gate_source" jsonschema:"the gate file the evidence was checked against, or none"`
}

func newValidationOut(r *checkpoint.Result) validationOut {
	d := &r.Diagnostics
	return validationOut{
		CheckpointPassed: r.CheckpointPassed, Errors: strs(r.Errors), Warnings: strs(r.Warnings), Remediation: r.Remediation,
		Diagnostics: diagnosticsOut{
			FieldsSubmitted: strs(d.FieldsSubmitted), FieldsRequired: strs(d.FieldsRequired),
			FieldsMissing: strs(d.FieldsMissing), FieldsFailed: strs(d.FieldsFailed),
			StrictMode: d.StrictMode, AllowOverride: d.AllowOverride, GateSource: d.GateSource,
		},
	}
}

// completeOut is complete_phase's result.
type completeOut struct {
	SessionID        string           `json:"session_id"`
	Phase            int              `json:"phase"`
	CheckpointPassed bool             `json:"checkpoint_passed" jsonschema:"whether the gate accepted the evidence"`
	ValidationResult validationOut    `json:"validation_result" jsonschema:"the gate's verdict: errors, warnings, diagnostics, remediation"`
	PhaseCompleted   bool             `json:"phase_completed" jsonschema:"whether this call completed the phase (pos_workflow's reply carries the phase's number, or null, instead)"`
	NextPhase        *int             `json:"next_phase" jsonschema:"the phase now current, or null"`
	NextPhaseContent *phaseContentOut `json:"next_phase_content" jsonschema:"the next phase's instructions and tasks, or null"`
	WorkflowComplete bool             `json:"workflow_complete"`
}

func newCompleteOut(r *engine.CompleteResult) completeOut {
	return completeOut{
		SessionID: r.SessionID, Phase: r.Phase, CheckpointPassed: r.CheckpointPassed, ValidationResult: newValidationOut(&r.ValidationResult),
		PhaseCompleted: r.PhaseCompleted, NextPhase: r.NextPhase, NextPhaseContent: newPhaseContentOut(r.NextPhaseContent),
		WorkflowComplete: r.WorkflowComplete,
	}
}

// stateOut is get_workflow_state's result.
type stateOut struct {
	SessionID       string            `json:"session_id"`
	WorkflowType    string            `json:"workflow_type"`
	TargetFile      string            `json:"target_file"`
	CurrentPhase    int               `json:"current_phase"`
	CompletedPhases []int             `json:"completed_phases"`
	Checkpoints     map[string]string `json:"checkpoints" jsonschema:"gate status per phase number: pending, passed or failed"`
	Status          string            `json:"status" jsonschema:"active or completed"`
	CreatedAt       string            `json:"created_at" jsonschema:"RFC 3339"`
	UpdatedAt       string            `json:"updated_at" jsonschema:"RFC 3339"`
	Paused          bool              `json:"paused" jsonschema:"whether the session refuses changes until resume_session"`
	PauseReason     string            `json:"pause_reason,omitempty"`
}

func newStateOut(st *state.SessionState) stateOut {
	cps := make(map[string]string, len(st.Checkpoints))
	for p, c := range st.Checkpoints {
		cps[fmt.Sprint(p)] = string(c)
	}
	return stateOut{
		SessionID: st.SessionID, WorkflowType: st.WorkflowType, TargetFile: st.TargetFile,
		CurrentPhase: st.CurrentPhase, CompletedPhases: ints(st.CompletedPhases), Checkpoints: cps,
		Status: string(st.Status), CreatedAt: rfc3339(st.CreatedAt), UpdatedAt: rfc3339(st.UpdatedAt),
		Paused: st.Paused, PauseReason: st.Recovery.PauseReason,
	}
}

// sessionOut is one session of list_sessions.
type sessionOut struct {
	SessionID       string `json:"session_id"`
	WorkflowType    string `json:"workflow_type"`
	TargetFile      string `json:"target_file"`
	CurrentPhase    int    `json:"current_phase"`
	CompletedPhases []int  `json:"completed_phases"`
	Status          string `json:"status"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
	Error           string `json:"error,omitempty" jsonschema:"set when the session's state file cannot be read"`
}

func newSessionOut(x *state.SessionSummary) sessionOut {
	return sessionOut{
		SessionID: x.SessionID, WorkflowType: x.WorkflowType, TargetFile: x.TargetFile, CurrentPhase: x.CurrentPhase,
		CompletedPhases: ints(x.CompletedPhases), Status: string(x.Status),
		CreatedAt: rfc3339(x.CreatedAt), UpdatedAt: rfc3339(x.UpdatedAt), Error: x.Error,
	}
}

// listSessionsOut is list_sessions' result.
type listSessionsOut struct {
	Sessions []sessionOut `json:"sessions"`
	Count    int          `json:"count"`
}

// deleteOut is delete_session's result.
type deleteOut struct {
	SessionID string `json:"session_id"`
	Deleted   bool   `json:"deleted"`
}

// workflowOut is one workflow of list_workflows.
type workflowOut struct {
	WorkflowType      string   `json:"workflow_type" jsonschema:"the name to pass to start_workflow"`
	Version           string   `json:"version"`
	Title             string   `json:"title"`
	Description       string   `json:"description"`
	EstimatedDuration string   `json:"estimated_duration"`
	TotalPhases       any      `json:"total_phases" jsonschema:"number of phases, or \"dynamic\""`
	Phases            int      `json:"phases" jsonschema:"number of phases listed in the metadata"`
	Problems          []string `json:"problems" jsonschema:"what is wrong with the definition; empty when valid"`
}

// newWorkflowOut names a workflow whose metadata.json cannot be read after
// its folder.
func newWorkflowOut(w *workflows.Info) workflowOut {
	wt := w.WorkflowType
	if wt == "" {
		wt = w.Name
	}
	return workflowOut{
		WorkflowType: wt, Version: w.Version, Title: w.Title, Description: w.Description,
		EstimatedDuration: w.EstimatedDuration, TotalPhases: w.TotalPhases, Phases: w.Phases, Problems: strs(w.Problems),
	}
}

// listWorkflowsOut is list_workflows' result.
type listWorkflowsOut struct {
	Workflows []workflowOut `json:"workflows"`
	Count     int           `json:"count"`
}

// conflictsOut is get_server_info's state_store.conflicts.
type conflictsOut struct {
	Retries int64 `json:"retries"`
	GaveUp  int64 `json:"gave_up"`
}

func newConflictsOut(c engine.ConflictStats) conflictsOut {
	return conflictsOut{Retries: c.Retries, GaveUp: c.GaveUp}
}

// ints returns v, or [] for nil.
func ints(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

// strs returns v, or [] for nil.
func strs(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// rfc3339 formats t in UTC, or "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
