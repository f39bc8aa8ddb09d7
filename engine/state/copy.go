package state

import (
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/internal/jsonvalue"
)

// DeepCopy returns a copy of st that owns every map, slice and pointer,
// and that equals the state its state file reads back as (EncodeState
// then DecodeState): timestamps in UTC to the microsecond, JSON values
// (metadata, evidence, outputs) as encoding/json decodes them, empty
// collections as DecodeState leaves them. It copies field by field;
// a state that the walk cannot copy exactly (a metadata value that is not
// a plain JSON value, a string that is not valid UTF-8, a timestamp
// outside years 0 to 9999, a field DecodeState refuses) goes through the
// state-file form, with the same result and errors.
func DeepCopy(st *SessionState) (*SessionState, error) {
	var c copier
	if out := c.state(st); !c.slow {
		return out, nil
	}
	return copyViaJSON(st)
}

// copyViaJSON is DeepCopy through the state-file form.
func copyViaJSON(st *SessionState) (*SessionState, error) {
	b, err := EncodeState(st, 0)
	if err != nil {
		return nil, Errorf(nil, "session %s: encode state: %w", st.SessionID, err)
	}
	c, _, err := DecodeState(b)
	if err != nil {
		return nil, Errorf(nil, "session %s: decode state: %w", st.SessionID, err)
	}
	return c, nil
}

// copier copies a state as its state file reads back. slow is set when a
// value needs the state-file form; the copy is then dropped.
type copier struct{ slow bool }

func (c *copier) state(st *SessionState) *SessionState {
	switch {
	case st.SessionID == "", st.WorkflowType == "", st.CurrentPhase < 0:
		c.slow = true // DecodeState refuses it, with its message
		return nil
	}
	for k := range st.Metadata {
		if k == metaPaused || k == metaRecovery || k == ApprovalKey {
			// Keys that the state file overwrites or that DecodeState
			// moves into typed fields.
			c.slow = true
			return nil
		}
	}
	out := &SessionState{
		SessionID:       c.str(st.SessionID),
		WorkflowType:    c.str(st.WorkflowType),
		TargetFile:      c.str(st.TargetFile),
		CurrentPhase:    st.CurrentPhase,
		CompletedPhases: slices.Clone(st.CompletedPhases),
		Checkpoints:     make(map[int]CheckpointStatus, len(st.Checkpoints)),
		PhaseArtifacts:  make(map[int]*PhaseArtifact, len(st.PhaseArtifacts)),
		Status:          st.Status,
		CreatedAt:       c.flex(st.CreatedAt),
		UpdatedAt:       c.flex(st.UpdatedAt),
		Metadata:        c.object(st.Metadata),
		Paused:          st.Paused,
		Recovery:        c.recovery(&st.Recovery),
	}
	for p, s := range st.Checkpoints {
		out.Checkpoints[p] = CheckpointStatus(c.str(string(s)))
	}
	for p, a := range st.PhaseArtifacts {
		if a != nil {
			out.PhaseArtifacts[p] = c.artifact(a)
		}
	}
	if st.Awaiting != nil {
		out.Awaiting = &Awaiting{Phase: st.Awaiting.Phase, RequestedAt: c.plain(st.Awaiting.RequestedAt)}
	}
	if len(st.Decisions) > 0 {
		out.Decisions = make([]Decision, len(st.Decisions))
		for i, d := range st.Decisions {
			out.Decisions[i] = Decision{Phase: d.Phase, Decision: c.str(d.Decision), By: c.str(d.By), At: c.plain(d.At), Comment: c.str(d.Comment)}
			if d.Evidence != nil {
				out.Decisions[i].Evidence = c.object(d.Evidence)
			}
		}
	}
	switch out.Status {
	case "":
		out.Status = StatusActive
		if FinishedByTotalPhases(out) {
			out.Status = StatusCompleted
		}
	case StatusActive, StatusCompleted:
	default:
		c.slow = true
	}
	Normalize(out)
	return out
}

func (c *copier) recovery(r *Recovery) Recovery {
	if r.isZero() {
		return Recovery{}
	}
	out := Recovery{PausedAt: c.flex(r.PausedAt), PauseReason: c.str(r.PauseReason)}
	if len(r.FailedAttempts) > 0 {
		out.FailedAttempts = make([]FailedAttempt, len(r.FailedAttempts))
		for i, f := range r.FailedAttempts {
			out.FailedAttempts[i] = FailedAttempt{Phase: f.Phase, Attempt: f.Attempt, Errors: c.strs(nonNil(f.Errors)), Fields: c.strs(nonNil(f.Fields)), At: c.flex(f.At)}
		}
	}
	if len(r.History) > 0 {
		out.History = make([]HistoryEntry, len(r.History))
		for i, h := range r.History {
			if h.Reason != HistoryRetry && h.Reason != HistoryRollback {
				c.slow = true
			}
			out.History[i] = HistoryEntry{Phase: h.Phase, Reason: h.Reason, At: c.flex(h.At), Checkpoint: CheckpointStatus(c.str(string(h.Checkpoint)))}
			if h.Artifact != nil {
				out.History[i].Artifact = c.artifact(h.Artifact)
			}
		}
	}
	if len(r.PhaseStarts) > 0 {
		out.PhaseStarts = make(map[int]PhaseStart, len(r.PhaseStarts))
		for p, ps := range r.PhaseStarts {
			out.PhaseStarts[p] = PhaseStart{OpenedAt: c.flex(ps.OpenedAt), Git: ps.Git, Head: c.str(ps.Head), Dirty: ps.Dirty}
		}
	}
	return out
}

// artifact copies a as the state file reads it back (fileArtifact's
// encoding and artifact()).
func (c *copier) artifact(a *PhaseArtifact) *PhaseArtifact {
	out := &PhaseArtifact{PhaseNumber: a.PhaseNumber, Evidence: c.object(a.Evidence), Timestamp: c.flex(a.Timestamp), Attempts: a.Attempts}
	if out.Evidence == nil {
		out.Evidence = map[string]any{}
	}
	if len(a.Outputs) > 0 {
		out.Outputs = c.object(a.Outputs)
	}
	if len(a.CommandsExecuted) > 0 {
		v, ok := jsonvalue.Copy(a.CommandsExecuted)
		c.slow = c.slow || !ok
		out.CommandsExecuted, _ = v.([]any)
	}
	if len(a.Errors) > 0 {
		out.Errors = c.strs(a.Errors)
	}
	if len(a.Checks) > 0 {
		out.Checks = slices.Clone(a.Checks)
		for i := range out.Checks {
			k := &out.Checks[i]
			for _, s := range []string{k.Name, k.Kind, k.Verdict, k.Message, k.Remediation, k.Method, k.Output} {
				c.str(s)
			}
		}
	}
	return out
}

// object copies a JSON object; nil stays nil.
func (c *copier) object(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out, _, ok := jsonvalue.CopyObject(m, int(^uint(0)>>1))
	c.slow = c.slow || !ok
	return out
}

// str returns s, and leaves a string that is not valid UTF-8 (which
// encoding/json rewrites) to the state-file form.
func (c *copier) str(s string) string {
	if !utf8.ValidString(s) {
		c.slow = true
	}
	return s
}

func (c *copier) strs(s []string) []string {
	for _, v := range s {
		c.str(v)
	}
	return slices.Clone(s)
}

// flex returns t as a state-file timestamp reads back (flexTime): in UTC,
// to the microsecond.
func (c *copier) flex(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		c.slow = true
	}
	return u.Truncate(time.Microsecond)
}

// plain returns t as time.Time's own JSON form reads back (RFC 3339 with
// nanoseconds and the zone offset).
func (c *copier) plain(t time.Time) time.Time {
	b, err := t.MarshalText()
	if err != nil {
		c.slow = true
		return t
	}
	var out time.Time
	if out.UnmarshalText(b) != nil {
		c.slow = true
	}
	return out
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
	c.Recovery.FailedAttempts = slices.Clone(st.Recovery.FailedAttempts)
	c.Recovery.History = slices.Clone(st.Recovery.History)
	c.Recovery.PhaseStarts = maps.Clone(st.Recovery.PhaseStarts)
	Normalize(&c)
	return &c
}
