package engine

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/regfile"
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
// state, so no update is lost. Both stores are SharedStores: every call on
// a session first asks the store whether its version moved (LoadNewer: a
// stat of the state file on the filestore.Store, the client-side cache that
// Redis invalidates on the Redis store), so the session cache only saves
// decoding and never serves a version older than the store's; a decision
// saved by another process (mcpflow approve) is seen by the next call.
// With a filestore.Store, each process resumes only the active sessions it found
// at New or created itself; the Redis store's CreateOrResume lifts that
// limit too. Waiting for
// a session's lock or a pair's start lock ends with the caller's context,
// so a store that stalls delays callers no longer than their deadline.
type Engine struct {
	wfFS   fs.FS
	wfRoot *os.Root // nil when serving the built-in samples
	store  state.Store
	own    *filestore.Store // the store New opened, closed by Close
	// shared is store as a SharedStore, or nil.
	shared state.SharedStore

	sessions *shard.Cache[string, *session]
	// loadSession is the session cache's load function, built once so
	// that a lookup that hits allocates nothing.
	loadSession func(ctx context.Context, id string, sid state.SessionID) (*session, error)
	// loads numbers the state-file reads of the session cache; see lookup.
	loads atomic.Uint64
	gates *checkpoint.Loader
	// meta caches each workflow's metadata.json.
	meta *metadataCache
	// checks performs gates' checks in the project folder.
	checks *checkpoint.Checker
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
	// changed is the channel Changed returns, replaced (and the old one
	// closed) by notifyChanged.
	changed atomic.Pointer[chan struct{}]

	logger      *slog.Logger
	clock       shard.Clock
	ttl         time.Duration
	maxEvidence int
	coalesceLog rateLimit
	closed      atomic.Bool
}

// session is one session in memory.
type session struct {
	// id is the session's ID, immutable.
	id state.SessionID
	mu ctxMutex
	// st and ver are guarded by mu. st is replaced, never modified in
	// place, so a pointer read under mu may be used after unlocking.
	st  *state.SessionState
	ver state.Version
	// wf is st's workflow_type, parsed once where the state entered the
	// engine; guarded by mu and replaced with st when a state read from
	// the store names another workflow.
	wf stateWorkflow
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
		return nil, state.Errorf(state.ErrInvalidArgument, "Config.SessionTTL must be 0 (default %v) or positive, got %v", DefaultSessionTTL, cfg.SessionTTL)
	case cfg.MaxEvidenceBytes < 0:
		return nil, state.Errorf(state.ErrInvalidArgument, "Config.MaxEvidenceBytes must be 0 (default %d) or positive, got %d", DefaultMaxEvidenceBytes, cfg.MaxEvidenceBytes)
	case cfg.GateRecheck < 0:
		return nil, state.Errorf(state.ErrInvalidArgument, "Config.GateRecheck must be 0 (default %v) or positive, got %v", checkpoint.DefaultRecheck, cfg.GateRecheck)
	case cfg.Store == nil && cfg.StateDir == "":
		return nil, state.Errorf(state.ErrInvalidArgument, "Config.StateDir is empty; set it to the folder for session files (for example .mcpflow/state)")
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
	first := make(chan struct{})
	e.changed.Store(&first)
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
		e.wfFS = workflows.BuiltinWorkflows()
	} else {
		root, err := os.OpenRoot(cfg.WorkflowsDir)
		if err != nil {
			return nil, state.Errorf(state.ErrNotFound, "Config.WorkflowsDir %s cannot be opened (%w); point it at a folder of workflows or leave it empty for the built-in samples", cfg.WorkflowsDir, err)
		}
		e.wfRoot, e.wfFS = root, regfile.FS(root)
	}
	e.store = cfg.Store
	if e.store == nil {
		fsx, err := filestore.New(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		e.own, e.store = fsx, fsx
	}
	e.shared, _ = e.store.(state.SharedStore)
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
	if err := e.openMetadata(cfg); err != nil {
		return nil, err
	}
	if e.checks, err = checkpoint.NewChecker(checkpoint.CheckerConfig{Dir: cfg.ProjectDir, AllowCommands: cfg.AllowGateCommands, Ignore: []string{cfg.StateDir}, Logger: e.logger}); err != nil {
		return nil, err
	}
	if err := e.openSpecs(cfg); err != nil {
		return nil, err
	}
	// A store that starts sessions itself keeps its own pair index;
	// listing every session of a shared store would be wasted.
	if _, starts := e.store.(state.SessionStarter); !starts {
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
	best := make(map[pairKey]*state.SessionSummary)
	for i := range list {
		s := &list[i]
		if s.Error != "" {
			e.logger.Warn("session state file is corrupt; the session is skipped until it is fixed or deleted", "session_id", s.SessionID, "err", s.Error)
			continue
		}
		if s.Status != state.StatusActive {
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
	if e.meta != nil {
		e.meta.Close()
	}
	errs = append(errs, e.closeSpecs(), e.checks.Close())
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
		return state.ErrClosed
	}
	return ctx.Err()
}

// now is the clock's time in UTC, to the microsecond that state files keep.
func (e *Engine) now() time.Time { return e.clock.Now().UTC().Truncate(time.Microsecond) }

type wallClock struct{}

// Now returns the current time.
func (wallClock) Now() time.Time { return time.Now() }

// Metrics returns the counters of the session cache ("sessions") and of
// the file caches: gates ("gates"), workflow metadata.json files
// ("metadata"), the workflows' example specs ("example_specs") and, with a
// project folder, its specs ("specs"); and the state store's caches when
// it reports them (a filestore.Store's "state_stamps" and
// "session_summaries"). For sessions, Loads counts state-file reads and
// Coalesced counts callers that shared another caller's read; for the
// file caches, Loads counts looks at a file (Parses counts the parses).
func (e *Engine) Metrics() map[string]metrics.Snapshot {
	out := map[string]metrics.Snapshot{
		"sessions": e.sessions.Metrics(),
		"gates":    e.gates.Metrics(),
		"metadata": e.meta.Metrics(),
	}
	e.specMetrics(out)
	e.storeMetrics(out)
	return out
}

// ListWorkflows describes every workflow of the workflows folder, sorted
// by name, with the problems Validate finds in each (workflows.List).
func (e *Engine) ListWorkflows(ctx context.Context) ([]workflows.Info, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	out, err := workflows.List(e.wfFS)
	if err != nil {
		return nil, state.Errorf(nil, "workflows folder: %w", err)
	}
	return out, nil
}
