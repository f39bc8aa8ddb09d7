package engine

import (
	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// TaskInfo is one task of a phase, as metadata.json lists it.
type TaskInfo struct {
	TaskNumber int
	Name       string
	File       string
	Purpose    string
}

// PhaseContent is a phase's text and task list.
type PhaseContent struct {
	Phase     int
	PhaseName string
	Purpose   string
	Content   string
	Tasks     []TaskInfo
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
	// Resumed is true when an active session for the same workflow and
	// target file already existed and is returned instead of a new one.
	Resumed bool
}

// PhaseView is what CurrentPhase returns: the session's position and the
// current phase's content. When the workflow is complete, Content and Tasks
// are empty and WorkflowComplete is true.
type PhaseView struct {
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
	SessionID  string
	Phase      int
	TaskNumber int
	Name       string
	File       string
	Purpose    string
	Content    string
}

// CompleteResult is what CompletePhase returns when the gate ran, whether
// it passed or not.
type CompleteResult struct {
	SessionID        string
	Phase            int
	CheckpointPassed bool
	ValidationResult checkpoint.Result
	// PhaseCompleted is true when this call completed the phase.
	PhaseCompleted bool
	// NextPhase and NextPhaseContent are set when the session advanced to
	// another phase.
	NextPhase        *int
	NextPhaseContent *PhaseContent
	// WorkflowComplete is true when the phase was the last one.
	WorkflowComplete bool
}
