package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxStateFileBytes is the largest encoded state the stores read: the
// FileStore's file limit and the Redis store's default document limit.
const MaxStateFileBytes = 64 << 20

// fileState is the on-disk form of a SessionState: the same fields plus
// the version, with timestamps that may lack a time zone (prAxIs OS writes
// Python's naive isoformat; those are read as UTC).
type fileState struct {
	stateAlias
	PhaseArtifacts map[int]*fileArtifact `json:"phase_artifacts"`
	CreatedAt      flexTime              `json:"created_at"`
	UpdatedAt      flexTime              `json:"updated_at"`
	Version        Version               `json:"version,omitempty"`
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
	fsx.Metadata = metadataWithApproval(st)
	if st.PhaseArtifacts != nil {
		fsx.PhaseArtifacts = make(map[int]*fileArtifact, len(st.PhaseArtifacts))
		for k, a := range st.PhaseArtifacts {
			if a != nil {
				fsx.PhaseArtifacts[k] = &fileArtifact{artifactAlias: artifactAlias(*a), Timestamp: flexTime(a.Timestamp)}
			}
		}
	}
	// Compact, never indented: indentation grows with the square of the
	// nesting depth, so a deeply nested evidence object would write a file
	// many times its own size.
	return json.Marshal(&fsx)
}

// DecodeState parses a state file, prAxIs OS's or ours. A file without a
// version is version 1; one without a status is active. The error names
// the field at fault.
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
			if a == nil {
				continue
			}
			pa := PhaseArtifact(a.artifactAlias)
			pa.Timestamp = time.Time(a.Timestamp)
			st.PhaseArtifacts[k] = &pa
		}
	}
	switch st.Status {
	case "":
		st.Status = StatusActive
	case StatusActive, StatusCompleted:
	default:
		return nil, 0, fmt.Errorf("status must be %q or %q, got %q", StatusActive, StatusCompleted, st.Status)
	}
	Normalize(&st)
	if err := takeApproval(&st); err != nil {
		return nil, 0, err
	}
	ver := fsx.Version
	if ver == 0 {
		ver = 1
	}
	return &st, ver, nil
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
// zone (read as UTC), and writes RFC 3339 in UTC.
type flexTime time.Time

// MarshalJSON writes t in RFC 3339, UTC, or null when zero.
func (t flexTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON reads RFC 3339 or a naive ISO 8601 time (as UTC).
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
			*t = flexTime(v.UTC())
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
