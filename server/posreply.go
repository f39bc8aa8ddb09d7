package server

import (
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/ragcache"
)

// pos_workflow's replies: each is the result of the mcpflow tool behind
// the action (its type from wire.go, embedded, so every mcpflow field is
// there) with the fields prAxIs OS's handlers return added, as prAxIs OS
// names and fills them (mcp_server/server/tools/workflow_tools/handlers,
// workflow_engine.py, core/session.py). A field both define is declared
// here, at the top level, which encoding/json prefers to the embedded one:
// status is "success" in every reply, as prAxIs OS's.

// posSuccess is the status of every pos_workflow reply that is not an
// error.
const posSuccess = "success"

// posTask is one task of a phase, with prAxIs OS's task_id, task_name
// (and title, an earlier mcpflow alias) beside mcpflow's fields, which
// include estimated_time and dependencies.
type posTask struct {
	taskOutline
	TaskID   string `json:"task_id"`
	TaskName string `json:"task_name"`
	Title    string `json:"title"`
}

func newPosTasks(phase int, ts []taskOutline) []posTask {
	out := make([]posTask, len(ts))
	for i, t := range ts {
		out[i] = posTask{taskOutline: t, TaskID: taskID(phase, t.TaskNumber), TaskName: t.Name, Title: t.Name}
	}
	return out
}

// taskID returns prAxIs OS's "N.M".
func taskID(phase, task int) string { return strconv.Itoa(phase) + "." + strconv.Itoa(task) }

// posOverview is start's workflow_overview: the workflow's metadata as
// prAxIs OS's WorkflowMetadata.to_dict gives it.
type posOverview struct {
	WorkflowType      string                `json:"workflow_type"`
	Version           string                `json:"version"`
	Description       string                `json:"description"`
	TotalPhases       int                   `json:"total_phases"`
	EstimatedDuration string                `json:"estimated_duration"`
	PrimaryOutputs    []string              `json:"primary_outputs"`
	Phases            []engine.PhaseDef     `json:"phases"`
	DynamicPhases     bool                  `json:"dynamic_phases,omitempty"`
	DynamicConfig     *engine.DynamicConfig `json:"dynamic_config,omitempty"`
}

// newPosOverview gives phases as [] where metadata.json defines none.
func newPosOverview(o *engine.Overview) *posOverview {
	if o == nil {
		return nil
	}
	phases := o.Phases
	if phases == nil {
		phases = []engine.PhaseDef{}
	}
	return &posOverview{
		WorkflowType: o.WorkflowType, Version: o.Version, Description: o.Description, TotalPhases: o.TotalPhases,
		EstimatedDuration: o.EstimatedDuration, PrimaryOutputs: strs(o.PrimaryOutputs), Phases: phases,
		DynamicPhases: o.DynamicPhases, DynamicConfig: o.DynamicConfig,
	}
}

// posStart is start's reply: start_workflow's result, the phase fields of
// get_phase and workflow_overview.
type posStart struct {
	Status string `json:"status"`
	Action string `json:"action"`
	startOut
	Tasks            []posTask    `json:"tasks"`
	TaskCount        int          `json:"task_count"`
	WorkflowOverview *posOverview `json:"workflow_overview"`
}

func newPosStart(action string, o *startOut) posStart {
	return posStart{
		Status: posSuccess, Action: action, startOut: *o,
		Tasks: newPosTasks(o.CurrentPhase, o.Tasks), TaskCount: len(o.Tasks), WorkflowOverview: newPosOverview(o.overview),
	}
}

// posPhase is get_phase's reply. status is "success"; whether the
// workflow is done is is_complete (and workflow_complete).
type posPhase struct {
	Status string `json:"status"`
	Action string `json:"action"`
	phaseOut
	PhaseNumber int       `json:"phase_number"`
	PhaseTitle  string    `json:"phase_title"`
	Tasks       []posTask `json:"tasks"`
	TaskCount   int       `json:"task_count"`
	IsComplete  bool      `json:"is_complete"`
	Message     string    `json:"message,omitempty"`
}

// workflowDone is prAxIs OS's message once every phase has passed.
const workflowDone = "Workflow complete! All phases finished."

func newPosPhase(action string, o *phaseOut) posPhase {
	r := posPhase{
		Status: posSuccess, Action: action, phaseOut: *o, PhaseNumber: o.CurrentPhase, PhaseTitle: o.PhaseName,
		Tasks: newPosTasks(o.CurrentPhase, o.Tasks), TaskCount: len(o.Tasks), IsComplete: o.WorkflowComplete,
	}
	if o.WorkflowComplete {
		r.Message = workflowDone
	}
	return r
}

// posTaskMetadata is get_task's task_metadata: the task as its phase
// lists it.
type posTaskMetadata struct {
	TaskNumber    int      `json:"task_number"`
	TaskID        string   `json:"task_id"`
	TaskName      string   `json:"task_name"`
	EstimatedTime string   `json:"estimated_time"`
	Dependencies  []string `json:"dependencies"`
}

// posTaskReply is get_task's reply.
type posTaskReply struct {
	Status string `json:"status"`
	Action string `json:"action"`
	taskOut
	TaskID       string          `json:"task_id"`
	Title        string          `json:"title"`
	TaskContent  string          `json:"task_content"`
	TaskMetadata posTaskMetadata `json:"task_metadata"`
}

func newPosTaskReply(action string, o *taskOut) posTaskReply {
	id := taskID(o.Phase, o.TaskNumber)
	return posTaskReply{
		Status: posSuccess, Action: action, taskOut: *o, TaskID: id, Title: o.TaskName, TaskContent: o.Content,
		TaskMetadata: posTaskMetadata{TaskNumber: o.TaskNumber, TaskID: id, TaskName: o.TaskName, EstimatedTime: o.EstimatedTime, Dependencies: o.Dependencies},
	}
}

// posPhaseContent is complete_phase's next_phase_content: what get_phase
// returns for that phase.
type posPhaseContent struct {
	phaseContentOut
	SessionID    string    `json:"session_id"`
	WorkflowType string    `json:"workflow_type"`
	CurrentPhase int       `json:"current_phase"`
	PhaseContent string    `json:"phase_content"`
	Tasks        []posTask `json:"tasks"`
	TaskCount    int       `json:"task_count"`
}

func newPosPhaseContent(sessionID, workflowType string, c *phaseContentOut) *posPhaseContent {
	if c == nil {
		return nil
	}
	return &posPhaseContent{
		phaseContentOut: *c, SessionID: sessionID, WorkflowType: workflowType, CurrentPhase: c.Phase,
		PhaseContent: c.Content, Tasks: newPosTasks(c.Phase, c.Tasks), TaskCount: len(c.Tasks),
	}
}

// posComplete is complete_phase's reply, with prAxIs OS's values:
// phase_completed is the number of the phase submitted, whether its gate
// passed or not (checkpoint_passed says which); after a failed gate
// next_phase is that phase, still current, and next_phase_content its
// content; message is set when the workflow is complete.
type posComplete struct {
	Status string `json:"status"`
	Action string `json:"action"`
	completeOut
	PhaseCompleted   int              `json:"phase_completed"`
	NextPhase        *int             `json:"next_phase"`
	NextPhaseContent *posPhaseContent `json:"next_phase_content"`
	ValidationPassed bool             `json:"validation_passed"`
	Errors           []string         `json:"errors"`
	Message          string           `json:"message,omitempty"`
}

func newPosComplete(action string, o *completeOut) posComplete {
	r := posComplete{
		Status: posSuccess, Action: action, completeOut: *o, PhaseCompleted: o.Phase,
		NextPhase: o.NextPhase, NextPhaseContent: newPosPhaseContent(o.SessionID, o.workflowType, o.NextPhaseContent),
		ValidationPassed: o.CheckpointPassed, Errors: o.ValidationResult.Errors,
	}
	if !o.CheckpointPassed && o.current != nil {
		phase := o.Phase
		r.NextPhase = &phase
		r.NextPhaseContent = newPosPhaseContent(o.SessionID, o.workflowType, o.current)
	}
	if o.WorkflowComplete {
		r.Message = workflowDone
	}
	return r
}

// posState is get_state's reply: prAxIs OS's workflow_state wrapper,
// with the same fields flat beside it as mcpflow's earlier replies had
// them (status there being "success", the session's is session_status).
type posState struct {
	Status string `json:"status"`
	Action string `json:"action"`
	stateOut
	SessionStatus string   `json:"session_status"`
	WorkflowState stateOut `json:"workflow_state"`
}

func newPosState(action string, o *stateOut) posState {
	return posState{Status: posSuccess, Action: action, stateOut: *o, SessionStatus: stateStatus(o.st), WorkflowState: *o}
}

// stateStatus is sessionStatus for a full state.
func stateStatus(st *state.SessionState) string {
	if st == nil {
		return ""
	}
	return sessionStatus(st.Status, st.Paused, slices.Contains(slices.Collect(maps.Values(st.Checkpoints)), state.CheckpointFailed))
}

// posArtifact is one phase's artifact in get_session, as prAxIs OS's
// PhaseArtifact.to_dict writes it.
type posArtifact struct {
	PhaseNumber      int            `json:"phase_number"`
	Evidence         map[string]any `json:"evidence"`
	Outputs          map[string]any `json:"outputs"`
	CommandsExecuted []any          `json:"commands_executed"`
	Timestamp        string         `json:"timestamp"`
}

// posSession is get_session's reply: the session with session_status and
// its artifacts by phase number.
type posSession struct {
	Status string `json:"status"`
	Action string `json:"action"`
	stateOut
	SessionStatus string                 `json:"session_status"`
	Artifacts     map[string]posArtifact `json:"artifacts"`
}

func newPosSession(action string, o *stateOut) posSession {
	r := posSession{Status: posSuccess, Action: action, stateOut: *o, SessionStatus: stateStatus(o.st), Artifacts: map[string]posArtifact{}}
	if o.st != nil {
		for p, a := range o.st.PhaseArtifacts {
			if a == nil {
				continue
			}
			pa := posArtifact{PhaseNumber: a.PhaseNumber, Evidence: a.Evidence, Outputs: a.Outputs, CommandsExecuted: a.CommandsExecuted, Timestamp: rfc3339(a.Timestamp)}
			if pa.Evidence == nil {
				pa.Evidence = map[string]any{}
			}
			if pa.Outputs == nil {
				pa.Outputs = map[string]any{}
			}
			if pa.CommandsExecuted == nil {
				pa.CommandsExecuted = []any{}
			}
			r.Artifacts[strconv.Itoa(p)] = pa
		}
	}
	return r
}

// posListSessions is list_sessions' reply; each session carries
// session_status.
type posListSessions struct {
	Status string `json:"status"`
	Action string `json:"action"`
	listSessionsOut
}

// posDelete is delete_session's reply.
type posDelete struct {
	Status string `json:"status"`
	Action string `json:"action"`
	deleteOut
}

// posListWorkflows is list_workflows' reply: each workflow is its
// metadata.json as written, as prAxIs OS returns it, with mcpflow's
// problems added (and, for a workflow whose metadata.json cannot be read,
// its workflow_type and problems alone).
type posListWorkflows struct {
	Status    string           `json:"status"`
	Action    string           `json:"action"`
	Workflows []map[string]any `json:"workflows"`
	Count     int              `json:"count"`
}

func newPosListWorkflows(action string, o *listWorkflowsOut) posListWorkflows {
	r := posListWorkflows{Status: posSuccess, Action: action, Workflows: make([]map[string]any, len(o.Workflows)), Count: o.Count}
	for i := range o.Workflows {
		w := &o.Workflows[i]
		m := maps.Clone(w.metadata)
		if m == nil {
			m = map[string]any{"workflow_type": w.WorkflowType}
		}
		m["problems"] = w.Problems
		r.Workflows[i] = m
	}
	return r
}

// posRecovery is the reply of pause, resume, retry_phase and rollback:
// recoveryOut's fields with status "success" (the session's own status
// is not in it) and action. The fields are declared in the order of their
// names, as pos_workflow has always encoded this reply.
type posRecovery struct {
	Action          string `json:"action"`
	Changed         bool   `json:"changed"`
	CompletedPhases []int  `json:"completed_phases"`
	CurrentPhase    int    `json:"current_phase"`
	Message         string `json:"message"`
	PauseReason     string `json:"pause_reason,omitempty"`
	Paused          bool   `json:"paused"`
	Reopened        []int  `json:"reopened"`
	SessionID       string `json:"session_id"`
	Status          string `json:"status"`
	WorkflowType    string `json:"workflow_type"`
}

func newPosRecovery(action string, o *recoveryOut) posRecovery {
	return posRecovery{
		Action: action, Changed: o.Changed, CompletedPhases: o.CompletedPhases, CurrentPhase: o.CurrentPhase,
		Message: o.Message, PauseReason: o.PauseReason, Paused: o.Paused, Reopened: o.Reopened,
		SessionID: o.SessionID, Status: posSuccess, WorkflowType: o.WorkflowType,
	}
}

// posFailedAttempt is one attempt of get_errors' reply: failedAttemptOut's
// fields in the order of their names.
type posFailedAttempt struct {
	At      string   `json:"at"`
	Attempt int      `json:"attempt"`
	Errors  []string `json:"errors"`
	Fields  []string `json:"fields"`
	Phase   int      `json:"phase"`
}

// posErrors is get_errors' reply: errorsOut's fields with status and
// action, in the order of their names.
type posErrors struct {
	Action    string             `json:"action"`
	Count     int                `json:"count"`
	Errors    []posFailedAttempt `json:"errors"`
	SessionID string             `json:"session_id"`
	Status    string             `json:"status"`
}

func newPosErrors(action string, o *errorsOut) posErrors {
	r := posErrors{Action: action, Count: o.Count, SessionID: o.SessionID, Status: posSuccess}
	if o.Errors != nil {
		r.Errors = make([]posFailedAttempt, len(o.Errors))
		for i, f := range o.Errors {
			r.Errors[i] = posFailedAttempt{At: f.At, Attempt: f.Attempt, Errors: f.Errors, Fields: f.Fields, Phase: f.Phase}
		}
	}
	return r
}

// posReply returns the pos_workflow reply for action from v, the
// structured content of the tool behind it, or nil for a type this file
// does not know.
func posReply(action string, v any) any {
	switch o := v.(type) {
	case startOut:
		return newPosStart(action, &o)
	case phaseOut:
		return newPosPhase(action, &o)
	case taskOut:
		return newPosTaskReply(action, &o)
	case completeOut:
		return newPosComplete(action, &o)
	case stateOut:
		if action == "get_session" {
			return newPosSession(action, &o)
		}
		return newPosState(action, &o)
	case listSessionsOut:
		return posListSessions{Status: posSuccess, Action: action, listSessionsOut: o}
	case deleteOut:
		return posDelete{Status: posSuccess, Action: action, deleteOut: o}
	case listWorkflowsOut:
		return newPosListWorkflows(action, &o)
	case recoveryOut:
		return newPosRecovery(action, &o)
	case errorsOut:
		return newPosErrors(action, &o)
	}
	return nil
}

// posErrorOut is the structured content of a pos_workflow error, in
// prAxIs OS's error shape. error_type is the Python exception prAxIs OS
// raises for such a failure: ValueError for what the caller can fix (a
// bad argument, an unknown session, a phase that is not current),
// RuntimeError for a failure of the server or its files.
type posErrorOut struct {
	Status       string   `json:"status"`
	Action       string   `json:"action"`
	Error        string   `json:"error"`
	ErrorType    string   `json:"error_type"`
	ValidActions []string `json:"valid_actions"`
	Remediation  string   `json:"remediation"`
}

// posErrorType classifies err for posErrorOut.
func posErrorType(err error) string {
	if _, ok := errors.AsType[*argError](err); ok {
		return "ValueError"
	}
	if _, ok := errors.AsType[*ragcache.QueryError](err); ok {
		return "ValueError"
	}
	for _, k := range []error{state.ErrInvalidArgument, state.ErrNotFound, state.ErrWrongPhase, state.ErrAlreadyCompleted} {
		if errors.Is(err, k) {
			return "ValueError"
		}
	}
	return "RuntimeError"
}

// posRemediation is what to do about err: its remedy, or a general hint.
func posRemediation(err error) string {
	if r := remedy(err); r != "" {
		return r
	}
	if posErrorType(err) == "ValueError" {
		return "fix what the error names and call pos_workflow again"
	}
	if errors.Is(err, state.ErrCorrupt) {
		return "the error names the file to fix; the server log (stderr) has the details"
	}
	return "retry; if it fails again, the server log (stderr) has the details"
}
