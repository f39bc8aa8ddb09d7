package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
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
	// Awaiting is set while the current phase's evidence passed its gate
	// and waits for a human's approval. Decisions is the history of
	// those approvals and rejections, oldest first. Both are kept in the
	// state file under metadata.mcpflow_approval (ApprovalKey).
	Awaiting  *Awaiting  `json:"-"`
	Decisions []Decision `json:"-"`
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
	SessionID       string
	WorkflowType    string
	TargetFile      string
	CurrentPhase    int
	CompletedPhases []int
	Status          Status
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// GateFailed is true when a phase's last gate attempt failed (one of
	// its checkpoints is failed).
	GateFailed bool
	// AwaitingApproval is the phase that waits for a human's approval,
	// or nil.
	AwaitingApproval *int
	Error            string
}

// Summarize returns the summary of st.
func Summarize(st *SessionState) SessionSummary {
	s := SessionSummary{
		SessionID:       st.SessionID,
		WorkflowType:    st.WorkflowType,
		TargetFile:      st.TargetFile,
		CurrentPhase:    st.CurrentPhase,
		CompletedPhases: append([]int{}, st.CompletedPhases...),
		Status:          st.Status,
		CreatedAt:       st.CreatedAt,
		UpdatedAt:       st.UpdatedAt,
		GateFailed:      slices.Contains(slices.Collect(maps.Values(st.Checkpoints)), CheckpointFailed),
	}
	if st.Awaiting != nil {
		p := st.Awaiting.Phase
		s.AwaitingApproval = &p
	}
	return s
}

// Clone copies st's containers so that the copy can be changed
// without touching st. Artifacts are shared: they are replaced, never
// modified.
func Clone(st *SessionState) *SessionState {
	c := *st
	c.CompletedPhases = slices.Clone(st.CompletedPhases)
	c.PhaseArtifacts = maps.Clone(st.PhaseArtifacts)
	c.Checkpoints = maps.Clone(st.Checkpoints)
	c.Decisions = slices.Clip(st.Decisions)
	Normalize(&c)
	return &c
}

// DeepCopy copies st through its JSON form, so the caller owns every map.
func DeepCopy(st *SessionState) (*SessionState, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("engine: session %s: encode state: %w", st.SessionID, err)
	}
	var c SessionState
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("engine: session %s: decode state: %w", st.SessionID, err)
	}
	if st.Awaiting != nil {
		a := *st.Awaiting
		c.Awaiting = &a
	}
	if c.Decisions, err = copyDecisions(st.Decisions); err != nil {
		return nil, fmt.Errorf("engine: session %s: copy decisions: %w", st.SessionID, err)
	}
	Normalize(&c)
	return &c, nil
}
