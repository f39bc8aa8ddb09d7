package engine

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/shard"
)

// lookup returns the session object for id, loading it on a miss.
//
// A caller shared another caller's state-file read when the object it got
// was read after it asked (its loadSeq is above the count it saw before
// GetOrLoad) by another caller.
//
// The ID was checked where it entered the program (state.ParseSessionID);
// lookup takes it as it is.
func (e *Engine) lookup(ctx context.Context, sid state.SessionID) (*session, error) {
	id := sid.String()
	before := e.loads.Load()
	s, _, err := shard.GetOrLoadWith(ctx, e.sessions, id, sid, e.loadSession)
	if err != nil {
		return nil, err
	}
	if s.loadSeq > before {
		if c, _ := CallerFrom(ctx); c != s.loadedBy {
			e.logCoalesced(ctx, id, s)
		}
		if st, _ := s.snapshot(); st.Status == state.StatusCompleted {
			// Completed sessions do not stay in memory. The object is
			// never mutated again, so another caller still holding it is
			// safe.
			e.sessions.Delete(id)
		}
	}
	return s, nil
}

// lookupString is lookup for an ID the engine holds as a string (the
// pair index's, a store's): it parses it first.
func (e *Engine) lookupString(ctx context.Context, id string) (*session, error) {
	sid, err := state.ParseSessionID(id)
	if err != nil {
		return nil, err
	}
	return e.lookup(ctx, sid)
}

// readSession is the session cache's load: it reads the state file of
// sid (id is its string, the cache key), taking the ID as the lookup
// was given it.
func (e *Engine) readSession(ctx context.Context, id string, sid state.SessionID) (*session, error) {
	st, ver, wf, err := e.loadState(ctx, id, stateWorkflow{})
	if err != nil {
		return nil, err
	}
	c, _ := CallerFrom(ctx)
	s := &session{id: sid, st: st, ver: ver, wf: wf, loadedBy: c, loadSeq: e.loads.Add(1)}
	s.touched.Store(e.now().UnixNano())
	return s, nil
}

// loadState reads id's state from the store, parses its workflow_type
// (unless it is held's: the session's state before) and settles it.
func (e *Engine) loadState(ctx context.Context, id string, held stateWorkflow) (*state.SessionState, state.Version, stateWorkflow, error) {
	st, ver, err := e.store.Load(ctx, id)
	if err != nil {
		return nil, 0, stateWorkflow{}, err
	}
	wf := held.of(st)
	e.settle(ctx, wf, st)
	return st, ver, wf, nil
}

// stateWorkflow is a session's workflow_type as its state holds it,
// parsed once where the state enters the engine (read from the store, or
// made by Start), so that the calls on the session do not check it again:
// name is the parsed name, or err the parse's error, which flowOf returns
// as a corrupt state to every call that needs the session's workflow. A
// stateWorkflow is a value, copied with the state it belongs to.
type stateWorkflow struct {
	// raw is the workflow_type parsed, to tell whether a state read
	// later names the same workflow.
	raw  string
	name WorkflowName
	err  error
	// set is false for the zero stateWorkflow, which holds no parse.
	set bool
}

// startedWorkflow is the stateWorkflow of a state Start made or resumed
// for wf: the name is parsed already.
func startedWorkflow(wf WorkflowName) stateWorkflow {
	return stateWorkflow{raw: wf.String(), name: wf, set: true}
}

// parseStateWorkflow parses st's workflow_type.
func parseStateWorkflow(st *state.SessionState) stateWorkflow {
	wf, err := workflows.ParseName(st.WorkflowType)
	return stateWorkflow{raw: st.WorkflowType, name: wf, err: err, set: true}
}

// of returns the parsed workflow_type of st: w itself when st names the
// workflow w was parsed from (every state of one session does, unless its
// file was edited), else st's parsed.
func (w stateWorkflow) of(st *state.SessionState) stateWorkflow {
	if w.set && w.raw == st.WorkflowType {
		return w
	}
	return parseStateWorkflow(st)
}

// settle marks an active session whose current phase is past its
// workflow's last phase as completed, in memory only: prAxIs OS finishes a
// session by moving current_phase one past the last phase and writes no
// status. (DecodeState already applies prAxIs OS's own test, with
// metadata.total_phases; this one needs no total_phases.) A session whose
// workflow or spec cannot be read stays as it is.
func (e *Engine) settle(ctx context.Context, wf stateWorkflow, st *state.SessionState) {
	if st.Status != state.StatusActive {
		return
	}
	if f, err := e.flowOf(ctx, wf, st); err == nil {
		if order := f.order(); len(order) > 0 && st.CurrentPhase > order[len(order)-1] {
			st.Status = state.StatusCompleted
		}
	}
}

// logCoalesced reports that a caller shared another caller's state-file
// read, with both identities, at most once a second (with the number of
// reports dropped since the last one).
func (e *Engine) logCoalesced(ctx context.Context, id string, s *session) {
	dropped, ok := e.coalesceLog.allow(e.clock.Now())
	if !ok {
		return
	}
	waiter, _ := CallerFrom(ctx)
	e.logger.Info("session load coalesced: caller shared another caller's state-file read",
		"session_id", id, "loader", s.loadedBy.String(), "waiter", waiter.String(), "dropped_since_last", dropped)
}

// touch refreshes the cache entry's TTL of a session in use, at most every
// quarter TTL, so that only idle sessions leave memory.
func (e *Engine) touch(id string, s *session) {
	now := e.now().UnixNano()
	if now-s.touched.Load() < int64(e.ttl/4) {
		return
	}
	// A session locked by a mutation is in use and refreshed by it; do
	// not wait behind a save.
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	if s.gone || s.st.Status != state.StatusActive {
		return
	}
	s.touched.Store(now)
	e.sessions.Set(id, s)
}

// rateLimit lets one event through per second and counts the others.
type rateLimit struct {
	last    atomic.Int64
	dropped atomic.Int64
}

func (r *rateLimit) allow(now time.Time) (dropped int64, ok bool) {
	n := now.UnixNano()
	last := r.last.Load()
	if last != 0 && n-last < int64(time.Second) || !r.last.CompareAndSwap(last, n) {
		r.dropped.Add(1)
		return 0, false
	}
	return r.dropped.Swap(0), true
}

// refresh replaces the object's state with st at version ver if that is
// newer than what it holds (another process saved since it was loaded),
// and returns the state it holds afterwards.
func (s *session) refresh(ctx context.Context, st *state.SessionState, ver state.Version) (*state.SessionState, error) {
	if err := s.mu.LockContext(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	s.refreshLocked(st, ver)
	return s.st, nil
}

// refreshLocked is refresh with s.mu held.
func (s *session) refreshLocked(st *state.SessionState, ver state.Version) {
	if st != nil && ver > s.ver && !s.gone {
		state.Normalize(st)
		s.st, s.ver, s.wf = st, ver, s.wf.of(st)
	}
}

// snapshot returns the session's current state pointer under its lock.
func (s *session) snapshot() (*state.SessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st, s.gone
}

// get returns the session's state for reading, refreshing its TTL.
func (e *Engine) get(ctx context.Context, sessionID state.SessionID) (*state.SessionState, stateWorkflow, error) {
	if err := e.check(ctx); err != nil {
		return nil, stateWorkflow{}, err
	}
	s, err := e.lookup(ctx, sessionID)
	if err != nil {
		return nil, stateWorkflow{}, err
	}
	if err := s.mu.LockContext(ctx); err != nil {
		return nil, stateWorkflow{}, err
	}
	if e.shared != nil {
		err = e.syncLocked(ctx, s)
	}
	st, wf, gone := s.st, s.wf, s.gone
	s.mu.Unlock()
	if err != nil {
		return nil, stateWorkflow{}, err
	}
	if gone {
		return nil, stateWorkflow{}, notFound(st.SessionID)
	}
	if st.Status == state.StatusCompleted {
		e.sessions.Delete(st.SessionID) // completed sessions do not stay in memory
	}
	e.touch(st.SessionID, s)
	return st, wf, nil
}

// syncLocked brings s up to the shared store's version; s.mu is held. A
// session the store no longer has is marked gone and leaves the cache.
func (e *Engine) syncLocked(ctx context.Context, s *session) error {
	id := s.st.SessionID
	if s.gone {
		return notFound(id)
	}
	st, ver, err := e.shared.LoadNewer(ctx, s.id, s.ver)
	if errors.Is(err, state.ErrNotFound) {
		s.gone = true
		e.sessions.Delete(id)
	}
	if err != nil {
		return err
	}
	s.refreshLocked(st, ver)
	return nil
}

// ConflictStats counts the conflicts the session mutations (CompletePhase,
// Pause, Resume, RetryPhase, Rollback) met: a save refused because another
// process (or session object) saved the session first.
type ConflictStats struct {
	// Retries counts attempts made after a conflict, on the re-read
	// state.
	Retries int64
	// GaveUp counts calls that still conflicted at their last attempt
	// and returned ErrConflict.
	GaveUp int64
}

// Conflicts returns the conflict counters since New.
func (e *Engine) Conflicts() ConflictStats {
	return ConflictStats{Retries: e.retries.Load(), GaveUp: e.gaveUp.Load()}
}

func notFound(id string) error {
	return state.NoSession(id, "it was deleted")
}

// CurrentPhase returns the session's current phase: its phase.md and task
// list, read from disk. For a completed workflow it returns the session's
// position with WorkflowComplete set and no content.
func (e *Engine) CurrentPhase(ctx context.Context, sessionID state.SessionID) (*PhaseView, error) {
	st, wf, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	v := &PhaseView{
		SessionID:       st.SessionID,
		WorkflowType:    st.WorkflowType,
		TargetFile:      st.TargetFile,
		Status:          st.Status,
		CompletedPhases: slices.Clone(st.CompletedPhases),
	}
	f, err := e.flowOf(ctx, wf, st)
	if st.Status == state.StatusCompleted {
		// A finished session answers even when its workflow or spec is
		// gone.
		v.WorkflowComplete = true
		v.Phase = st.CurrentPhase
		v.Tasks = []TaskInfo{}
		if err == nil {
			v.TotalPhases = len(f.order())
		} else if n, ok := state.TotalPhases(st); ok {
			v.TotalPhases = n
		} else {
			v.TotalPhases = len(st.CompletedPhases)
		}
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	v.TotalPhases = len(f.order())
	if st.Awaiting != nil && st.Awaiting.Phase == st.CurrentPhase {
		v.AwaitingApproval = true
	} else if d, ok := st.LastDecision(st.CurrentPhase); ok && d.Decision == state.DecisionRejected {
		v.Rejection = &d
	}
	pc, err := e.content(f, st.CurrentPhase)
	if err != nil {
		return nil, err
	}
	v.PhaseContent = *pc
	return v, nil
}

// Task returns task taskNumber of phase: its entry in metadata.json and
// its file's text. Only the current phase and completed phases are open.
func (e *Engine) Task(ctx context.Context, sessionID state.SessionID, phase, taskNumber int) (*TaskView, error) {
	if phase < 0 {
		return nil, state.Errorf(state.ErrInvalidArgument, "phase must be 0 or more, got %d", phase)
	}
	if taskNumber < 0 {
		return nil, state.Errorf(state.ErrInvalidArgument, "task_number must be 0 or more, got %d", taskNumber)
	}
	st, wf, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	done := slices.Contains(st.CompletedPhases, phase)
	if !done && (phase != st.CurrentPhase || st.Status != state.StatusActive) {
		return nil, state.Errorf(state.ErrWrongPhase, "phase %d is not open: session %s is on phase %d; read tasks of the current phase or of a completed phase %v", phase, st.SessionID, st.CurrentPhase, st.CompletedPhases)
	}
	f, err := e.flowOf(ctx, wf, st)
	if err != nil {
		return nil, err
	}
	tv, err := e.task(f, phase, taskNumber)
	if err != nil {
		return nil, err
	}
	tv.SessionID = st.SessionID
	tv.WorkflowType = st.WorkflowType
	return tv, nil
}

// State returns a deep copy of the session's state.
func (e *Engine) State(ctx context.Context, sessionID state.SessionID) (*state.SessionState, error) {
	st, _, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	return state.DeepCopy(st)
}

// maxStoredPhases bounds a total_phases read from a session's metadata.
const maxStoredPhases = 1 << 20

// StateView is what StateWithProgress returns: a session's state and how
// far it is through its workflow.
type StateView struct {
	*state.SessionState
	// TotalPhases is the number of phases of the session's workflow (for
	// a spec-driven workflow, with the spec's phases). When the workflow
	// or the spec cannot be read any more it is the session's
	// metadata.total_phases, as prAxIs OS stores it, or 0.
	TotalPhases int
	// IsComplete is true when every phase has passed its gate.
	IsComplete bool
}

// StateWithProgress returns a deep copy of the session's state with its
// workflow's number of phases. It answers for a session whose workflow or
// spec has moved or gone, with the total_phases the session stored.
func (e *Engine) StateWithProgress(ctx context.Context, sessionID state.SessionID) (*StateView, error) {
	held, wf, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	st, err := state.DeepCopy(held)
	if err != nil {
		return nil, err
	}
	v := &StateView{SessionState: st, IsComplete: st.Status == state.StatusCompleted}
	if f, err := e.flowOf(ctx, wf, st); err == nil {
		v.TotalPhases = len(f.order())
	} else if n, ok := st.Metadata["total_phases"].(float64); ok && n >= 0 && n <= maxStoredPhases && n == float64(int(n)) {
		v.TotalPhases = int(n)
	}
	return v, nil
}

// DeleteSession deletes the session's state file and its cache entry
// together, under the session's lock, so that no later call can be served
// the deleted session. A session whose state file is corrupt can be
// deleted too.
func (e *Engine) DeleteSession(ctx context.Context, sessionID state.SessionID) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	s, err := e.lookup(ctx, sessionID)
	if errors.Is(err, state.ErrCorrupt) {
		id := sessionID.String()
		if err := e.store.Delete(ctx, id); err != nil {
			return err
		}
		e.sessions.Delete(id)
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.mu.LockContext(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	id := s.st.SessionID
	if s.gone {
		return notFound(id)
	}
	if err := e.store.Delete(ctx, id); err != nil {
		if errors.Is(err, state.ErrNotFound) {
			s.gone = true
			e.sessions.Delete(id)
		}
		return err
	}
	s.gone = true
	e.sessions.Delete(id)
	e.dropPair(s.st)
	e.notifyChanged()
	e.logger.Debug("session deleted", "session_id", id)
	return nil
}
