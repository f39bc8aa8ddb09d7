package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/google/uuid"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
	"github.com/mcpflow/mcpflow/spec"
)

// Engine runs workflows and keeps their sessions.
//
// An Engine is safe for concurrent use by multiple goroutines without
// additional locking. Create one with New and release it with Close; the
// zero Engine is not usable and an Engine must not be copied.
//
// Each session is one *session object while it is in memory: the session
// cache is a shard.Cache filled by GetOrLoad, so concurrent first access to
// an ID reads its state file once and every caller receives the same
// object. The object's mutex serializes every mutation of the session, and
// each mutation is saved with Store.Save conditional on the version the
// object holds, so a save completes before the new state becomes visible
// in memory: a mutation that returned is on disk. In the terminology of
// the Go memory model, a CompletePhase or DeleteSession that returned
// synchronizes before every later call on that session, which takes the
// same mutex.
//
// A session stays in memory while it is used (each use within the last
// SessionTTL refreshes it) and is evicted when idle; a completed session
// is evicted at once. Evicted sessions are read from the store again when
// next asked for.
//
// Several processes may share a state folder: a save that another process
// overtook fails its version check and is decided again on the re-read
// state, so no update is lost. Each process, however, serves reads from
// its own copy until that copy leaves its cache, and resumes only the
// active sessions it found at New or created itself.
//
// A SharedStore (the Redis store) lifts both limits: every call on a
// session first asks the store whether its version moved (LoadNewer), so
// the session cache only saves decoding and never serves a version older
// than the store's, and Start uses the store's CreateOrResume. Waiting for
// a session's lock or a pair's start lock ends with the caller's context,
// so a store that stalls delays callers no longer than their deadline.
type Engine struct {
	wfFS   fs.FS
	wfRoot *os.Root // nil when serving the built-in samples
	store  Store
	own    *FileStore // the store New opened, closed by Close
	// shared is store as a SharedStore, or nil.
	shared SharedStore

	sessions *shard.Cache[string, *session]
	// loadSession is the session cache's load function, built once so
	// that a lookup that hits allocates nothing.
	loadSession func(ctx context.Context, id string) (*session, error)
	// loads numbers the state-file reads of the session cache; see lookup.
	loads atomic.Uint64
	gates *checkpoint.Loader
	// specs reads spec plans in the project folder (nil without one);
	// examples reads the example specs of the workflows folder.
	specs, examples *spec.Loader
	projRoot        *os.Root
	// pairs maps a (workflow, target) to its active session's ID. Entries
	// are added by Start under the pair's start lock and removed when the
	// session completes or is deleted.
	pairs      *xsync.Map[pairKey, string]
	startLocks [64]ctxMutex

	// retries counts CompletePhase attempts after a conflicting save;
	// gaveUp counts calls that still conflicted at the last attempt.
	retries, gaveUp atomic.Int64

	logger      *slog.Logger
	clock       Clock
	ttl         time.Duration
	maxEvidence int
	coalesceLog rateLimit
	closed      atomic.Bool
}

// session is one session in memory.
type session struct {
	mu ctxMutex
	// st and ver are guarded by mu. st is replaced, never modified in
	// place, so a pointer read under mu may be used after unlocking.
	st  *SessionState
	ver Version
	// gone is set, under mu, when the session is deleted; an object that
	// is gone is never stored in the cache again.
	gone bool

	// loadedBy is who caused the load and loadSeq is the load's number
	// from Engine.loads; both immutable once published.
	loadedBy Caller
	loadSeq  uint64
	// touched is when the object was last stored in the cache, in unix
	// nanoseconds, to refresh its TTL while it is used.
	touched atomic.Int64
}

type pairKey struct{ workflow, target string }

// New returns an Engine configured by cfg. It opens the workflows folder
// (or the built-in samples), the state folder, and reads the state folder
// once to know the active session of each (workflow, target) pair.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.SessionTTL < 0:
		return nil, fmt.Errorf("%w: Config.SessionTTL must be 0 (default %v) or positive, got %v", ErrInvalidArgument, DefaultSessionTTL, cfg.SessionTTL)
	case cfg.MaxEvidenceBytes < 0:
		return nil, fmt.Errorf("%w: Config.MaxEvidenceBytes must be 0 (default %d) or positive, got %d", ErrInvalidArgument, DefaultMaxEvidenceBytes, cfg.MaxEvidenceBytes)
	case cfg.GateRecheck < 0:
		return nil, fmt.Errorf("%w: Config.GateRecheck must be 0 (default %v) or positive, got %v", ErrInvalidArgument, checkpoint.DefaultRecheck, cfg.GateRecheck)
	case cfg.Store == nil && cfg.StateDir == "":
		return nil, fmt.Errorf("%w: Config.StateDir is empty; set it to the folder for session files (for example .mcpflow/state)", ErrInvalidArgument)
	}
	e := &Engine{
		logger:      cfg.Logger,
		clock:       cfg.Clock,
		ttl:         cfg.SessionTTL,
		maxEvidence: cfg.MaxEvidenceBytes,
		pairs:       xsync.NewMap[pairKey, string](),
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	if e.clock == nil {
		e.clock = wallClock{}
	}
	if e.ttl == 0 {
		e.ttl = DefaultSessionTTL
	}
	if e.maxEvidence == 0 {
		e.maxEvidence = DefaultMaxEvidenceBytes
	}
	ok := false
	defer func() {
		if !ok {
			_ = e.Close()
		}
	}()
	if cfg.WorkflowsDir == "" {
		e.wfFS = BuiltinWorkflows()
	} else {
		root, err := os.OpenRoot(cfg.WorkflowsDir)
		if err != nil {
			return nil, fmt.Errorf("%w: Config.WorkflowsDir %s cannot be opened (%w); point it at a folder of workflows or leave it empty for the built-in samples", ErrNotFound, cfg.WorkflowsDir, err)
		}
		e.wfRoot, e.wfFS = root, root.FS()
	}
	e.store = cfg.Store
	if e.store == nil {
		fsx, err := NewFileStore(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		e.own, e.store = fsx, fsx
	}
	e.shared, _ = e.store.(SharedStore)
	sweep := max(e.ttl/4, time.Second)
	sc, err := shard.New[string, *session](shard.Config{TTL: e.ttl, SweepInterval: sweep, Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	e.sessions = sc
	e.loadSession = e.readSession
	e.gates, err = checkpoint.NewLoader(checkpoint.LoaderConfig{FS: e.wfFS, Recheck: cfg.GateRecheck, Clock: cfg.Clock, Logger: e.logger})
	if err != nil {
		return nil, err
	}
	if err := e.openSpecs(cfg); err != nil {
		return nil, err
	}
	// A store that starts sessions itself keeps its own pair index;
	// listing every session of a shared store would be wasted.
	if _, starts := e.store.(SessionStarter); !starts {
		if err := e.indexPairs(context.Background()); err != nil {
			return nil, err
		}
	}
	ok = true
	return e, nil
}

// indexPairs fills pairs from the store: the most recently updated active
// session of each (workflow, target).
func (e *Engine) indexPairs(ctx context.Context) error {
	list, err := e.store.List(ctx)
	if err != nil {
		return err
	}
	best := make(map[pairKey]*SessionSummary)
	for i := range list {
		s := &list[i]
		if s.Error != "" {
			e.logger.Warn("session state file is corrupt; the session is skipped until it is fixed or deleted", "session_id", s.SessionID, "err", s.Error)
			continue
		}
		if s.Status != StatusActive {
			continue
		}
		k := pairKey{s.WorkflowType, s.TargetFile}
		if b, ok := best[k]; !ok || s.UpdatedAt.After(b.UpdatedAt) {
			best[k] = s
		}
	}
	for k, s := range best {
		e.pairs.Store(k, s.SessionID)
	}
	return nil
}

// Close releases the engine's caches and folders. It is safe to call more
// than once; calls made after Close fail with ErrClosed.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	var errs []error
	if e.sessions != nil {
		e.sessions.Close()
	}
	if e.gates != nil {
		e.gates.Close()
	}
	errs = append(errs, e.closeSpecs())
	if e.wfRoot != nil {
		errs = append(errs, e.wfRoot.Close())
	}
	if e.own != nil {
		errs = append(errs, e.own.Close())
	}
	return errors.Join(errs...)
}

func (e *Engine) check(ctx context.Context) error {
	if e.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

func (e *Engine) now() time.Time { return e.clock.Now().UTC() }

type wallClock struct{}

// Now returns the current time.
func (wallClock) Now() time.Time { return time.Now() }

// Metrics returns the counters of the session cache ("sessions") and of
// the gate cache ("gates"). For sessions, Loads counts state-file reads
// and Coalesced counts callers that shared another caller's read.
func (e *Engine) Metrics() map[string]metrics.Snapshot {
	out := map[string]metrics.Snapshot{
		"sessions": e.sessions.Metrics(),
		"gates":    e.gates.Metrics(),
	}
	e.specMetrics(out)
	return out
}

// lookup returns the session object for id, loading it on a miss.
//
// A caller shared another caller's state-file read when the object it got
// was read after it asked (its loadSeq is above the count it saw before
// GetOrLoad) by another caller.
func (e *Engine) lookup(ctx context.Context, id string) (*session, error) {
	if !isCanonicalID(id) {
		canon, err := ParseSessionID(id)
		if err != nil {
			return nil, err
		}
		id = canon
	}
	before := e.loads.Load()
	s, err := e.sessions.GetOrLoad(ctx, id, e.loadSession)
	if err != nil {
		return nil, err
	}
	if s.loadSeq > before {
		if c, _ := CallerFrom(ctx); c != s.loadedBy {
			e.logCoalesced(ctx, id, s)
		}
		if st, _ := s.snapshot(); st.Status == StatusCompleted {
			// Completed sessions do not stay in memory. The object is
			// never mutated again, so another caller still holding it is
			// safe.
			e.sessions.Delete(id)
		}
	}
	return s, nil
}

// readSession is the session cache's load: it reads id's state file.
func (e *Engine) readSession(ctx context.Context, id string) (*session, error) {
	st, ver, err := e.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	c, _ := CallerFrom(ctx)
	s := &session{st: st, ver: ver, loadedBy: c, loadSeq: e.loads.Add(1)}
	s.touched.Store(e.now().UnixNano())
	return s, nil
}

// isCanonicalID reports whether id is a UUID in its canonical form, the
// lower-case hex with dashes that ParseSessionID returns, without
// allocating.
func isCanonicalID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
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
	if s.gone || s.st.Status != StatusActive {
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
func (s *session) refresh(ctx context.Context, st *SessionState, ver Version) (*SessionState, error) {
	if err := s.mu.LockContext(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	s.refreshLocked(st, ver)
	return s.st, nil
}

// refreshLocked is refresh with s.mu held.
func (s *session) refreshLocked(st *SessionState, ver Version) {
	if st != nil && ver > s.ver && !s.gone {
		normalize(st)
		s.st, s.ver = st, ver
	}
}

// snapshot returns the session's current state pointer under its lock.
func (s *session) snapshot() (*SessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st, s.gone
}

// get returns the session's state for reading, refreshing its TTL.
func (e *Engine) get(ctx context.Context, sessionID string) (*SessionState, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	s, err := e.lookup(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if err := s.mu.LockContext(ctx); err != nil {
		return nil, err
	}
	if e.shared != nil {
		err = e.syncLocked(ctx, s)
	}
	st, gone := s.st, s.gone
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if gone {
		return nil, notFound(st.SessionID)
	}
	if st.Status == StatusCompleted {
		e.sessions.Delete(st.SessionID) // completed sessions do not stay in memory
	}
	e.touch(st.SessionID, s)
	return st, nil
}

// SharedStore is a Store that other processes write at the same time, and
// that can tell cheaply whether the version a caller holds is still
// current (the Redis store answers from its client-side cache, which Redis
// invalidates). With one, the Engine checks the version before every call
// on a session, so that its session cache only saves decoding: it never
// serves a version older than the store's.
type SharedStore interface {
	Store
	// LoadNewer is Load for a caller that holds version have: when the
	// stored version is still have, it returns a nil state and have,
	// without decoding.
	LoadNewer(ctx context.Context, id string, have Version) (*SessionState, Version, error)
}

// syncLocked brings s up to the shared store's version; s.mu is held. A
// session the store no longer has is marked gone and leaves the cache.
func (e *Engine) syncLocked(ctx context.Context, s *session) error {
	id := s.st.SessionID
	if s.gone {
		return notFound(id)
	}
	st, ver, err := e.shared.LoadNewer(ctx, id, s.ver)
	if errors.Is(err, ErrNotFound) {
		s.gone = true
		e.sessions.Delete(id)
	}
	if err != nil {
		return err
	}
	s.refreshLocked(st, ver)
	return nil
}

// ConflictStats counts the conflicts CompletePhase met: a save refused
// because another process (or session object) saved the session first.
type ConflictStats struct {
	// Retries counts attempts made after a conflict, on the re-read
	// state.
	Retries int64 `json:"retries"`
	// GaveUp counts calls that still conflicted at their last attempt
	// and returned ErrConflict.
	GaveUp int64 `json:"gave_up"`
}

// Conflicts returns the conflict counters since New.
func (e *Engine) Conflicts() ConflictStats {
	return ConflictStats{Retries: e.retries.Load(), GaveUp: e.gaveUp.Load()}
}

func notFound(id string) error {
	return noSession(id, "it was deleted")
}

// ListWorkflows describes every workflow of the workflows folder, sorted
// by name, with the problems Validate finds in each.
func (e *Engine) ListWorkflows(ctx context.Context) ([]WorkflowInfo, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	names, err := workflowNames(e.wfFS)
	if err != nil {
		return nil, fmt.Errorf("engine: workflows folder: %w", err)
	}
	out := make([]WorkflowInfo, 0, len(names))
	for _, name := range names {
		info := WorkflowInfo{Name: name, Problems: []string{}}
		for _, p := range validateWorkflow(e.wfFS, name) {
			info.Problems = append(info.Problems, p.String())
		}
		if m, err := readMetadata(e.wfFS, name); err == nil {
			info.WorkflowType, info.Version, info.Title = m.WorkflowType, m.Version, m.Name
			info.Description, info.EstimatedDuration = m.Description, m.EstimatedDuration
			info.TotalPhases, info.Phases = m.TotalPhases, len(m.Phases)
		}
		out = append(out, info)
	}
	return out, nil
}

// Start starts a session of workflowType for targetFile, or resumes the
// active session of that pair if there is one (Resumed is then true).
// Concurrent Starts of one pair create one session and one state file.
// The workflow's metadata.json is read from disk on every call. options
// are stored in the session's metadata under "options".
func (e *Engine) Start(ctx context.Context, workflowType, targetFile string, options map[string]any) (*StartResult, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if err := checkWorkflowName(workflowType); err != nil {
		return nil, err
	}
	if err := checkTarget(targetFile); err != nil {
		return nil, err
	}
	var opts map[string]any
	if len(options) > 0 {
		b, err := checkpoint.EncodeEvidence(options, e.maxEvidence)
		if err != nil {
			return nil, fmt.Errorf("%w: options: %w", ErrInvalidArgument, err)
		}
		if opts, err = decodeObject(b); err != nil {
			return nil, fmt.Errorf("%w: options: %w", ErrInvalidArgument, err)
		}
	}
	f, err := e.loadFlow(ctx, workflowType, opts)
	if err != nil {
		return nil, err
	}
	order := f.order()
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: workflow_type %s: metadata.json lists no phases; add at least one phase", ErrCorrupt, workflowType)
	}
	// Read the first phase before creating anything, so that a workflow
	// whose content cannot be read leaves no session behind.
	pc, err := e.content(f, order[0])
	if err != nil {
		return nil, err
	}
	st, resumed, err := e.startLocked(ctx, pairKey{workflowType, targetFile}, order[0], opts)
	if err != nil {
		return nil, err
	}
	if resumed && f.m.DynamicPhases {
		// The resumed session keeps the spec it was started with.
		if f, err = e.flowOf(ctx, st); err != nil {
			return nil, err
		}
		order = f.order()
	}
	if st.CurrentPhase != pc.Phase || st.Status != StatusActive || resumed && f.m.DynamicPhases {
		if pc, err = e.content(f, st.CurrentPhase); err != nil {
			return nil, err
		}
	}
	return &StartResult{
		SessionID:    st.SessionID,
		WorkflowType: st.WorkflowType,
		TargetFile:   st.TargetFile,
		CurrentPhase: st.CurrentPhase,
		PhaseName:    pc.PhaseName,
		PhaseContent: pc.Content,
		Tasks:        pc.Tasks,
		TotalPhases:  len(order),
		Resumed:      resumed,
	}, nil
}

// startLocked finds or creates the pair's active session under the pair's
// start lock, so that concurrent Starts of one pair create one session.
func (e *Engine) startLocked(ctx context.Context, k pairKey, first int, opts map[string]any) (*SessionState, bool, error) {
	mu := &e.startLocks[xxhash.Sum64String(k.workflow+"\x00"+k.target)%uint64(len(e.startLocks))]
	if err := mu.LockContext(ctx); err != nil {
		return nil, false, err
	}
	defer mu.Unlock()
	if ss, ok := e.store.(SessionStarter); ok {
		return e.startShared(ctx, ss, k, first, opts)
	}
	if id, ok := e.pairs.Load(k); ok {
		s, err := e.lookup(ctx, id)
		if err == nil {
			st, gone := s.snapshot()
			if !gone && st.Status == StatusActive && st.WorkflowType == k.workflow && st.TargetFile == k.target {
				e.touch(id, s)
				return st, true, nil
			}
		} else if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
			return nil, false, err
		}
		e.pairs.Compute(k, func(old string, loaded bool) (string, xsync.ComputeOp) {
			if loaded && old == id {
				return "", xsync.DeleteOp
			}
			return old, xsync.CancelOp
		})
	}
	st := e.newState(k, first, opts)
	ver, err := e.store.Save(ctx, st, 0)
	if err != nil {
		return nil, false, err
	}
	e.adopt(ctx, st, ver)
	return st, false, nil
}

// newState returns the state of a new session of pair k on phase first.
func (e *Engine) newState(k pairKey, first int, opts map[string]any) *SessionState {
	now := e.now()
	st := &SessionState{
		SessionID:       uuid.NewString(),
		WorkflowType:    k.workflow,
		TargetFile:      k.target,
		CurrentPhase:    first,
		CompletedPhases: []int{},
		PhaseArtifacts:  map[int]*PhaseArtifact{},
		Checkpoints:     map[int]CheckpointStatus{first: CheckpointPending},
		Status:          StatusActive,
		CreatedAt:       now,
		UpdatedAt:       now,
		Metadata:        map[string]any{},
	}
	if opts != nil {
		st.Metadata["options"] = opts
	}
	return st
}

// adopt makes the session object of a session this engine just created
// and puts it in the cache and the pair index.
func (e *Engine) adopt(ctx context.Context, st *SessionState, ver Version) {
	c, _ := CallerFrom(ctx)
	s := &session{st: st, ver: ver, loadedBy: c}
	s.touched.Store(e.now().UnixNano())
	e.sessions.Set(st.SessionID, s)
	e.pairs.Store(pairKey{st.WorkflowType, st.TargetFile}, st.SessionID)
	e.logger.Debug("session started", "session_id", st.SessionID, "workflow_type", st.WorkflowType, "target_file", st.TargetFile, "caller", c.String())
}

// SessionStarter is implemented by a Store shared between processes that
// can create a session or find the pair's active one in one atomic step.
// When the Engine's Store implements it, Start asks the store instead of
// the engine's own pair index, so that concurrent Starts of one pair in
// any number of processes create one session.
type SessionStarter interface {
	// CreateOrResume saves st, a new active session, unless its
	// (workflow_type, target_file) pair already has an active session,
	// which it returns instead with created false. It returns the stored
	// state and its version.
	CreateOrResume(ctx context.Context, st *SessionState) (stored *SessionState, ver Version, created bool, err error)
}

// startShared is Start's find-or-create on a SessionStarter store. The
// pair's start lock is held, so concurrent Starts in this process make
// one call.
func (e *Engine) startShared(ctx context.Context, ss SessionStarter, k pairKey, first int, opts map[string]any) (*SessionState, bool, error) {
	got, ver, created, err := ss.CreateOrResume(ctx, e.newState(k, first, opts))
	if err != nil {
		return nil, false, err
	}
	if created {
		e.adopt(ctx, got, ver)
		return got, false, nil
	}
	s, err := e.lookup(ctx, got.SessionID)
	if err != nil {
		return nil, false, err
	}
	st, err := s.refresh(ctx, got, ver)
	if err != nil {
		return nil, false, err
	}
	e.touch(got.SessionID, s)
	return st, true, nil
}

// CurrentPhase returns the session's current phase: its phase.md and task
// list, read from disk. For a completed workflow it returns the session's
// position with WorkflowComplete set and no content.
func (e *Engine) CurrentPhase(ctx context.Context, sessionID string) (*PhaseView, error) {
	st, err := e.get(ctx, sessionID)
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
	f, err := e.flowOf(ctx, st)
	if err != nil {
		return nil, err
	}
	v.TotalPhases = len(f.order())
	if st.Status == StatusCompleted {
		v.WorkflowComplete = true
		v.Phase = st.CurrentPhase
		v.Tasks = []TaskInfo{}
		return v, nil
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
func (e *Engine) Task(ctx context.Context, sessionID string, phase, taskNumber int) (*TaskView, error) {
	if phase < 0 {
		return nil, fmt.Errorf("%w: phase must be 0 or more, got %d", ErrInvalidArgument, phase)
	}
	if taskNumber < 0 {
		return nil, fmt.Errorf("%w: task_number must be 0 or more, got %d", ErrInvalidArgument, taskNumber)
	}
	st, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	done := slices.Contains(st.CompletedPhases, phase)
	if !done && (phase != st.CurrentPhase || st.Status != StatusActive) {
		return nil, fmt.Errorf("%w: phase %d is not open: session %s is on phase %d; read tasks of the current phase or of a completed phase %v", ErrWrongPhase, phase, st.SessionID, st.CurrentPhase, st.CompletedPhases)
	}
	f, err := e.flowOf(ctx, st)
	if err != nil {
		return nil, err
	}
	tv, err := e.task(f, phase, taskNumber)
	if err != nil {
		return nil, err
	}
	tv.SessionID = st.SessionID
	return tv, nil
}

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
// Either way the state is saved before CompletePhase returns. The error
// wraps ErrAlreadyCompleted when the phase (or the workflow) is already
// completed, ErrWrongPhase when phase is not the current phase (the
// message names the current one), and ErrInvalidArgument when the
// evidence is larger than Config.MaxEvidenceBytes encoded.
func (e *Engine) CompletePhase(ctx context.Context, sessionID string, phase int, evidence map[string]any) (*CompleteResult, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if phase < 0 {
		return nil, fmt.Errorf("%w: phase must be 0 or more, got %d", ErrInvalidArgument, phase)
	}
	if evidence == nil {
		evidence = map[string]any{}
	}
	raw, err := checkpoint.EncodeEvidence(evidence, e.maxEvidence)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	// Store and check a private copy in its JSON form, so that the
	// caller may reuse its map and the gate sees what will be saved.
	ev, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: evidence: %w", ErrInvalidArgument, err)
	}
	s, err := e.lookup(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	res, err := e.complete(ctx, s, phase, ev)
	if err == nil && !res.WorkflowComplete {
		e.touch(res.SessionID, s)
	}
	return res, err
}

// complete runs CompletePhase on the session object s under its lock.
func (e *Engine) complete(ctx context.Context, s *session, phase int, ev map[string]any) (*CompleteResult, error) {
	if err := s.mu.LockContext(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	attempts := maxAttempts
	if e.shared != nil {
		// Decide on the store's version, not on what this process last
		// saw: that saves a conflict whenever another replica moved on.
		if err := e.syncLocked(ctx, s); err != nil {
			return nil, err
		}
		attempts = maxSharedAttempts
	}
	for attempt := 1; ; attempt++ {
		res, err := e.completeLocked(ctx, s, phase, ev)
		if !errors.Is(err, ErrConflict) {
			return res, err
		}
		if attempt == attempts {
			e.gaveUp.Add(1)
			return res, err
		}
		e.retries.Add(1)
		if e.shared != nil {
			// Replicas that keep losing to each other in lockstep are
			// pulled apart by a short random pause.
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		}
		// Another object or process saved this session first: read the
		// saved state into this object and decide again.
		st, ver, lerr := e.store.Load(ctx, s.st.SessionID)
		if lerr != nil {
			if errors.Is(lerr, ErrNotFound) {
				s.gone = true
				e.sessions.Delete(s.st.SessionID)
			}
			return nil, lerr
		}
		s.st, s.ver = st, ver
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

// completeLocked runs one attempt of CompletePhase; s.mu is held.
func (e *Engine) completeLocked(ctx context.Context, s *session, phase int, ev map[string]any) (*CompleteResult, error) {
	st := s.st
	id := st.SessionID
	switch {
	case s.gone:
		return nil, notFound(id)
	case st.Status == StatusCompleted:
		return nil, fmt.Errorf("%w: session %s: workflow %s is already completed (phases %v); start a new session to run it again", ErrAlreadyCompleted, id, st.WorkflowType, st.CompletedPhases)
	case slices.Contains(st.CompletedPhases, phase):
		return nil, fmt.Errorf("%w: phase %d of session %s is already completed; the current phase is %d", ErrAlreadyCompleted, phase, id, st.CurrentPhase)
	case phase != st.CurrentPhase:
		return nil, fmt.Errorf("%w: phase %d is not the current phase of session %s; the current phase is %d: complete it first", ErrWrongPhase, phase, id, st.CurrentPhase)
	}
	f, err := e.flowOf(ctx, st)
	if err != nil {
		return nil, err
	}
	if !f.has(phase) {
		return nil, fmt.Errorf("%w: phase %d of session %s is not in workflow %s any more; its metadata.json changed", ErrCorrupt, phase, id, st.WorkflowType)
	}
	gate, err := e.gate(ctx, f, phase)
	if err != nil {
		return nil, fmt.Errorf("%w: gate of phase %d of workflow %s: %w; fix the gate-definition.yaml", ErrCorrupt, phase, st.WorkflowType, err)
	}
	res := checkpoint.Validate(gate, ev)
	now := e.now()
	next := cloneState(st)
	next.UpdatedAt = now
	art := &PhaseArtifact{PhaseNumber: phase, Evidence: ev, Timestamp: now, Attempts: 1}
	if prev := st.PhaseArtifacts[phase]; prev != nil {
		art.Attempts = prev.Attempts + 1
		art.Outputs, art.CommandsExecuted = prev.Outputs, prev.CommandsExecuted
	}
	next.PhaseArtifacts[phase] = art
	out := &CompleteResult{SessionID: id, Phase: phase, CheckpointPassed: res.CheckpointPassed, ValidationResult: res}
	var nextPhase int
	hasNext := false
	if res.CheckpointPassed {
		next.Checkpoints[phase] = CheckpointPassed
		next.CompletedPhases = append(next.CompletedPhases, phase)
		out.PhaseCompleted = true
		if nextPhase, hasNext = f.next(phase); hasNext {
			next.CurrentPhase = nextPhase
			if _, ok := next.Checkpoints[nextPhase]; !ok {
				next.Checkpoints[nextPhase] = CheckpointPending
			}
		} else {
			next.Status = StatusCompleted
			out.WorkflowComplete = true
		}
	} else {
		next.Checkpoints[phase] = CheckpointFailed
		art.Errors = res.Errors
	}
	ver, err := e.store.Save(ctx, next, s.ver)
	if err != nil {
		return nil, err
	}
	s.st, s.ver = next, ver
	if out.WorkflowComplete {
		e.sessions.Delete(id)
		e.dropPair(next)
		e.logger.Debug("workflow completed", "session_id", id, "workflow_type", next.WorkflowType)
	}
	if hasNext {
		out.NextPhase = &nextPhase
		pc, err := e.content(f, nextPhase)
		if err != nil {
			// The phase is saved as completed; report the content problem
			// without undoing it.
			e.logger.Warn("next phase content unreadable", "session_id", id, "phase", nextPhase, "err", err)
			pc = &PhaseContent{Phase: nextPhase, Content: "(phase content unreadable: " + err.Error() + ")", Tasks: []TaskInfo{}}
		}
		out.NextPhaseContent = pc
	}
	return out, nil
}

// dropPair removes st's pair entry if it still names st's session.
func (e *Engine) dropPair(st *SessionState) {
	e.pairs.Compute(pairKey{st.WorkflowType, st.TargetFile}, func(old string, loaded bool) (string, xsync.ComputeOp) {
		if loaded && old == st.SessionID {
			return "", xsync.DeleteOp
		}
		return old, xsync.CancelOp
	})
}

// State returns a deep copy of the session's state.
func (e *Engine) State(ctx context.Context, sessionID string) (*SessionState, error) {
	st, err := e.get(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	return deepCopy(st)
}

// ListSessions lists the sessions of the store, most recently updated
// first. status "" lists all, "active" and "completed" filter; any other
// value is an error naming status. Sessions whose state file is corrupt
// are listed (with Error set) only when status is "".
func (e *Engine) ListSessions(ctx context.Context, status string) ([]SessionSummary, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	switch Status(status) {
	case "", StatusActive, StatusCompleted:
	default:
		return nil, fmt.Errorf("%w: status must be \"\" (all), %q or %q, got %s", ErrInvalidArgument, StatusActive, StatusCompleted, quoteArg(status))
	}
	list, err := e.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for i := range list {
		if status == "" || list[i].Error == "" && list[i].Status == Status(status) {
			out = append(out, list[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.After(out[j].UpdatedAt)
		}
		return out[i].SessionID < out[j].SessionID
	})
	return out, nil
}

// DeleteSession deletes the session's state file and its cache entry
// together, under the session's lock, so that no later call can be served
// the deleted session. A session whose state file is corrupt can be
// deleted too.
func (e *Engine) DeleteSession(ctx context.Context, sessionID string) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	s, err := e.lookup(ctx, sessionID)
	if errors.Is(err, ErrCorrupt) {
		id, _ := ParseSessionID(sessionID)
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
		if errors.Is(err, ErrNotFound) {
			s.gone = true
			e.sessions.Delete(id)
		}
		return err
	}
	s.gone = true
	e.sessions.Delete(id)
	e.dropPair(s.st)
	e.logger.Debug("session deleted", "session_id", id)
	return nil
}
