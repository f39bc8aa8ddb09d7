package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// DefaultRecheck is how long a Loader trusts a cached gate before it looks
// at the file's stamp again, when LoaderConfig.Recheck is 0.
const DefaultRecheck = time.Second

// GateFile is the name of a phase's gate file.
const GateFile = "gate-definition.yaml"

// ErrInvalidArgument is wrapped by Loader errors for a bad workflow name or
// phase number.
var ErrInvalidArgument = errors.New("checkpoint: invalid argument")

// Clock tells the time. It must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// FS is the workflows folder. Gates are read from
	// <workflow>/phases/<N>/gate-definition.yaml inside it. Use
	// os.Root.FS so that symlinks leading outside the folder are refused.
	FS fs.FS
	// Recheck is how long a cached gate is served before the file's
	// modification time and size are compared again with the ones it was
	// parsed from. 0 selects DefaultRecheck; it must not be negative.
	Recheck time.Duration
	// Clock replaces the wall clock, for tests.
	Clock Clock
	// Logger receives parse failures. nil discards them.
	Logger *slog.Logger
}

// Loader caches parsed gates per (workflow, phase).
//
// A Loader is safe for concurrent use by multiple goroutines without
// additional locking. Create one with NewLoader; the zero Loader is not
// usable, and a Loader must not be copied after first use.
//
// Gate serves a cached gate without touching the file system until Recheck
// has passed since the file was last looked at; that hit path is the
// shard.Cache's lock-free lookup. Then one caller, chosen by the cache's
// GetOrLoadWith, opens the file and compares its modification time and size
// with the stamp the cached gate was parsed from: an unchanged file is not
// parsed again, a changed one is parsed exactly once, and every other caller
// for that gate waits for that look and shares its result. An edit is
// therefore served at most Recheck after it is written. A file that does
// not parse is remembered with its stamp too, so a broken gate is parsed
// once per change, not once per call.
type Loader struct {
	// cache and last are keyed by id<<32 | phase, where id is the
	// workflow's number in ids: an integer key hashes several times faster
	// than a (string, int) struct, and building it allocates nothing.
	cache *shard.Cache[int64, *loaded]
	// last holds the most recent look at each gate file, so that a
	// recheck of an unchanged file reuses its parse. Written only by the
	// key's single loader.
	last *xsync.Map[int64, *loaded]
	// ids numbers the workflow names seen, from 1; only names that pass
	// ValidName are added.
	ids    *xsync.Map[string, int64]
	nextID atomic.Int64
	fsys   fs.FS
	logger *slog.Logger
	parses atomic.Int64
	// load is the cache's load function, built once so that a lookup
	// that hits allocates nothing.
	load func(ctx context.Context, key int64, k gateKey) (*loaded, error)
}

type gateKey struct {
	workflow string
	phase    int
}

// MaxPhase is the largest phase number a Loader accepts.
const MaxPhase = math.MaxInt32

// loaded is one look at a gate file: immutable once stored.
type loaded struct {
	gate  *Gate
	err   error
	stamp stamp
}

// stamp identifies a version of a file; a missing file has the zero stamp
// with absent set.
type stamp struct {
	absent bool
	mod    int64
	size   int64
}

// NewLoader returns a Loader reading gates from cfg.FS.
func NewLoader(cfg LoaderConfig) (*Loader, error) {
	if cfg.FS == nil {
		return nil, fmt.Errorf("%w: LoaderConfig.FS is nil; pass the workflows folder, for example root.FS()", ErrInvalidArgument)
	}
	if cfg.Recheck < 0 {
		return nil, fmt.Errorf("%w: LoaderConfig.Recheck must be 0 (default %v) or positive, got %v", ErrInvalidArgument, DefaultRecheck, cfg.Recheck)
	}
	if cfg.Recheck == 0 {
		cfg.Recheck = DefaultRecheck
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Expired entries are swept once a minute (or every Recheck if
	// longer), so that gates nobody asks for again leave memory.
	c, err := shard.New[int64, *loaded](shard.Config{TTL: cfg.Recheck, SweepInterval: max(cfg.Recheck, time.Minute), Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	l := &Loader{cache: c, last: xsync.NewMap[int64, *loaded](), ids: xsync.NewMap[string, int64](), fsys: cfg.FS, logger: logger}
	l.load = func(_ context.Context, key int64, k gateKey) (*loaded, error) { return l.look(key, k) }
	return l, nil
}

// Gate returns the gate of a workflow's phase: the parsed
// gate-definition.yaml, or PermissiveGate with Source "none" when the phase
// has no gate file. The error wraps ErrInvalidGate when the file does not
// parse, ErrInvalidArgument when workflow is not a plain folder name, or
// the file system's error when the file cannot be read.
func (l *Loader) Gate(ctx context.Context, workflow string, phase int) (*Gate, error) {
	id, ok := l.ids.Load(workflow)
	if !ok || uint(phase) > MaxPhase {
		// A name seen for the first time, or a phase out of range: only
		// names that pass checkName are numbered.
		if err := checkName(workflow); err != nil {
			return nil, err
		}
		if phase < 0 || phase > MaxPhase {
			return nil, fmt.Errorf("%w: phase must be from 0 to %d, got %d", ErrInvalidArgument, MaxPhase, phase)
		}
		id, _ = l.ids.LoadOrCompute(workflow, func() (int64, bool) { return l.nextID.Add(1), false })
	}
	// One lookup, which counts one hit, miss or coalesced wait.
	ld, _, err := shard.GetOrLoadWith(ctx, l.cache, id<<32|int64(phase), gateKey{workflow, phase}, l.load)
	if err != nil {
		return nil, err
	}
	return ld.gate, ld.err
}

// look stats the gate file and parses it if its stamp changed since the
// last look. Only the key's single loader runs it.
func (l *Loader) look(key int64, k gateKey) (*loaded, error) {
	name := path.Join(k.workflow, "phases", strconv.Itoa(k.phase), GateFile)
	prev, _ := l.last.Load(key)
	// Stat before opening: opening a named pipe for reading would wait
	// for a writer forever, and an unchanged file need not be opened.
	fi, err := fs.Stat(l.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		if prev != nil && prev.stamp.absent {
			return prev, nil
		}
		ld := &loaded{gate: PermissiveGate(), stamp: stamp{absent: true}}
		l.last.Store(key, ld)
		return ld, nil
	}
	if err != nil {
		// Not cached: the next call looks again.
		return nil, fmt.Errorf("checkpoint: stat %s: %w", name, err)
	}
	if err := checkRegular(name, fi); err != nil {
		return nil, err
	}
	if prev != nil && prev.stamp == stampOf(fi) {
		return prev, nil
	}
	f, err := l.fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", name, err)
	}
	defer func() { _ = f.Close() }()
	// The file may have been replaced since the stat: check what was
	// opened.
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("checkpoint: stat %s: %w", name, err)
	}
	if err := checkRegular(name, fi); err != nil {
		return nil, err
	}
	st := stampOf(fi)
	if prev != nil && prev.stamp == st {
		return prev, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxGateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read %s: %w", name, err)
	}
	l.parses.Add(1)
	g, perr := ParseGate(data, name)
	if perr != nil {
		l.logger.Warn("gate does not parse", "workflow", k.workflow, "phase", k.phase, "err", perr)
	}
	ld := &loaded{gate: g, err: perr, stamp: st}
	l.last.Store(key, ld)
	return ld, nil
}

// checkRegular refuses a gate file that is not a regular file: a folder,
// a named pipe, a device.
func checkRegular(name string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (a folder, a named pipe or a device); gate-definition.yaml must be a YAML file", ErrInvalidGate, name)
	}
	return nil
}

func stampOf(fi fs.FileInfo) stamp {
	return stamp{mod: fi.ModTime().UnixNano(), size: fi.Size()}
}

// Forget drops every cached gate of workflow, so that the next Gate call
// for it looks at the files at once rather than after Recheck.
func (l *Loader) Forget(workflow string) {
	id, ok := l.ids.Load(workflow)
	if !ok {
		return
	}
	for k := range l.cache.All() {
		if k>>32 == id {
			l.cache.Delete(k)
		}
	}
}

// Metrics returns the gate cache's counters. Loads counts looks at gate
// files; Parses counts how many of them parsed YAML.
func (l *Loader) Metrics() metrics.Snapshot {
	return l.cache.Metrics()
}

// Parses returns how many times a gate file has been parsed.
func (l *Loader) Parses() int64 {
	return l.parses.Load()
}

// Close stops the cache's background goroutine. The Loader must not be used
// afterwards.
func (l *Loader) Close() {
	l.cache.Close()
}

// checkName accepts a workflow name that is one plain path element.
func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: workflow name %q must be a folder name of letters, digits, '_', '-' and '.', not starting with '.'", ErrInvalidArgument, name)
	}
	return nil
}

// ValidName reports whether name can be a workflow folder name: 1 to 128
// letters, digits, '_', '-' or '.', not starting with '.'. Such a name
// cannot climb out of the workflows folder or name an absolute path.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
