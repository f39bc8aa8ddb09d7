package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// DefaultMaxEvidenceBytes is the largest evidence, JSON-encoded, that the
// engine accepts by default (engine.DefaultMaxEvidenceBytes): 1 MiB.
const DefaultMaxEvidenceBytes = 1 << 20

// MaxStateFileBytes is the largest encoded state the stores read: the
// filestore.Store's file limit and the Redis store's default document limit.
const MaxStateFileBytes = 64 << 20

// fileState is the on-disk form of a SessionState: the same fields plus
// the version, with timestamps as prAxIs OS writes them (Python's naive
// isoformat; read and written as UTC, RFC 3339 is read too). Paused and
// Recovery live in Metadata (keys metaPaused and metaRecovery).
//
// prAxIs OS's WorkflowState.from_dict (mcp_server/models/workflow.py)
// reads every field of the prAxIs layout by key and ignores the others
// (status, version); its PhaseArtifact.from_dict needs phase_number,
// evidence, outputs, commands_executed (a list) and timestamp in every
// artifact, so those are always written, never null.
type fileState struct {
	stateAlias
	PhaseArtifacts map[int]*fileArtifact `json:"phase_artifacts"`
	CreatedAt      flexTime              `json:"created_at"`
	UpdatedAt      flexTime              `json:"updated_at"`
	Version        Version               `json:"version,omitempty"`
}

// The metadata keys of the state file that hold typed fields: metaPaused
// is the flag prAxIs OS's list_sessions and get_session read,
// metaRecovery is mcpflow's recovery record.
const (
	metaPaused   = "paused"
	metaRecovery = "mcpflow"
)

// fileRecovery is Recovery's on-disk form.
type fileRecovery struct {
	PausedAt       flexTime        `json:"paused_at,omitzero"`
	PauseReason    string          `json:"pause_reason,omitempty"`
	FailedAttempts []fileFailed    `json:"failed_attempts,omitempty"`
	History        []fileHistEntry `json:"history,omitempty"`
	// PhaseStarts is keyed by phase number, written as a string.
	PhaseStarts map[int]filePhaseStart `json:"phase_starts,omitempty"`
}

type filePhaseStart struct {
	OpenedAt flexTime `json:"opened_at"`
	Git      bool     `json:"git"`
	Head     string   `json:"head,omitempty"`
	Dirty    bool     `json:"dirty,omitempty"`
}

type fileFailed struct {
	Phase   int      `json:"phase"`
	Attempt int      `json:"attempt"`
	Errors  []string `json:"errors"`
	Fields  []string `json:"fields"`
	At      flexTime `json:"at"`
}

type fileHistEntry struct {
	Phase      int              `json:"phase"`
	Reason     string           `json:"reason"`
	At         flexTime         `json:"at"`
	Checkpoint CheckpointStatus `json:"checkpoint,omitempty"`
	Artifact   *fileArtifact    `json:"artifact,omitempty"`
}

type stateAlias SessionState

type fileArtifact struct {
	artifactAlias
	Timestamp flexTime `json:"timestamp"`
}

type artifactAlias PhaseArtifact

// EncodeState returns the state-file JSON of st at version ver.
func EncodeState(st *SessionState, ver Version) ([]byte, error) {
	fsx := fileState{stateAlias: stateAlias(*st), CreatedAt: flexTime(st.CreatedAt), UpdatedAt: flexTime(st.UpdatedAt), Version: ver}
	// prAxIs OS reads every collection without a None check.
	if fsx.CompletedPhases == nil {
		fsx.CompletedPhases = []int{}
	}
	if fsx.Checkpoints == nil {
		fsx.Checkpoints = map[int]CheckpointStatus{}
	}
	if fsx.Metadata == nil {
		fsx.Metadata = map[string]any{}
	}
	fsx.PhaseArtifacts = map[int]*fileArtifact{}
	if st.PhaseArtifacts != nil {
		fsx.PhaseArtifacts = make(map[int]*fileArtifact, len(st.PhaseArtifacts))
		for k, a := range st.PhaseArtifacts {
			if a != nil {
				fsx.PhaseArtifacts[k] = toFileArtifact(a)
			}
		}
	}
	if st.Paused || !st.Recovery.isZero() {
		md := make(map[string]any, len(st.Metadata)+2)
		maps.Copy(md, st.Metadata)
		if st.Paused {
			md[metaPaused] = true
		}
		if !st.Recovery.isZero() {
			md[metaRecovery] = toFileRecovery(&st.Recovery)
		}
		fsx.Metadata = md
	}
	fsx.Metadata = metadataWithApproval(fsx.Metadata, st)
	// Compact, never indented: indentation grows with the square of the
	// nesting depth, so a deeply nested evidence object would write a file
	// many times its own size.
	return json.Marshal(&fsx)
}

// DecodeState parses a state file, prAxIs OS's or ours. A file without a
// version is version 1; one without a status is active, unless its
// metadata's total_phases says it is finished (FinishedByTotalPhases).
// The error names the field at fault.
func DecodeState(data []byte) (*SessionState, Version, error) {
	var fsx fileState
	if err := json.Unmarshal(data, &fsx); err != nil {
		return nil, 0, fmt.Errorf("not valid state JSON: %w", err)
	}
	st := SessionState(fsx.stateAlias)
	st.CreatedAt, st.UpdatedAt = time.Time(fsx.CreatedAt), time.Time(fsx.UpdatedAt)
	switch {
	case st.SessionID == "":
		return nil, 0, errors.New("session_id is missing")
	case st.WorkflowType == "":
		return nil, 0, errors.New("workflow_type is missing")
	case st.CurrentPhase < 0:
		return nil, 0, fmt.Errorf("current_phase must be 0 or more, got %d", st.CurrentPhase)
	case fsx.Version < 0:
		return nil, 0, fmt.Errorf("version must be 0 or more, got %d", fsx.Version)
	}
	if st.PhaseArtifacts = nil; fsx.PhaseArtifacts != nil {
		st.PhaseArtifacts = make(map[int]*PhaseArtifact, len(fsx.PhaseArtifacts))
		for k, a := range fsx.PhaseArtifacts {
			if a != nil {
				st.PhaseArtifacts[k] = a.artifact()
			}
		}
	}
	if err := decodeMetaFields(&st); err != nil {
		return nil, 0, err
	}
	if err := takeApproval(&st); err != nil {
		return nil, 0, err
	}
	switch st.Status {
	case "":
		// prAxIs OS writes no status: a session of its is finished when
		// its own is_complete says so.
		st.Status = StatusActive
		if FinishedByTotalPhases(&st) {
			st.Status = StatusCompleted
		}
	case StatusActive, StatusCompleted:
	default:
		return nil, 0, fmt.Errorf("status must be %q or %q, got %q", StatusActive, StatusCompleted, st.Status)
	}
	Normalize(&st)
	ver := fsx.Version
	if ver == 0 {
		ver = 1
	}
	return &st, ver, nil
}

func toFileArtifact(a *PhaseArtifact) *fileArtifact {
	fa := &fileArtifact{artifactAlias: artifactAlias(*a), Timestamp: flexTime(a.Timestamp)}
	if fa.Evidence == nil {
		fa.Evidence = map[string]any{}
	}
	if fa.Outputs == nil {
		fa.Outputs = map[string]any{}
	}
	if fa.CommandsExecuted == nil {
		fa.CommandsExecuted = []any{}
	}
	return fa
}

func (a *fileArtifact) artifact() *PhaseArtifact {
	pa := PhaseArtifact(a.artifactAlias)
	pa.Timestamp = time.Time(a.Timestamp)
	// Empty outputs and commands are written as {} and [] for prAxIs OS
	// and held as nil, so that a state reads back as it was saved; missing
	// evidence is written and held as {}.
	if pa.Evidence == nil {
		pa.Evidence = map[string]any{}
	}
	if len(pa.Outputs) == 0 {
		pa.Outputs = nil
	}
	if len(pa.CommandsExecuted) == 0 {
		pa.CommandsExecuted = nil
	}
	return &pa
}

func (r *Recovery) isZero() bool {
	return r.PausedAt.IsZero() && r.PauseReason == "" && len(r.FailedAttempts) == 0 && len(r.History) == 0 && len(r.PhaseStarts) == 0
}

func toFileRecovery(r *Recovery) *fileRecovery {
	fr := &fileRecovery{PausedAt: flexTime(r.PausedAt), PauseReason: r.PauseReason}
	for _, f := range r.FailedAttempts {
		fr.FailedAttempts = append(fr.FailedAttempts, fileFailed{Phase: f.Phase, Attempt: f.Attempt, Errors: nonNil(f.Errors), Fields: nonNil(f.Fields), At: flexTime(f.At)})
	}
	for _, h := range r.History {
		fh := fileHistEntry{Phase: h.Phase, Reason: h.Reason, At: flexTime(h.At), Checkpoint: h.Checkpoint}
		if h.Artifact != nil {
			fh.Artifact = toFileArtifact(h.Artifact)
		}
		fr.History = append(fr.History, fh)
	}
	if len(r.PhaseStarts) > 0 {
		fr.PhaseStarts = make(map[int]filePhaseStart, len(r.PhaseStarts))
		for p, ps := range r.PhaseStarts {
			fr.PhaseStarts[p] = filePhaseStart{OpenedAt: flexTime(ps.OpenedAt), Git: ps.Git, Head: ps.Head, Dirty: ps.Dirty}
		}
	}
	return fr
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// decodeMetaFields moves the typed fields kept in st.Metadata (paused, and
// mcpflow's recovery record) into st.Paused and st.Recovery.
func decodeMetaFields(st *SessionState) error {
	if raw, ok := st.Metadata[metaPaused]; ok {
		switch v := raw.(type) {
		case bool:
			st.Paused = v
		case nil:
		default:
			return fmt.Errorf("metadata.paused must be true or false, got %s", short(mustJSON(raw)))
		}
		delete(st.Metadata, metaPaused)
	}
	raw, ok := st.Metadata[metaRecovery]
	if !ok {
		return nil
	}
	delete(st.Metadata, metaRecovery)
	var fr fileRecovery
	if err := json.Unmarshal(mustJSON(raw), &fr); err != nil {
		return fmt.Errorf("metadata.mcpflow is not mcpflow's recovery record: %w", err)
	}
	r := Recovery{PausedAt: time.Time(fr.PausedAt), PauseReason: fr.PauseReason}
	for _, f := range fr.FailedAttempts {
		r.FailedAttempts = append(r.FailedAttempts, FailedAttempt{Phase: f.Phase, Attempt: f.Attempt, Errors: nonNil(f.Errors), Fields: nonNil(f.Fields), At: time.Time(f.At)})
	}
	for _, h := range fr.History {
		switch h.Reason {
		case HistoryRetry, HistoryRollback:
		default:
			return fmt.Errorf("metadata.mcpflow.history: reason must be %q or %q, got %s", HistoryRetry, HistoryRollback, Quote(h.Reason))
		}
		e := HistoryEntry{Phase: h.Phase, Reason: h.Reason, At: time.Time(h.At), Checkpoint: h.Checkpoint}
		if h.Artifact != nil {
			e.Artifact = h.Artifact.artifact()
		}
		r.History = append(r.History, e)
	}
	for p, ps := range fr.PhaseStarts {
		if r.PhaseStarts == nil {
			r.PhaseStarts = make(map[int]PhaseStart, len(fr.PhaseStarts))
		}
		r.PhaseStarts[p] = PhaseStart{OpenedAt: time.Time(ps.OpenedAt), Git: ps.Git, Head: ps.Head, Dirty: ps.Dirty}
	}
	st.Recovery = r
	return nil
}

// mustJSON re-encodes a value decoded from JSON, which cannot fail.
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Normalize replaces nil collections with empty ones.
func Normalize(st *SessionState) {
	if st.CompletedPhases == nil {
		st.CompletedPhases = []int{}
	}
	if st.PhaseArtifacts == nil {
		st.PhaseArtifacts = map[int]*PhaseArtifact{}
	}
	if st.Checkpoints == nil {
		st.Checkpoints = map[int]CheckpointStatus{}
	}
	if st.Metadata == nil {
		st.Metadata = map[string]any{}
	}
}

// flexTime reads RFC 3339 timestamps and Python's isoformat without a time
// zone (read as UTC), and writes the latter, in UTC.
type flexTime time.Time

// IsZero reports whether t is the zero time (omitzero uses it).
func (t flexTime) IsZero() bool { return time.Time(t).IsZero() }

// isoLayout is how prAxIs OS writes a timestamp: Python's isoformat() of a
// naive datetime with microseconds.
const isoLayout = "2006-01-02T15:04:05.000000"

// MarshalJSON writes t in UTC as prAxIs OS writes timestamps (ISO 8601
// without a zone, microseconds), or null when zero. Python's
// datetime.fromisoformat reads it back as a naive datetime, which is what
// prAxIs OS compares its own timestamps with.
func (t flexTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(isoLayout) + `"`), nil
}

// UnmarshalJSON reads RFC 3339 or a naive ISO 8601 time (as UTC), to the
// microsecond.
func (t *flexTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = flexTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string such as 2025-01-02T15:04:05Z, got %s", short(b))
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			// To the microsecond that state files keep, so that a state
			// read back after a save is the state that was read.
			*t = flexTime(v.UTC().Truncate(time.Microsecond))
			return nil
		}
	}
	return fmt.Errorf("timestamp %s is not RFC 3339 or ISO 8601", Quote(s))
}

func short(raw []byte) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
