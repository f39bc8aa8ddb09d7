package engine

import (
	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// TaskInfo is one task of a phase, as metadata.json lists it.
type TaskInfo struct {
	TaskNumber int    `json:"task_number"`
	Name       string `json:"name"`
	File       string `json:"file"`
	Purpose    string `json:"purpose,omitempty"`
}

// PhaseContent is a phase's text and task list.
type PhaseContent struct {
	Phase     int        `json:"phase"`
	PhaseName string     `json:"phase_name"`
	Purpose   string     `json:"purpose,omitempty"`
	Content   string     `json:"content"`
	Tasks     []TaskInfo `json:"tasks"`
}

// StartResult is what Start returns.
type StartResult struct {
	SessionID    string     `json:"session_id"`
	WorkflowType string     `json:"workflow_type"`
	TargetFile   string     `json:"target_file"`
	CurrentPhase int        `json:"current_phase"`
	PhaseName    string     `json:"phase_name"`
	PhaseContent string     `json:"phase_content"`
	Tasks        []TaskInfo `json:"tasks"`
	TotalPhases  int        `json:"total_phases"`
	// Resumed is true when an active session for the same workflow and
	// target file already existed and is returned instead of a new one.
	Resumed bool `json:"resumed"`
}

// PhaseView is what CurrentPhase returns: the session's position and the
// current phase's content. When the workflow is complete, Content and Tasks
// are empty and WorkflowComplete is true.
type PhaseView struct {
	SessionID        string       `json:"session_id"`
	WorkflowType     string       `json:"workflow_type"`
	TargetFile       string       `json:"target_file"`
	Status           state.Status `json:"status"`
	CompletedPhases  []int        `json:"completed_phases"`
	TotalPhases      int          `json:"total_phases"`
	WorkflowComplete bool         `json:"workflow_complete"`
	PhaseContent
}

// TaskView is what Task returns.
type TaskView struct {
	SessionID  string `json:"session_id"`
	Phase      int    `json:"phase"`
	TaskNumber int    `json:"task_number"`
	Name       string `json:"name"`
	File       string `json:"file"`
	Purpose    string `json:"purpose,omitempty"`
	Content    string `json:"content"`
}

// CompleteResult is what CompletePhase returns when the gate ran, whether
// it passed or not.
type CompleteResult struct {
	SessionID        string            `json:"session_id"`
	Phase            int               `json:"phase"`
	CheckpointPassed bool              `json:"checkpoint_passed"`
	ValidationResult checkpoint.Result `json:"validation_result"`
	// PhaseCompleted is true when this call completed the phase.
	PhaseCompleted bool `json:"phase_completed"`
	// NextPhase and NextPhaseContent are set when the session advanced to
	// another phase.
	NextPhase        *int          `json:"next_phase"`
	NextPhaseContent *PhaseContent `json:"next_phase_content,omitempty"`
	// WorkflowComplete is true when the phase was the last one.
	WorkflowComplete bool `json:"workflow_complete"`
}
