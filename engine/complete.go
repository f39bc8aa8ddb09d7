package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// maxAttempts bounds how often CompletePhase retries after a conflicting
// save (another session object or process saved first).
const maxAttempts = 3

// maxSharedAttempts is maxAttempts for a SharedStore, where every replica
// may hold a save of the same session in flight. Between attempts a
// random pause (backoff) breaks the lockstep of replicas that keep
// overtaking each other: measured with 32 clients on two replicas saving
// one session without pause, about 1 call in 3,000 still conflicted after
// ten attempts (1 in 200 without the pause); see
// docs/benchmarks/redis.md.
const maxSharedAttempts = 10

// CompletePhase submits evidence for phase, which must be the session's
// current phase. The phase's gate checks the evidence:
//
//   - on pass the phase joins completed_phases, its checkpoint becomes
//     passed, and the session advances to the next phase, whose content is
//     returned; after the last phase the session's status becomes
//     completed and it leaves the cache (its state stays on disk);
//   - on failure the checkpoint becomes failed, the evidence and errors
//     are stored, the session stays on the phase, and the result carries
//     the errors and a remediation.
//
// Either way the state is saved before CompletePhase returns.
//
// A retry is safe: a call for a phase the session already completed, with
// the evidence that completed it (equal as JSON), changes nothing and
// returns the answer the completing call returned (see replay), so a
// client whose answer was lost may send the same call again, even
// concurrently with the first. With other evidence the error wraps
// ErrAlreadyCompleted and says so.
//
// The error wraps ErrAlreadyCompleted when the phase (or the workflow) is
// already completed and the call is not such a retry, ErrWrongPhase when phase is not the current phase (the
// message names the current one), and ErrInvalidArgument when the
// evidence is larger than Config.MaxEvidenceBytes encoded.
func (e *Engine) CompletePhase(ctx context.Context, sessionID state.SessionID, phase int, evidence map[string]any) (*CompleteResult, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if phase < 0 {
		return nil, state.Errorf(state.ErrInvalidArgument, "phase must be 0 or more, got %d", phase)
	}
	if evidence == nil {
		evidence = map[string]any{}
	}
	// Store and check a private copy in its JSON form, so that the
	// caller may reuse its map and the gate sees what will be saved.
	ev, err := checkpoint.CopyEvidence(evidence, e.maxEvidence)
	if err != nil {
		return nil, evidenceError("evidence", "", err)
	}
	s, err := e.lookup(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	res, err := e.complete(ctx, s, phase, ev)
	if err != nil {
		return nil, err
	}
	res.id = sessionID
	if !res.WorkflowComplete {
		e.touch(res.SessionID, s)
	}
	return res, nil
}

// complete runs CompletePhase on the session object s under its lock.
func (e *Engine) complete(ctx context.Context, s *session, phase int, ev map[string]any) (*CompleteResult, error) {
	// The checks' results are kept across the attempts a conflicting
	// save makes, so that a command runs once per call.
	var memo checkMemo
	return serialized(ctx, e, s, func() (*CompleteResult, error) { return e.completeLocked(ctx, s, phase, ev, &memo) })
}

// serialized runs one mutation of the session object s under its lock:
// attempt decides on s.st and saves conditionally on s.ver. When the save
// conflicts (another object or process saved first), the saved state is
// read into s and attempt decides again, up to maxAttempts times
// (maxSharedAttempts on a SharedStore). Every mutation of a session goes
// through here, so concurrent mutations take effect one at a time, each
// on the state the previous one saved.
func serialized[T any](ctx context.Context, e *Engine, s *session, attempt func() (T, error)) (T, error) {
	var zero T
	if err := s.mu.LockContext(ctx); err != nil {
		return zero, err
	}
	defer s.mu.Unlock()
	attempts := maxAttempts
	if e.shared != nil {
		// Decide on the store's version, not on what this process last
		// saw: that saves a conflict whenever another replica moved on.
		if err := e.syncLocked(ctx, s); err != nil {
			return zero, err
		}
		attempts = maxSharedAttempts
	}
	for n := 1; ; n++ {
		res, err := attempt()
		if !errors.Is(err, state.ErrConflict) {
			return res, err
		}
		if n == attempts {
			e.gaveUp.Add(1)
			return res, err
		}
		e.retries.Add(1)
		if e.shared != nil {
			// Replicas that keep losing to each other in lockstep are
			// pulled apart by a short random pause.
			if err := backoff(ctx, n); err != nil {
				return zero, err
			}
		}
		// Another object or process saved this session first: read the
		// saved state into this object and decide again.
		st, ver, wf, lerr := e.loadState(ctx, s.st.SessionID, s.wf)
		if lerr != nil {
			if errors.Is(lerr, state.ErrNotFound) {
				s.gone = true
				e.sessions.Delete(s.st.SessionID)
			}
			return zero, lerr
		}
		s.st, s.ver, s.wf = st, ver, wf
	}
}

// backoff waits a random time below attempt*500µs, or until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(attempt) * int64(500*time.Microsecond))))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// completeLocked runs one attempt of CompletePhase; s.mu is held. The
// gate's checks run here, under the session's own lock only: a second
// call for the session waits for them (and then is answered as a retry),
// and no other session waits.
func (e *Engine) completeLocked(ctx context.Context, s *session, phase int, ev map[string]any, memo *checkMemo) (*CompleteResult, error) {
	st := s.st
	id := st.SessionID
	if s.gone {
		return nil, notFound(id)
	}
	if slices.Contains(st.CompletedPhases, phase) {
		if res, ok := e.replay(ctx, s.wf, st, phase, ev); ok {
			return res, nil
		}
	}
	switch {
	case st.Status == state.StatusCompleted:
		return nil, state.Errorf(state.ErrAlreadyCompleted, "session %s: workflow %s is already completed (phases %v); phase %d was not completed with this evidence; start a new session to run it again", id, st.WorkflowType, st.CompletedPhases, phase)
	case st.Paused:
		return nil, paused(st)
	case slices.Contains(st.CompletedPhases, phase):
		return nil, state.Errorf(state.ErrAlreadyCompleted, "phase %d of session %s is already completed, with other evidence than this call's; the current phase is %d", phase, id, st.CurrentPhase)
	case phase != st.CurrentPhase:
		return nil, state.Errorf(state.ErrWrongPhase, "phase %d is not the current phase of session %s; the current phase is %d: complete it first", phase, id, st.CurrentPhase)
	}
	f, err := e.flowOf(ctx, s.wf, st)
	if err != nil {
		return nil, err
	}
	if !f.has(phase) {
		return nil, state.Errorf(state.ErrCorrupt, "phase %d of session %s is not in workflow %s any more; its metadata.json changed", phase, id, st.WorkflowType)
	}
	gate, err := e.gate(ctx, f, phase)
	if err != nil {
		return nil, state.Errorf(state.ErrCorrupt, "gate of phase %d of workflow %s: %w; fix the gate-definition.yaml", phase, st.WorkflowType, err)
	}
	res := checkpoint.Validate(gate, ev)
	if len(gate.Checks) > 0 {
		if !memo.done || memo.phase != phase {
			*memo = checkMemo{phase: phase, done: true, results: e.checks.Run(ctx, gate, ev, phaseStart(st))}
		}
		checkpoint.Apply(&res, memo.results)
	}
	needApproval := res.CheckpointPassed && approvalRequired(f, gate)
	if needApproval && st.Awaiting != nil && st.Awaiting.Phase == phase {
		if prev := st.PhaseArtifacts[phase]; prev != nil && sameJSON(prev.Evidence, ev) {
			// A retry of the call that asked for approval: the request
			// stands, nothing changes.
			return &CompleteResult{SessionID: id, WorkflowType: st.WorkflowType, Phase: phase, CheckpointPassed: true,
				ValidationResult: res, ValidatedAt: prev.Timestamp, AwaitingApproval: true}, nil
		}
	}
	now := e.now()
	next := state.Clone(st)
	next.UpdatedAt = now
	// The artifact's time is the validation time a retry answers with
	// (replay). Microseconds are what every state format keeps (prAxIs
	// OS's isoformat among them), so the retry's time equals the first.
	validatedAt := now.Truncate(time.Microsecond)
	art := &state.PhaseArtifact{PhaseNumber: phase, Evidence: ev, Timestamp: validatedAt, Attempts: 1, Checks: checkRecords(res.Checks)}
	if prev := st.PhaseArtifacts[phase]; prev != nil {
		art.Attempts = prev.Attempts + 1
		art.Outputs, art.CommandsExecuted = prev.Outputs, prev.CommandsExecuted
	}
	next.PhaseArtifacts[phase] = art
	out := &CompleteResult{SessionID: id, WorkflowType: st.WorkflowType, Phase: phase, CheckpointPassed: res.CheckpointPassed, ValidationResult: res, ValidatedAt: validatedAt}
	var nextPhase int
	hasNext := false
	next.Awaiting = nil
	switch {
	case needApproval:
		// The checkpoint stays pending (prAxIs OS knows no other
		// status) until a human decides; Decide completes the phase.
		next.Checkpoints[phase] = state.CheckpointPending
		next.Awaiting = &state.Awaiting{Phase: phase, RequestedAt: validatedAt}
		out.AwaitingApproval = true
	case res.CheckpointPassed:
		next.Checkpoints[phase] = state.CheckpointPassed
		next.CompletedPhases = append(next.CompletedPhases, phase)
		out.PhaseCompleted = true
		if nextPhase, hasNext = f.next(phase); hasNext {
			next.CurrentPhase = nextPhase
			setPhaseStart(next, nextPhase, e.openPhase(ctx, f, nextPhase))
			if _, ok := next.Checkpoints[nextPhase]; !ok {
				next.Checkpoints[nextPhase] = state.CheckpointPending
			}
		} else {
			// As prAxIs OS finishes a session: current_phase one past the
			// last phase, which its is_complete reads as done.
			next.Status = state.StatusCompleted
			next.CurrentPhase = phase + 1
			out.WorkflowComplete = true
		}
	default:
		next.Checkpoints[phase] = state.CheckpointFailed
		art.Errors = res.Errors
		next.Recovery.FailedAttempts = appendBounded(next.Recovery.FailedAttempts, state.MaxFailedAttempts, state.FailedAttempt{
			Phase: phase, Attempt: art.Attempts, Errors: slices.Clone(res.Errors), Fields: slices.Sorted(maps.Keys(ev)), At: now,
		})
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
		e.logger.Debug("workflow completed", "session_id", id, "workflow_type", next.WorkflowType)
	}
	switch {
	case hasNext:
		out.NextPhase = &nextPhase
		out.NextPhaseContent = e.contentOrNote(f, id, nextPhase)
	case !res.CheckpointPassed:
		out.Current = e.contentOrNote(f, id, phase)
	}
	return out, nil
}

// contentOrNote returns phase n's content for a complete_phase answer,
// whose mutation is already saved: a content problem is reported in the
// content, not as an error that would hide the saved outcome.
func (e *Engine) contentOrNote(f *flow, id string, n int) *PhaseContent {
	pc, err := e.content(f, n)
	if err != nil {
		e.logger.Warn("phase content unreadable", "session_id", id, "phase", n, "err", err)
		pc = &PhaseContent{Phase: n, Content: "(phase content unreadable: " + err.Error() + ")", Tasks: []TaskInfo{}, ValidationGate: []string{}}
	}
	return pc
}

// replay answers a CompletePhase call for a phase that st has already
// completed, as the call that completed it was answered, when ev is the
// evidence that call submitted: a client whose answer was lost may send
// the same call again. The answer is computed again from what the session
// stored (the evidence and its time) and the workflow: the gate's verdict
// on that evidence, the phase after it and that phase's content. Nothing
// is saved. It reports false, and the caller answers that the phase is
// already completed, when the evidence differs, or when the gate no
// longer passes it (the gate file changed since), so a replay never
// contradicts the first answer's verdict.
func (e *Engine) replay(ctx context.Context, wf stateWorkflow, st *state.SessionState, phase int, ev map[string]any) (*CompleteResult, bool) {
	art := st.PhaseArtifacts[phase]
	if art == nil || st.Checkpoints[phase] != state.CheckpointPassed || !sameJSON(art.Evidence, ev) {
		return nil, false
	}
	f, err := e.flowOf(ctx, wf, st)
	if err != nil || !f.has(phase) {
		return nil, false
	}
	gate, err := e.gate(ctx, f, phase)
	if err != nil {
		return nil, false
	}
	res := checkpoint.Validate(gate, ev)
	// The checks are not run again: they looked at the project as it
	// was then, and the first answer reported what they found.
	checkpoint.Apply(&res, checkResults(art.Checks))
	if !res.CheckpointPassed {
		return nil, false
	}
	out := &CompleteResult{
		SessionID: st.SessionID, WorkflowType: st.WorkflowType, Phase: phase, CheckpointPassed: true,
		ValidationResult: res, ValidatedAt: art.Timestamp, PhaseCompleted: true,
	}
	if next, ok := f.next(phase); ok {
		out.NextPhase = &next
		out.NextPhaseContent = e.contentOrNote(f, st.SessionID, next)
	} else {
		out.WorkflowComplete = true
	}
	e.logger.Debug("complete_phase retried with the same evidence: answered again", "session_id", st.SessionID, "phase", phase)
	return out, true
}

// sameJSON reports whether a and b encode to the same JSON (encoding/json
// sorts map keys, so equal values encode equally).
func sameJSON(a, b map[string]any) bool {
	ja, err := json.Marshal(a)
	if err != nil {
		return false
	}
	jb, err := json.Marshal(b)
	return err == nil && bytes.Equal(ja, jb)
}

// dropPair removes st's pair entry if it still names st's session.
func (e *Engine) dropPair(st *state.SessionState) {
	e.pairs.Compute(pairKey{st.WorkflowType, st.TargetFile}, func(old string, loaded bool) (string, xsync.ComputeOp) {
		if loaded && old == st.SessionID {
			return "", xsync.DeleteOp
		}
		return old, xsync.CancelOp
	})
}
