package server

import (
	"fmt"
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/server/internal/telemetry"
)

// The wire format of the workflow tools' results lives here, and only
// here: the engine and checkpoint return plain Go values, and each type
// below is built from one of them by one function. The JSON field names,
// the jsonschema descriptions (the tools' output schemas are generated
// from these types, see portableSchemas) and the rule that every list is
// [] when empty, never null, are this file's business.

// taskOutline is one task of a phase, as the phase lists it.
type taskOutline struct {
	TaskNumber    int      `json:"task_number"`
	Name          string   `json:"name"`
	File          string   `json:"file"`
	Purpose       string   `json:"purpose"`
	EstimatedTime string   `json:"estimated_time" jsonschema:"a spec task's estimated time, as written; empty when it gives none"`
	Dependencies  []string `json:"dependencies" jsonschema:"the task IDs (N.M) a spec task depends on"`
}

func newTaskOutlines(ts []engine.TaskInfo) []taskOutline {
	out := make([]taskOutline, len(ts))
	for i, t := range ts {
		out[i] = taskOutline{TaskNumber: t.TaskNumber, Name: t.Name, File: t.File, Purpose: t.Purpose, EstimatedTime: t.EstimatedTime, Dependencies: strs(t.Dependencies)}
	}
	return out
}

// checkInfoOut is one check a phase's gate will run.
type checkInfoOut struct {
	Name    string `json:"name" jsonschema:"checks[i].kind, as complete_phase's verdicts name it"`
	Kind    string `json:"kind" jsonschema:"files_exist, files_changed, git, test_report, command or bypass"`
	Strict  bool   `json:"strict" jsonschema:"whether a failure fails the gate; else it is a warning"`
	Summary string `json:"summary" jsonschema:"what the server will check when the phase is completed"`
}

func newCheckInfoOuts(cs []engine.CheckInfo) []checkInfoOut {
	out := make([]checkInfoOut, len(cs))
	for i, c := range cs {
		out[i] = checkInfoOut{Name: c.Name, Kind: string(c.Kind), Strict: c.Strict, Summary: c.Summary}
	}
	return out
}

// checkOut is one check's verdict in complete_phase's validation_result.
type checkOut struct {
	Name        string `json:"name" jsonschema:"checks[i].kind, as the gate file lists the check"`
	Kind        string `json:"kind"`
	Verdict     string `json:"verdict" jsonschema:"passed, failed (the gate fails) or warned (a lenient check that did not pass)"`
	Strict      bool   `json:"strict"`
	Message     string `json:"message" jsonschema:"what the server found"`
	Remediation string `json:"remediation,omitempty" jsonschema:"what to do to pass the check; absent when it passed"`
	Method      string `json:"method,omitempty" jsonschema:"how changes were found: git, git+mtime or mtime"`
	Output      string `json:"output,omitempty" jsonschema:"the tail of a command's output"`
	TimedOut    bool   `json:"timed_out,omitempty" jsonschema:"true when a command was killed at its timeout"`
}

func newCheckOuts(rs []checkpoint.CheckResult) []checkOut {
	out := make([]checkOut, len(rs))
	for i := range rs {
		r := &rs[i]
		out[i] = checkOut{
			Name: r.Name, Kind: string(r.Kind), Verdict: string(r.Verdict), Strict: r.Strict, Message: r.Message,
			Remediation: r.Remediation, Method: r.Method, Output: r.Output, TimedOut: r.TimedOut,
		}
	}
	return out
}

// startOut is start_workflow's result.
type startOut struct {
	SessionID      string         `json:"session_id" jsonschema:"pass it to every other workflow tool"`
	WorkflowType   string         `json:"workflow_type"`
	TargetFile     string         `json:"target_file"`
	CurrentPhase   int            `json:"current_phase"`
	PhaseName      string         `json:"phase_name"`
	PhaseContent   string         `json:"phase_content" jsonschema:"the phase's instructions, markdown"`
	Tasks          []taskOutline  `json:"tasks" jsonschema:"the phase's tasks; get_task returns one in full"`
	TotalPhases    int            `json:"total_phases"`
	ValidationGate []string       `json:"validation_gate" jsonschema:"what the phase's gate checks"`
	Source         string         `json:"source" jsonschema:"metadata_file (phase.md and task files) or dynamic (rendered from the session's spec)"`
	Checks         []checkInfoOut `json:"checks" jsonschema:"what the server checks itself in the project when the phase is completed"`
	Resumed        bool           `json:"resumed" jsonschema:"true when an active session for this workflow and target already existed"`

	// overview is the workflow as Start read it for the call, for
	// pos_workflow's workflow_overview.
	overview *engine.Overview
}

func newStartOut(r *engine.StartResult) startOut {
	return startOut{
		SessionID: r.SessionID, WorkflowType: r.WorkflowType, TargetFile: r.TargetFile,
		CurrentPhase: r.CurrentPhase, PhaseName: r.PhaseName, PhaseContent: r.PhaseContent,
		Tasks: newTaskOutlines(r.Tasks), TotalPhases: r.TotalPhases, ValidationGate: strs(r.ValidationGate), Source: r.Source,
		Checks: newCheckInfoOuts(r.Checks), Resumed: r.Resumed, overview: r.Overview(),
	}
}

// phaseOut is get_current_phase's result.
type phaseOut struct {
	SessionID        string         `json:"session_id"`
	WorkflowType     string         `json:"workflow_type"`
	TargetFile       string         `json:"target_file"`
	Status           string         `json:"status" jsonschema:"active or completed"`
	CurrentPhase     int            `json:"current_phase"`
	PhaseName        string         `json:"phase_name"`
	Purpose          string         `json:"purpose"`
	PhaseContent     string         `json:"phase_content" jsonschema:"the phase's instructions, markdown; empty when the workflow is complete"`
	Tasks            []taskOutline  `json:"tasks"`
	CompletedPhases  []int          `json:"completed_phases"`
	TotalPhases      int            `json:"total_phases"`
	ValidationGate   []string       `json:"validation_gate" jsonschema:"what the phase's gate checks; empty when the workflow is complete"`
	Source           string         `json:"source" jsonschema:"metadata_file or dynamic; empty when the workflow is complete"`
	Checks           []checkInfoOut `json:"checks" jsonschema:"what the server checks itself in the project when the phase is completed; empty when the workflow is complete"`
	WorkflowComplete bool           `json:"workflow_complete"`
	AwaitingApproval bool           `json:"awaiting_approval,omitempty" jsonschema:"true while the phase's evidence passed its gate and waits for a human's approval: do not start the next phase"`
	Rejection        *decisionOut   `json:"rejection,omitempty" jsonschema:"the reviewer's rejection of this phase's evidence: address its comment and submit again"`
}

// decisionOut is a human's decision on a phase that awaited approval.
type decisionOut struct {
	Phase    int            `json:"phase"`
	Decision string         `json:"decision" jsonschema:"approved or rejected"`
	By       string         `json:"by" jsonschema:"who decided"`
	At       string         `json:"at" jsonschema:"RFC 3339"`
	Comment  string         `json:"comment"`
	Evidence map[string]any `json:"evidence" jsonschema:"the evidence decided on"`
}

func newDecisionOut(d *state.Decision) *decisionOut {
	if d == nil {
		return nil
	}
	ev := d.Evidence
	if ev == nil {
		ev = map[string]any{}
	}
	return &decisionOut{Phase: d.Phase, Decision: d.Decision, By: d.By, At: rfc3339(d.At), Comment: d.Comment, Evidence: ev}
}

func newPhaseOut(v *engine.PhaseView) phaseOut {
	return phaseOut{
		AwaitingApproval: v.AwaitingApproval, Rejection: newDecisionOut(v.Rejection),
		SessionID: v.SessionID, WorkflowType: v.WorkflowType, TargetFile: v.TargetFile, Status: string(v.Status),
		CurrentPhase: v.Phase, PhaseName: v.PhaseName, Purpose: v.Purpose, PhaseContent: v.Content,
		Tasks: newTaskOutlines(v.Tasks), CompletedPhases: ints(v.CompletedPhases), TotalPhases: v.TotalPhases,
		ValidationGate: strs(v.ValidationGate), Source: v.Source, Checks: newCheckInfoOuts(v.Checks), WorkflowComplete: v.WorkflowComplete,
	}
}

// taskOut is get_task's result.
type taskOut struct {
	SessionID     string    `json:"session_id"`
	WorkflowType  string    `json:"workflow_type"`
	Phase         int       `json:"phase"`
	TaskNumber    int       `json:"task_number"`
	TaskName      string    `json:"task_name"`
	TaskFile      string    `json:"task_file"`
	Purpose       string    `json:"purpose"`
	Content       string    `json:"content" jsonschema:"the task's instructions, markdown"`
	EstimatedTime string    `json:"estimated_time" jsonschema:"a spec task's estimated time, as written; empty when it gives none"`
	Dependencies  []string  `json:"dependencies" jsonschema:"the task IDs (N.M) a spec task depends on"`
	Source        string    `json:"source" jsonschema:"metadata_file (a task file named in metadata.json) or dynamic (rendered from the session's spec)"`
	Steps         []stepOut `json:"steps" jsonschema:"a task file's marked steps (EXECUTE-NOW commands, QUERY-AND-DECIDE decisions), in order; empty for a spec's task"`
}

// stepOut is one of get_task's steps.
type stepOut struct {
	Type             string `json:"type" jsonschema:"execute_command or decision_point"`
	Description      string `json:"description"`
	Command          string `json:"command,omitempty" jsonschema:"the command to run (execute_command)"`
	EvidenceRequired string `json:"evidence_required,omitempty" jsonschema:"what to record from its output (execute_command), if the task says"`
	RequiresAnalysis bool   `json:"requires_analysis,omitempty" jsonschema:"true for a decision_point"`
}

func newStepOuts(steps []engine.Step) []stepOut {
	out := make([]stepOut, len(steps))
	for i, st := range steps {
		out[i] = stepOut{Type: st.Type, Description: st.Description, Command: st.Command, EvidenceRequired: st.EvidenceRequired, RequiresAnalysis: st.Type == "decision_point"}
	}
	return out
}

func newTaskOut(t *engine.TaskView) taskOut {
	return taskOut{
		SessionID: t.SessionID, WorkflowType: t.WorkflowType, Phase: t.Phase, TaskNumber: t.TaskNumber, TaskName: t.Name, TaskFile: t.File,
		Purpose: t.Purpose, Content: t.Content, EstimatedTime: t.EstimatedTime, Dependencies: strs(t.Dependencies), Source: t.Source,
		Steps: newStepOuts(t.Steps),
	}
}

// phaseContentOut is complete_phase's next_phase_content.
type phaseContentOut struct {
	Phase          int            `json:"phase"`
	PhaseName      string         `json:"phase_name"`
	Purpose        string         `json:"purpose"`
	Content        string         `json:"content"`
	Tasks          []taskOutline  `json:"tasks"`
	ValidationGate []string       `json:"validation_gate" jsonschema:"what the phase's gate checks"`
	Source         string         `json:"source" jsonschema:"metadata_file or dynamic"`
	Checks         []checkInfoOut `json:"checks" jsonschema:"what the server checks itself in the project when the phase is completed"`
}

// newPhaseContentOut returns nil for a nil c.
func newPhaseContentOut(c *engine.PhaseContent) *phaseContentOut {
	if c == nil {
		return nil
	}
	return &phaseContentOut{
		Phase: c.Phase, PhaseName: c.PhaseName, Purpose: c.Purpose, Content: c.Content, Tasks: newTaskOutlines(c.Tasks),
		ValidationGate: strs(c.ValidationGate), Source: c.Source, Checks: newCheckInfoOuts(c.Checks),
	}
}

// validationOut is complete_phase's validation_result: the gate's verdict.
type validationOut struct {
	CheckpointPassed bool           `json:"checkpoint_passed" jsonschema:"whether the gate lets the phase complete"`
	Errors           []string       `json:"errors" jsonschema:"the problems that failed the gate, each starting with its field; empty when it passed"`
	Warnings         []string       `json:"warnings" jsonschema:"problems that did not fail the gate: lenient-mode errors, unknown fields, unsupported validators, a missing gate file"`
	Diagnostics      diagnosticsOut `json:"diagnostics" jsonschema:"what the gate checked"`
	Remediation      string         `json:"remediation,omitempty" jsonschema:"what to submit next to pass; absent when there is nothing to fix"`
	NextSteps        []string       `json:"next_steps" jsonschema:"what to do, step by step, to pass the gate; empty when it passed"`
	Checks           []checkOut     `json:"checks" jsonschema:"the verdict of each check the server performed itself in the project, in the gate's order"`
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
	// ValidationTimestamp is when the gate checked the evidence.
	ValidationTimestamp string `json:"validation_timestamp" jsonschema:"when the gate checked the evidence, RFC 3339"`
}

func newValidationOut(r *checkpoint.Result, at time.Time) validationOut {
	d := &r.Diagnostics
	return validationOut{
		CheckpointPassed: r.CheckpointPassed, Errors: strs(r.Errors), Warnings: strs(r.Warnings), Remediation: r.Remediation,
		NextSteps: nextSteps(r), Checks: newCheckOuts(r.Checks),
		Diagnostics: diagnosticsOut{
			FieldsSubmitted: strs(d.FieldsSubmitted), FieldsRequired: strs(d.FieldsRequired),
			FieldsMissing: strs(d.FieldsMissing), FieldsFailed: strs(d.FieldsFailed),
			StrictMode: d.StrictMode, AllowOverride: d.AllowOverride, GateSource: d.GateSource,
			ValidationTimestamp: rfc3339(at),
		},
	}
}

// nextSteps turns a failed gate's diagnostics into steps: gather each
// missing field, fix each failed one, submit again. It is [] when the
// gate passed.
func nextSteps(r *checkpoint.Result) []string {
	if r.CheckpointPassed {
		return []string{}
	}
	d := &r.Diagnostics
	steps := make([]string, 0, len(d.FieldsMissing)+len(d.FieldsFailed)+2)
	steps = append(steps, "Read the phase's validation gate (get_current_phase) to see what each field needs")
	for _, f := range d.FieldsMissing {
		steps = append(steps, "Gather evidence for '"+f+"'")
	}
	for _, f := range d.FieldsFailed {
		steps = append(steps, "Correct '"+f+"' as its error says")
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		if c.Verdict == checkpoint.VerdictFailed {
			steps = append(steps, "Make the check "+c.Name+" pass: "+c.Remediation)
		}
	}
	return append(steps, "Submit the evidence again with complete_phase")
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
	AwaitingApproval bool             `json:"awaiting_approval,omitempty" jsonschema:"true when the evidence passed a gate that requires a human's approval: the phase stays current and the next one closed until they approve"`
	Approve          string           `json:"approve,omitempty" jsonschema:"where the human can approve, when awaiting_approval"`

	// workflowType and current (the phase still current after a failed
	// gate) are for pos_workflow's reply.
	workflowType string
	current      *phaseContentOut
}

func newCompleteOut(r *engine.CompleteResult) completeOut {
	return completeOut{
		AwaitingApproval: r.AwaitingApproval,
		SessionID:        r.SessionID, Phase: r.Phase, CheckpointPassed: r.CheckpointPassed, ValidationResult: newValidationOut(&r.ValidationResult, r.ValidatedAt),
		PhaseCompleted: r.PhaseCompleted, NextPhase: r.NextPhase, NextPhaseContent: newPhaseContentOut(r.NextPhaseContent),
		WorkflowComplete: r.WorkflowComplete, workflowType: r.WorkflowType, current: newPhaseContentOut(r.Current),
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
	TotalPhases     int               `json:"total_phases" jsonschema:"the workflow's number of phases, with a spec's phases"`
	IsComplete      bool              `json:"is_complete" jsonschema:"whether every phase passed its gate"`
	CreatedAt       string            `json:"created_at" jsonschema:"RFC 3339"`
	UpdatedAt       string            `json:"updated_at" jsonschema:"RFC 3339"`
	Paused          bool              `json:"paused" jsonschema:"whether the session refuses changes until resume_session"`
	PauseReason     string            `json:"pause_reason,omitempty"`
	// AwaitingApproval and Decisions are the human-approval part.
	AwaitingApproval *int          `json:"awaiting_approval,omitempty" jsonschema:"the phase that waits for a human's approval, if any"`
	Decisions        []decisionOut `json:"decisions,omitempty" jsonschema:"the history of approvals and rejections, oldest first: who, when, comment and the evidence decided on"`

	// st is the state read, for pos_workflow's get_session.
	st *state.SessionState
}

func newStateOut(v *engine.StateView) stateOut {
	st := v.SessionState
	cps := make(map[string]string, len(st.Checkpoints))
	for p, c := range st.Checkpoints {
		cps[fmt.Sprint(p)] = string(c)
	}
	var awaiting *int
	if st.Awaiting != nil {
		p := st.Awaiting.Phase
		awaiting = &p
	}
	var ds []decisionOut
	for i := range st.Decisions {
		ds = append(ds, *newDecisionOut(&st.Decisions[i]))
	}
	return stateOut{
		AwaitingApproval: awaiting, Decisions: ds,
		SessionID: st.SessionID, WorkflowType: st.WorkflowType, TargetFile: st.TargetFile,
		CurrentPhase: st.CurrentPhase, CompletedPhases: ints(st.CompletedPhases), Checkpoints: cps,
		Status: string(st.Status), TotalPhases: v.TotalPhases, IsComplete: v.IsComplete,
		CreatedAt: rfc3339(st.CreatedAt), UpdatedAt: rfc3339(st.UpdatedAt), st: st,
		Paused: st.Paused, PauseReason: st.Recovery.PauseReason,
	}
}

// sessionStatus is prAxIs OS's session_status (state.SessionStatus).
func sessionStatus(status state.Status, paused, gateFailed bool) string {
	return string(state.SessionStatus(status, paused, gateFailed))
}

// sessionOut is one session of list_sessions.
type sessionOut struct {
	SessionID       string `json:"session_id"`
	WorkflowType    string `json:"workflow_type"`
	TargetFile      string `json:"target_file"`
	CurrentPhase    int    `json:"current_phase"`
	CompletedPhases []int  `json:"completed_phases"`
	Status          string `json:"status"`
	SessionStatus   string `json:"session_status" jsonschema:"prAxIs OS's status: active, paused, error (the current phase's last gate attempt failed) or completed; empty when the state file cannot be read"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
	Error           string `json:"error,omitempty" jsonschema:"set when the session's state file cannot be read"`
}

func newSessionOut(x *state.SessionSummary) sessionOut {
	out := sessionOut{
		SessionID: x.SessionID, WorkflowType: x.WorkflowType, TargetFile: x.TargetFile, CurrentPhase: x.CurrentPhase,
		CompletedPhases: ints(x.CompletedPhases), Status: string(x.Status),
		CreatedAt: rfc3339(x.CreatedAt), UpdatedAt: rfc3339(x.UpdatedAt), Error: x.Error,
	}
	if x.Error == "" {
		out.SessionStatus = sessionStatus(x.Status, x.Paused, x.GateFailed)
	}
	return out
}

// listSessionsOut is list_sessions' result.
type listSessionsOut struct {
	Sessions []sessionOut `json:"sessions"`
	// Count is the number of sessions in this page.
	Count int `json:"count" jsonschema:"the number of sessions in this page"`
	// NextCursor is set while more sessions may follow.
	NextCursor string `json:"next_cursor,omitempty" jsonschema:"set while more sessions may follow: pass it as cursor to read the next page"`
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
	Category          string   `json:"category,omitempty" jsonschema:"metadata.json's category, when it has one"`

	// metadata is metadata.json as written, for pos_workflow.
	metadata map[string]any
}

// newWorkflowOut names a workflow whose metadata.json cannot be read after
// its folder.
func newWorkflowOut(w *engine.WorkflowInfo) workflowOut {
	wt := w.WorkflowType
	if wt == "" {
		wt = w.Name
	}
	return workflowOut{
		WorkflowType: wt, Version: w.Version, Title: w.Title, Description: w.Description,
		EstimatedDuration: w.EstimatedDuration, TotalPhases: w.TotalPhases, Phases: w.Phases, Problems: strs(w.Problems),
		Category: w.Category, metadata: w.Metadata,
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

// Transport names, as they appear in logs, metrics labels, get_server_info
// and the discovery file.
const (
	TransportStdio = telemetry.NameStdio
	TransportHTTP  = telemetry.NameHTTP
)

// ToolCounts is the number of calls of one tool over one transport, as
// get_server_info reports it.
type ToolCounts = telemetry.ToolCounts
