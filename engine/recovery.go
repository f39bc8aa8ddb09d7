package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mcpflow/mcpflow/engine/state"
)

// RecoveryResult is what Pause, Resume, RetryPhase and Rollback return:
// the session's position after the call.
type RecoveryResult struct {
	SessionID       string
	WorkflowType    string
	Status          state.Status
	CurrentPhase    int
	CompletedPhases []int
	Paused          bool
	PauseReason     string
	// Changed is false when the session already was as the call asks (a
	// repeated call, or a retry of one that succeeded): nothing was saved.
	Changed bool
	// Reopened lists the phases the call re-opened, ascending: the
	// current phase for RetryPhase, to_phase and every later phase that
	// had evidence or was completed for Rollback.
	Reopened []int
}

// Pause pauses the session: until Resume, CompletePhase, RetryPhase and
// Rollback refuse it with ErrPaused; reads still answer. reason is kept
// with the pause. Pausing a paused session changes nothing (Changed is
// false, the first reason stays). A completed session cannot be paused
// (ErrAlreadyCompleted).
//
// Like every mutation, Pause is serialized with the session's other
// mutations and saved before it returns: of concurrent Pause calls on one
// active session exactly one reports Changed.
func (e *Engine) Pause(ctx context.Context, sessionID state.SessionID, reason string) (*RecoveryResult, error) {
	if len(reason) > maxReasonBytes {
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "reason", Problem: fmt.Sprintf("is %d bytes, more than the %d allowed", len(reason), maxReasonBytes)}
	}
	return e.recovery(ctx, sessionID, func(st *state.SessionState, _ stateWorkflow, now time.Time) (*state.SessionState, []int, error) {
		switch {
		case st.Status == state.StatusCompleted:
			return nil, nil, completedErr(st)
		case st.Paused:
			return nil, nil, nil
		}
		next := state.Clone(st)
		next.Paused = true
		next.Recovery.PausedAt, next.Recovery.PauseReason = now, reason
		next.UpdatedAt = now
		return next, nil, nil
	})
}

// maxReasonBytes bounds a pause reason.
const maxReasonBytes = 4096

// Resume lifts a pause. Resuming a session that is not paused changes
// nothing (Changed is false). Concurrent Resume calls on one paused
// session: exactly one reports Changed.
func (e *Engine) Resume(ctx context.Context, sessionID state.SessionID) (*RecoveryResult, error) {
	return e.recovery(ctx, sessionID, func(st *state.SessionState, _ stateWorkflow, now time.Time) (*state.SessionState, []int, error) {
		if !st.Paused {
			return nil, nil, nil
		}
		next := state.Clone(st)
		next.Paused = false
		next.Recovery.PausedAt, next.Recovery.PauseReason = time.Time{}, ""
		next.UpdatedAt = now
		return next, nil, nil
	})
}

// RetryPhase re-opens phase, the session's current phase, after its gate
// refused the evidence: the failed artifact moves to the session's history
// (reason "retry"), the checkpoint goes back to pending, and the failed
// attempts stay listed by Errors. A phase already re-opened (pending, with
// failed attempts) changes nothing (Changed is false), so a retried call
// is harmless. The error wraps ErrWrongPhase when phase is not the current
// phase or never failed its gate, ErrAlreadyCompleted for a completed
// phase or session, ErrPaused for a paused session.
func (e *Engine) RetryPhase(ctx context.Context, sessionID state.SessionID, phase int) (*RecoveryResult, error) {
	if phase < 0 {
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "phase", Value: fmt.Sprint(phase), Problem: "must be 0 or more"}
	}
	return e.recovery(ctx, sessionID, func(st *state.SessionState, _ stateWorkflow, now time.Time) (*state.SessionState, []int, error) {
		id := st.SessionID
		switch {
		case st.Status == state.StatusCompleted:
			return nil, nil, completedErr(st)
		case st.Paused:
			return nil, nil, paused(st)
		case slices.Contains(st.CompletedPhases, phase):
			return nil, nil, state.Errorf(state.ErrAlreadyCompleted, "phase %d of session %s passed its gate; only the current phase %d can be retried (rollback re-opens a completed phase)", phase, id, st.CurrentPhase)
		case phase != st.CurrentPhase:
			return nil, nil, state.Errorf(state.ErrWrongPhase, "phase %d is not the current phase of session %s; the current phase is %d", phase, id, st.CurrentPhase)
		}
		if st.Checkpoints[phase] != state.CheckpointFailed {
			if failedIn(st, phase) {
				return nil, nil, nil // re-opened already
			}
			return nil, nil, state.Errorf(state.ErrWrongPhase, "phase %d of session %s has no failed gate attempt to retry; submit its evidence with complete_phase", phase, id)
		}
		next := state.Clone(st)
		next.Recovery.History = appendBounded(next.Recovery.History, state.MaxHistory, state.HistoryEntry{
			Phase: phase, Reason: state.HistoryRetry, At: now, Checkpoint: state.CheckpointFailed, Artifact: st.PhaseArtifacts[phase],
		})
		delete(next.PhaseArtifacts, phase)
		next.Checkpoints[phase] = state.CheckpointPending
		next.UpdatedAt = now
		return next, []int{phase}, nil
	})
}

// Rollback moves the session back to toPhase, a phase of its workflow at
// or before the current one. toPhase and every later phase re-open: they
// leave completed_phases, their artifacts move to the session's history
// (reason "rollback") with the checkpoint status they had, toPhase's
// checkpoint becomes pending and later checkpoints are removed. Earlier
// phases keep their evidence. A session already on toPhase with nothing to
// re-open changes nothing (Changed is false), so a retried call is
// harmless. The error wraps ErrWrongPhase for a phase after the current
// one, ErrInvalidArgument for a phase not in the workflow,
// ErrAlreadyCompleted for a completed session, ErrPaused for a paused one.
func (e *Engine) Rollback(ctx context.Context, sessionID state.SessionID, toPhase int) (*RecoveryResult, error) {
	if toPhase < 0 {
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "to_phase", Value: fmt.Sprint(toPhase), Problem: "must be 0 or more"}
	}
	return e.recovery(ctx, sessionID, func(st *state.SessionState, wf stateWorkflow, now time.Time) (*state.SessionState, []int, error) {
		id := st.SessionID
		switch {
		case st.Status == state.StatusCompleted:
			return nil, nil, completedErr(st)
		case st.Paused:
			return nil, nil, paused(st)
		case toPhase > st.CurrentPhase:
			return nil, nil, state.Errorf(state.ErrWrongPhase, "to_phase %d is after the current phase %d of session %s; rollback goes back to the current phase or an earlier one", toPhase, st.CurrentPhase, id)
		}
		f, err := e.flowOf(ctx, wf, st)
		if err != nil {
			return nil, nil, err
		}
		if !f.has(toPhase) {
			return nil, nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "to_phase", Value: fmt.Sprint(toPhase), Problem: fmt.Sprintf("is not a phase of workflow %s; its phases are %v", st.WorkflowType, f.order())}
		}
		var reopened []int
		for _, p := range f.order() {
			if p >= toPhase && (st.PhaseArtifacts[p] != nil || slices.Contains(st.CompletedPhases, p)) {
				reopened = append(reopened, p)
			}
		}
		if toPhase == st.CurrentPhase && len(reopened) == 0 {
			return nil, nil, nil // nothing to re-open: already there
		}
		next := state.Clone(st)
		for _, p := range reopened {
			next.Recovery.History = appendBounded(next.Recovery.History, state.MaxHistory, state.HistoryEntry{
				Phase: p, Reason: state.HistoryRollback, At: now, Checkpoint: st.Checkpoints[p], Artifact: st.PhaseArtifacts[p],
			})
			delete(next.PhaseArtifacts, p)
		}
		next.CompletedPhases = slices.DeleteFunc(next.CompletedPhases, func(p int) bool { return p >= toPhase })
		for p := range next.Checkpoints {
			if p > toPhase {
				delete(next.Checkpoints, p)
			}
		}
		next.Checkpoints[toPhase] = state.CheckpointPending
		next.CurrentPhase = toPhase
		// A request for approval of a re-opened phase is void: its
		// evidence moved to the history.
		next.Awaiting = nil
		// The phase opens again: its checks compare with the project as
		// it is now.
		setPhaseStart(next, toPhase, e.openPhase(ctx, f, toPhase))
		next.UpdatedAt = now
		if !slices.Contains(reopened, toPhase) {
			reopened = append([]int{toPhase}, reopened...)
		}
		return next, reopened, nil
	})
}

// Errors returns the session's failed gate attempts, oldest first: every
// phase's when phase is negative, else that phase's only.
func (e *Engine) Errors(ctx context.Context, sessionID state.SessionID, phase int) ([]state.FailedAttempt, error) {
	st, _, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	out := make([]state.FailedAttempt, 0, len(st.Recovery.FailedAttempts))
	for _, f := range st.Recovery.FailedAttempts {
		if phase < 0 || f.Phase == phase {
			f.Errors, f.Fields = slices.Clone(f.Errors), slices.Clone(f.Fields)
			out = append(out, f)
		}
	}
	return out, nil
}

// recoveryOp decides one recovery mutation on st: it returns the state to
// save and the phases it re-opened, or a nil state when the session is
// already as asked.
type recoveryOp func(st *state.SessionState, wf stateWorkflow, now time.Time) (*state.SessionState, []int, error)

// recovery runs op as a serialized mutation of the session, as
// CompletePhase runs: under the session's lock, saved conditionally on the
// version held, decided again on the re-read state after a conflict.
func (e *Engine) recovery(ctx context.Context, sessionID state.SessionID, op recoveryOp) (*RecoveryResult, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	s, err := e.lookup(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	res, err := serialized(ctx, e, s, func() (*RecoveryResult, error) {
		if s.gone {
			return nil, notFound(s.st.SessionID)
		}
		next, reopened, err := op(s.st, s.wf, e.now())
		if err != nil {
			return nil, err
		}
		if next == nil {
			return recoveryResult(s.st, false, nil), nil
		}
		ver, err := e.store.Save(ctx, next, s.ver)
		if err != nil {
			return nil, err
		}
		s.st, s.ver = next, ver
		return recoveryResult(next, true, reopened), nil
	})
	if err == nil && res.Status == state.StatusActive {
		e.touch(res.SessionID, s)
	}
	return res, err
}

func recoveryResult(st *state.SessionState, changed bool, reopened []int) *RecoveryResult {
	if reopened == nil {
		reopened = []int{}
	}
	return &RecoveryResult{
		SessionID: st.SessionID, WorkflowType: st.WorkflowType, Status: st.Status,
		CurrentPhase: st.CurrentPhase, CompletedPhases: slices.Clone(st.CompletedPhases),
		Paused: st.Paused, PauseReason: st.Recovery.PauseReason, Changed: changed, Reopened: reopened,
	}
}

// failedIn reports whether the session recorded a failed gate attempt of
// phase.
func failedIn(st *state.SessionState, phase int) bool {
	return slices.ContainsFunc(st.Recovery.FailedAttempts, func(f state.FailedAttempt) bool { return f.Phase == phase })
}

// appendBounded appends v to list, dropping the oldest entries beyond
// limit. It never writes into list's backing array, which a previous state
// may share.
func appendBounded[T any](list []T, limit int, v T) []T {
	out := make([]T, 0, min(len(list)+1, limit))
	if drop := len(list) + 1 - limit; drop > 0 {
		list = list[drop:]
	}
	return append(append(out, list...), v)
}

func completedErr(st *state.SessionState) error {
	return state.Errorf(state.ErrAlreadyCompleted, "session %s: workflow %s is already completed (phases %v); start a new session to run it again", st.SessionID, st.WorkflowType, st.CompletedPhases)
}

// paused is the refusal of a mutation of a paused session.
func paused(st *state.SessionState) error {
	why := ""
	if st.Recovery.PauseReason != "" {
		why = " (" + state.Quote(st.Recovery.PauseReason) + ")"
	}
	return &state.FieldError{Kind: state.ErrPaused, Field: "session_id", Value: st.SessionID, Problem: "the session is paused" + why + " and refuses changes until it is resumed"}
}
