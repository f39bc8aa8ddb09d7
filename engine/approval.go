package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// MaxDecisionComment is the longest comment, in bytes, a decision keeps.
const MaxDecisionComment = 4096

// maxDeciderName is the longest name of who decided, in bytes.
const maxDeciderName = 200

// approvalRequired reports whether evidence that passed phase's gate must
// wait for a human: the gate's approval setting, else the workflow's.
func approvalRequired(f *flow, g *checkpoint.Gate) bool {
	switch g.Approval {
	case checkpoint.ApprovalRequired:
		return true
	case checkpoint.ApprovalNone:
		return false
	}
	return f.m.Approval == string(checkpoint.ApprovalRequired)
}

// Decide records a human's decision on a phase that awaits approval (see
// CompleteResult.AwaitingApproval): decision is state.DecisionApproved or
// state.DecisionRejected, by names who decided and comment says why.
//
//   - Approval completes the phase as a passing gate would have: the
//     checkpoint becomes passed and the session advances to the next
//     phase, or completes.
//   - Rejection keeps the phase current; its checkpoint becomes failed
//     and CurrentPhase shows the comment (PhaseView.Rejection) until the
//     agent submits evidence again.
//
// Either way the decision joins the session's history (state.Decisions)
// with the evidence it was made on, and the state is saved before Decide
// returns. Decisions on one session are serialized with every other
// mutation of it, in this process and (through the store's version check)
// in others, so of any number of concurrent decisions and complete_phase
// retries on one phase exactly one decision is taken; the others fail
// with ErrNotAwaiting, whose message says what was decided.
//
// The error wraps ErrInvalidArgument for a bad decision, name or comment,
// ErrNotAwaiting when phase does not await approval, ErrPaused when the
// session is paused, and ErrNotFound when the session does not exist.
func (e *Engine) Decide(ctx context.Context, sessionID state.SessionID, phase int, decision, by, comment string) (*DecisionResult, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	switch {
	case decision != state.DecisionApproved && decision != state.DecisionRejected:
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "decision", Value: state.Quote(decision), Problem: "must be approved or rejected"}
	case phase < 0:
		return nil, state.Errorf(state.ErrInvalidArgument, "phase must be 0 or more, got %d", phase)
	case strings.TrimSpace(by) == "":
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "by", Problem: "is empty; say who decides"}
	case len(by) > maxDeciderName:
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "by", Problem: fmt.Sprintf("is %d bytes, more than %d", len(by), maxDeciderName)}
	case len(comment) > MaxDecisionComment:
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "comment", Problem: fmt.Sprintf("is %d bytes, more than %d", len(comment), MaxDecisionComment)}
	}
	s, err := e.lookup(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	res, err := serialized(ctx, e, s, func() (*DecisionResult, error) {
		return e.decideLocked(ctx, s, phase, state.Decision{Phase: phase, Decision: decision, By: strings.TrimSpace(by), Comment: comment})
	})
	if err != nil {
		return nil, err
	}
	res.id = sessionID
	if !res.WorkflowComplete {
		e.touch(res.SessionID, s)
	}
	return res, nil
}

// decideLocked runs one attempt of Decide; s.mu is held.
func (e *Engine) decideLocked(ctx context.Context, s *session, phase int, d state.Decision) (*DecisionResult, error) {
	st := s.st
	id := st.SessionID
	if s.gone {
		return nil, notFound(id)
	}
	if st.Paused {
		return nil, paused(st)
	}
	if st.Awaiting == nil || st.Awaiting.Phase != phase || phase != st.CurrentPhase {
		return nil, notAwaiting(st, phase)
	}
	f, err := e.flowOf(ctx, s.wf, st)
	if err != nil {
		return nil, err
	}
	now := e.now()
	d.At = now.Truncate(time.Microsecond)
	if art := st.PhaseArtifacts[phase]; art != nil {
		d.Evidence = art.Evidence
	}
	next := state.Clone(st)
	next.UpdatedAt = now
	next.Awaiting = nil
	next.Decisions = append(next.Decisions, d)
	out := &DecisionResult{SessionID: id, WorkflowType: st.WorkflowType, Phase: phase, Decision: d}
	if d.Decision == state.DecisionRejected {
		next.Checkpoints[phase] = state.CheckpointFailed
	} else {
		next.Checkpoints[phase] = state.CheckpointPassed
		next.CompletedPhases = append(next.CompletedPhases, phase)
		if n, ok := f.next(phase); ok {
			next.CurrentPhase = n
			if _, ok := next.Checkpoints[n]; !ok {
				next.Checkpoints[n] = state.CheckpointPending
			}
			out.NextPhase = &n
		} else {
			// As CompletePhase finishes a session: current_phase one
			// past the last phase, prAxIs OS's is_complete.
			next.Status = state.StatusCompleted
			next.CurrentPhase = phase + 1
			out.WorkflowComplete = true
		}
	}
	ver, err := e.store.Save(ctx, next, s.ver)
	if err != nil {
		return nil, err
	}
	s.st, s.ver = next, ver
	e.notifyChanged()
	if out.WorkflowComplete {
		e.sessions.Delete(id)
		e.dropPair(next)
	}
	e.logger.Info("phase "+d.Decision, "session_id", id, "phase", phase, "by", d.By)
	return out, nil
}

// notAwaiting is the error for a decision on a phase that does not await
// one; it says what happened to the phase instead.
func notAwaiting(st *state.SessionState, phase int) error {
	why := ""
	switch last, ok := st.LastDecision(phase); {
	case ok && (st.Awaiting == nil || st.Awaiting.Phase != phase):
		why = fmt.Sprintf("; it was already %s by %s at %s", last.Decision, last.By, last.At.Format(time.RFC3339))
	case st.Awaiting != nil:
		why = fmt.Sprintf("; phase %d does", st.Awaiting.Phase)
	case slices.Contains(st.CompletedPhases, phase):
		why = "; it is completed"
	default:
		why = fmt.Sprintf("; the current phase is %d and its evidence has not passed a gate that requires approval", st.CurrentPhase)
	}
	return state.Errorf(state.ErrNotAwaiting, "phase %d of session %s%s", phase, st.SessionID, why)
}

// AllSessions returns up to most sessions of status ("" for all, as
// state.PageQuery.Status), page by page in listing order (newest created
// first). truncated is true when more sessions were left out.
func (e *Engine) AllSessions(ctx context.Context, status state.Status, most int) (list []state.SessionSummary, truncated bool, err error) {
	q := state.PageQuery{Status: status, Limit: state.MaxPageLimit}
	for {
		p, err := e.ListSessions(ctx, q)
		if err != nil {
			return nil, false, err
		}
		for i := range p.Sessions {
			if len(list) == most {
				return list, true, nil
			}
			list = append(list, p.Sessions[i])
		}
		if p.Next == nil {
			return list, false, nil
		}
		q.After = p.Next
	}
}
