package state

import (
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
	// Metadata holds the Start options under "options", the keys prAxIs
	// OS reads (spec_path, total_phases) and anything a prAxIs OS file
	// carried. The state file also keeps Paused and Recovery in it (under
	// "paused" and "mcpflow"); in memory they are the typed fields below
	// and Metadata never holds those two keys.
	Metadata map[string]any `json:"metadata"`
	// Awaiting is set while the current phase's evidence passed its gate
	// and waits for a human's approval. Decisions is the history of
	// those approvals and rejections, oldest first. Both are kept in the
	// state file under metadata.mcpflow_approval (ApprovalKey).
	Awaiting  *Awaiting  `json:"-"`
	Decisions []Decision `json:"-"`
	// Paused is true while the session is paused: it refuses every
	// mutation until it is resumed. The state file keeps it as metadata
	// "paused": true, the key prAxIs OS reads.
	Paused bool `json:"-"`
	// Recovery is what pause, retry and rollback keep about the session.
	// The state file keeps it under metadata "mcpflow", where prAxIs OS
	// carries it through its own saves.
	Recovery Recovery `json:"-"`
}

// Recovery is a session's recovery record: why it is paused, the failed
// gate attempts, the artifacts that retry and rollback set aside, and
// when each phase opened.
type Recovery struct {
	// PhaseStarts records, per phase number, what the project looked like
	// when the phase last opened (at start, an advance or a rollback):
	// the reference of the gate checks that look for changes.
	PhaseStarts map[int]PhaseStart
	// PausedAt and PauseReason describe the current pause; both are zero
	// when the session is not paused.
	PausedAt    time.Time
	PauseReason string
	// FailedAttempts are the failed gate attempts, oldest first, at most
	// MaxFailedAttempts of them (older ones are dropped).
	FailedAttempts []FailedAttempt
	// History holds the artifacts that retry_phase and rollback set
	// aside, oldest first, at most MaxHistory of them.
	History []HistoryEntry
}

// PhaseStart is what the project looked like when a phase opened.
type PhaseStart struct {
	// OpenedAt is when the phase opened, by the wall clock.
	OpenedAt time.Time
	// Git is true when the project was looked at with git: Head is the
	// commit HEAD named ("" before the first commit) and Dirty whether
	// the work tree had uncommitted changes.
	Git   bool
	Head  string
	Dirty bool
}

// MaxFailedAttempts and MaxHistory bound the recovery record, so that a
// session retried without end does not grow its state file without end.
const (
	MaxFailedAttempts = 200
	MaxHistory        = 200
)

// FailedAttempt is one complete_phase call whose gate refused the
// evidence.
type FailedAttempt struct {
	Phase int
	// Attempt is the phase's attempt number (PhaseArtifact.Attempts).
	Attempt int
	Errors  []string
	// Fields are the names of the evidence fields submitted, sorted.
	Fields []string
	At     time.Time
}

// The reasons a HistoryEntry was set aside.
const (
	HistoryRetry    = "retry"
	HistoryRollback = "rollback"
)

// HistoryEntry is a phase's artifact set aside by retry_phase or rollback,
// with the checkpoint status it had.
type HistoryEntry struct {
	Phase int
	// Reason is HistoryRetry or HistoryRollback.
	Reason     string
	At         time.Time
	Checkpoint CheckpointStatus
	// Artifact is nil when the phase had none (a rollback over a phase
	// that was never submitted).
	Artifact *PhaseArtifact
}

// PhaseArtifact is the evidence last submitted for a phase, whether its
// gate passed or failed, and how many submissions the phase has had.
type PhaseArtifact struct {
	PhaseNumber      int            `json:"phase_number"`
	Evidence         map[string]any `json:"evidence"`
	Outputs          map[string]any `json:"outputs"`
	CommandsExecuted []any          `json:"commands_executed"`
	Timestamp        time.Time      `json:"timestamp"`
	// Attempts counts CompletePhase calls that reached the gate.
	Attempts int `json:"attempts,omitempty"`
	// Errors are the gate errors of the last failed attempt.
	Errors []string `json:"errors,omitempty"`
	// Checks are the verdicts of the checks the server performed on the
	// last attempt, so that a retry is answered with them rather than by
	// running them again.
	Checks []CheckRecord `json:"checks,omitempty"`
}

// CheckRecord is one check's verdict as a phase artifact keeps it.
type CheckRecord struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Verdict     string `json:"verdict"`
	Strict      bool   `json:"strict"`
	Message     string `json:"message,omitempty"`
	Remediation string `json:"remediation,omitempty"`
	Method      string `json:"method,omitempty"`
	Output      string `json:"output,omitempty"`
	TimedOut    bool   `json:"timed_out,omitempty"`
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
	// Paused is true while the session is paused.
	Paused bool
	Error  string
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
		Paused:          st.Paused,
	}
	if st.Awaiting != nil {
		p := st.Awaiting.Phase
		s.AwaitingApproval = &p
	}
	return s
}

// TotalPhases returns the session's metadata total_phases, which prAxIs OS
// and mcpflow's Start write, when it is a whole number.
func TotalPhases(st *SessionState) (int, bool) {
	switch v := st.Metadata["total_phases"].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case int:
		return v, true
	}
	return 0, false
}

// FinishedByTotalPhases applies prAxIs OS's WorkflowState.is_complete to
// st: with phases numbered from 0 (the first completed phase, or with none
// the current one, is 0) a session is finished when current_phase is at
// least total_phases, with phases from 1 when it is above. A session
// without total_phases is not.
func FinishedByTotalPhases(st *SessionState) bool {
	n, ok := TotalPhases(st)
	if !ok || n <= 0 {
		return false
	}
	zeroBased := st.CurrentPhase == 0
	if len(st.CompletedPhases) > 0 {
		zeroBased = slices.Min(st.CompletedPhases) == 0
	}
	return zeroBased && st.CurrentPhase >= n || !zeroBased && st.CurrentPhase > n
}
