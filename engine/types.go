package engine

import (
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
)

// Status is a session's lifecycle state.
type Status string

// The session statuses.
const (
	StatusActive    Status = "active"
	StatusCompleted Status = "completed"
)

// CheckpointStatus is the gate status of one phase of a session, as prAxIs
// OS writes it.
type CheckpointStatus string

// The checkpoint statuses.
const (
	CheckpointPending CheckpointStatus = "pending"
	CheckpointPassed  CheckpointStatus = "passed"
	CheckpointFailed  CheckpointStatus = "failed"
)

// SessionState is everything persisted about a session: the prAxIs OS
// state-file fields plus Status. Maps keyed by phase number encode their
// keys as JSON strings ("0", "1", ...), as prAxIs OS does.
type SessionState struct {
	SessionID       string                   `json:"session_id"`
	WorkflowType    string                   `json:"workflow_type"`
	TargetFile      string                   `json:"target_file"`
	CurrentPhase    int                      `json:"current_phase"`
	CompletedPhases []int                    `json:"completed_phases"`
	PhaseArtifacts  map[int]*PhaseArtifact   `json:"phase_artifacts"`
	Checkpoints     map[int]CheckpointStatus `json:"checkpoints"`
	Status          Status                   `json:"status"`
	CreatedAt       time.Time                `json:"created_at"`
	UpdatedAt       time.Time                `json:"updated_at"`
	// Metadata holds the Start options under "options" and anything a
	// prAxIs OS file carried.
	Metadata map[string]any `json:"metadata"`
}

// PhaseArtifact is the evidence last submitted for a phase, whether its
// gate passed or failed, and how many submissions the phase has had.
type PhaseArtifact struct {
	PhaseNumber      int            `json:"phase_number"`
	Evidence         map[string]any `json:"evidence"`
	Outputs          map[string]any `json:"outputs,omitempty"`
	CommandsExecuted []any          `json:"commands_executed,omitempty"`
	Timestamp        time.Time      `json:"timestamp"`
	// Attempts counts CompletePhase calls that reached the gate.
	Attempts int `json:"attempts,omitempty"`
	// Errors are the gate errors of the last failed attempt.
	Errors []string `json:"errors,omitempty"`
}

// SessionSummary is one line of ListSessions. Error is set, and the other
// fields may be empty, when the session's state file is corrupt.
type SessionSummary struct {
	SessionID       string    `json:"session_id"`
	WorkflowType    string    `json:"workflow_type,omitempty"`
	TargetFile      string    `json:"target_file,omitempty"`
	CurrentPhase    int       `json:"current_phase"`
	CompletedPhases []int     `json:"completed_phases"`
	Status          Status    `json:"status,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	Error           string    `json:"error,omitempty"`
}

// WorkflowInfo describes one workflow of the workflows folder.
type WorkflowInfo struct {
	// Name is the folder name, which is also its workflow_type when the
	// definition is valid.
	Name              string      `json:"name"`
	WorkflowType      string      `json:"workflow_type"`
	Version           string      `json:"version"`
	Title             string      `json:"title,omitempty"`
	Description       string      `json:"description"`
	EstimatedDuration string      `json:"estimated_duration,omitempty"`
	TotalPhases       TotalPhases `json:"total_phases"`
	// Phases is the number of phases the metadata lists.
	Phases int `json:"phases"`
	// Problems lists what Validate finds wrong with the workflow; a
	// workflow with problems may still start if its phases are readable.
	Problems []string `json:"problems"`
}

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
	SessionID        string `json:"session_id"`
	WorkflowType     string `json:"workflow_type"`
	TargetFile       string `json:"target_file"`
	Status           Status `json:"status"`
	CompletedPhases  []int  `json:"completed_phases"`
	TotalPhases      int    `json:"total_phases"`
	WorkflowComplete bool   `json:"workflow_complete"`
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
