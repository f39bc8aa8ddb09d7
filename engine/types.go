package engine

import (
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// Where a phase's or a task's content comes from (PhaseContent.Source,
// TaskView.Source).
const (
	// SourceFile is a static phase: phase.md, and task files named in
	// metadata.json.
	SourceFile = "metadata_file"
	// SourceDynamic is a phase of the session's spec, rendered from the
	// workflow's templates.
	SourceDynamic = "dynamic"
)

// TaskInfo is one task of a phase, as metadata.json or the spec lists it.
type TaskInfo struct {
	TaskNumber int
	Name       string
	File       string
	Purpose    string
	// EstimatedTime and Dependencies are a spec task's **Estimated
	// Time:** and the task IDs ("N.M") its **Dependencies:** names;
	// empty for a static task.
	EstimatedTime string
	Dependencies  []string
}

// PhaseContent is a phase's text and task list.
type PhaseContent struct {
	Phase     int
	PhaseName string
	Purpose   string
	Content   string
	Tasks     []TaskInfo
	// ValidationGate lists what the phase's gate checks: a spec phase's
	// validation-gate items, or a static phase's validation_criteria.
	ValidationGate []string
	// Source is SourceFile or SourceDynamic.
	Source string
	// Checks are what the server checks itself when the phase is
	// completed, as the phase's gate declares them.
	Checks []CheckInfo
}

// CheckInfo is one check a phase's gate will run, for an agent that reads
// the phase before it submits.
type CheckInfo struct {
	// Name is checks[i].kind, as results name it.
	Name string
	// Kind is the check's kind.
	Kind checkpoint.CheckKind
	// Strict is whether a failure fails the gate (else it warns).
	Strict bool
	// Summary says what the check requires.
	Summary string
}

// StartResult is what Start returns.
type StartResult struct {
	SessionID    string
	WorkflowType string
	TargetFile   string
	CurrentPhase int
	PhaseName    string
	PhaseContent string
	Tasks        []TaskInfo
	TotalPhases  int
	// ValidationGate and Source are the current phase's (PhaseContent).
	ValidationGate []string
	Source         string
	// Checks are the current phase's gate checks (PhaseContent).
	Checks []CheckInfo
	// workflow is the workflow's metadata.json as read for this call,
	// for Overview.
	workflow *workflows.Metadata
	// Resumed is true when an active session for the same workflow and
	// target file already existed and is returned instead of a new one.
	Resumed bool
}

// PhaseView is what CurrentPhase returns: the session's position and the
// current phase's content. When the workflow is complete, Content and Tasks
// are empty and WorkflowComplete is true.
type PhaseView struct {
	// AwaitingApproval is true while the phase's evidence passed its
	// gate and waits for a human's approval (Engine.Decide).
	AwaitingApproval bool
	// Rejection is the reviewer's latest rejection of the phase, while
	// the phase is still current and does not await a new decision.
	Rejection        *state.Decision
	SessionID        string
	WorkflowType     string
	TargetFile       string
	Status           state.Status
	CompletedPhases  []int
	TotalPhases      int
	WorkflowComplete bool
	PhaseContent
}

// TaskView is what Task returns.
type TaskView struct {
	SessionID    string
	WorkflowType string
	Phase        int
	TaskNumber   int
	Name         string
	File         string
	Purpose      string
	Content      string
	// EstimatedTime and Dependencies are as in TaskInfo.
	EstimatedTime string
	Dependencies  []string
	// Source is SourceFile or SourceDynamic.
	Source string
	// Steps are the marked steps of a task file (SourceFile); [] for a
	// spec's task.
	Steps []Step
}

// CompleteResult is what CompletePhase returns when the gate ran, whether
// it passed or not.
type CompleteResult struct {
	SessionID        string
	WorkflowType     string
	Phase            int
	CheckpointPassed bool
	ValidationResult checkpoint.Result
	// ValidatedAt is when the gate checked the evidence: for a retry that
	// is answered again (see CompletePhase), when the first call did.
	ValidatedAt time.Time
	// PhaseCompleted is true when this call completed the phase.
	PhaseCompleted bool
	// AwaitingApproval is true when the evidence passed a gate that
	// requires a human's approval: the phase stays current, and closed,
	// until Engine.Decide approves it.
	AwaitingApproval bool
	// NextPhase and NextPhaseContent are set when the session advanced to
	// another phase.
	NextPhase        *int
	NextPhaseContent *PhaseContent
	// WorkflowComplete is true when the phase was the last one.
	WorkflowComplete bool
	// Current is set when the gate failed: the phase, still current, with
	// its content and tasks.
	Current *PhaseContent

	id state.SessionID
}

// ID returns the session's ID as CompletePhase was given it, for calling
// the engine again.
func (r *CompleteResult) ID() state.SessionID { return r.id }

// DecisionResult is what Decide returns.
type DecisionResult struct {
	SessionID    string
	WorkflowType string
	Phase        int
	// Decision is the decision as recorded in the session's history.
	Decision state.Decision
	// NextPhase is set when an approval advanced the session to another
	// phase; WorkflowComplete when the approved phase was the last.
	NextPhase        *int
	WorkflowComplete bool

	id state.SessionID
}

// ID returns the session's ID as Decide was given it, for calling the
// engine again.
func (r *DecisionResult) ID() state.SessionID { return r.id }
