package spec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// DefaultRecheck is how long a Loader trusts a cached plan before it looks
// at the file's stamp again, when LoaderConfig.Recheck is 0.
const DefaultRecheck = time.Second

// TasksFile is the file of a spec folder that holds its plan.
const TasksFile = "tasks.md"

// ErrInvalidArgument is wrapped by the errors of a spec path that cannot
// name a tasks.md inside the Loader's folder.
var ErrInvalidArgument = errors.New("spec: invalid argument")

// ErrNotFound is wrapped when the spec path names nothing.
var ErrNotFound = errors.New("spec: not found")

// Clock tells the time. It must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// FS is the folder spec paths are resolved in, normally the project
	// root. Use os.Root.FS so that symlinks leading outside it are
	// refused.
	FS fs.FS
	// Dir is FS's absolute path on disk, so that an absolute spec path
	// inside it is accepted; "" refuses absolute paths.
	Dir string
	// Recheck is how long a cached plan is served before the file's
	// modification time and size are compared again with the ones it was
	// parsed from. 0 selects DefaultRecheck; it must not be negative.
	Recheck time.Duration
	// Clock replaces the wall clock, for tests.
	Clock Clock
	// Logger receives parse failures. nil discards them.
	Logger *slog.Logger
}

// Loader caches parsed plans per tasks.md.
//
// A Loader is safe for concurrent use by multiple goroutines without
// additional locking. Create one with NewLoader; the zero Loader is not
// usable, and a Loader must not be copied after first use.
//
// Plan serves a cached plan without touching the file system until Recheck
// has passed since the file was last looked at; that hit path is the
// shard.Cache's lock-free Get. Then one caller, chosen by the cache's
// GetOrLoad, compares the file's modification time and size with the stamp
// the cached plan was parsed from: an unchanged file is not parsed again, a
// changed one is parsed exactly once, and every other caller for that file
// waits for that look and shares its result. An edit is therefore served at
// most Recheck after it is written. A file that does not parse is
// remembered with its stamp too, so it is parsed once per change.
type Loader struct {
	cache *shard.Cache[string, *loaded]
	// last holds the most recent look at each file, so that a recheck of
	// an unchanged file reuses its parse. Written only by the key's
	// single loader.
	last   *xsync.Map[string, *loaded]
	fsys   fs.FS
	dir    string
	logger *slog.Logger
	parses atomic.Int64
	// load is the cache's load function, built once so that a lookup
	// that hits allocates nothing.
	load func(ctx context.Context, key string) (*loaded, error)
}

// loaded is one look at a tasks.md: immutable once stored.
type loaded struct {
	plan  *Plan
	err   error
	stamp stamp
	// name is the tasks file the spec path led to.
	name string
}

type stamp struct{ mod, size int64 }

// NewLoader returns a Loader reading spec files from cfg.FS.
func NewLoader(cfg LoaderConfig) (*Loader, error) {
	if cfg.FS == nil {
		return nil, fmt.Errorf("%w: LoaderConfig.FS is nil; pass the project folder, for example root.FS()", ErrInvalidArgument)
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
	c, err := shard.New[string, *loaded](shard.Config{TTL: cfg.Recheck, SweepInterval: max(cfg.Recheck, time.Minute), Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	l := &Loader{cache: c, last: xsync.NewMap[string, *loaded](), fsys: cfg.FS, dir: cfg.Dir, logger: logger}
	l.load = func(_ context.Context, key string) (*loaded, error) { return l.look(key) }
	return l, nil
}

// clean turns a spec path (relative to the Loader's folder, or absolute
// inside it) into a slash-separated path inside the folder, without
// touching the file system.
func (l *Loader) clean(specPath string) (string, error) {
	p := strings.TrimSpace(specPath)
	switch {
	case p == "":
		return "", fmt.Errorf("%w: is empty; pass the spec folder, for example .praxis-os/specs/2025-10-13-my-feature", ErrInvalidArgument)
	case len(p) > 4096 || strings.ContainsRune(p, 0):
		return "", fmt.Errorf("%w: must be a path of at most 4096 bytes without a NUL byte", ErrInvalidArgument)
	}
	if filepath.IsAbs(p) {
		rel, err := filepath.Rel(l.dir, p)
		if l.dir == "" || err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%w: %q is outside the project folder; pass a path inside it, relative to it", ErrInvalidArgument, specPath)
		}
		p = rel
	}
	p = path.Clean(filepath.ToSlash(p))
	if !fs.ValidPath(p) || p == "." {
		return "", fmt.Errorf("%w: %q is outside the project folder (or names the folder itself); pass a spec folder inside it, relative to it", ErrInvalidArgument, specPath)
	}
	return p, nil
}

// locate returns the tasks file that the cleaned spec path p names: p
// itself when it is a markdown file, p/tasks.md when it is a folder.
func (l *Loader) locate(p string) (string, error) {
	fi, err := fs.Stat(l.fsys, p)
	if err != nil {
		return "", statErr(p, err)
	}
	if fi.IsDir() {
		p = path.Join(p, TasksFile)
		if fi, err = fs.Stat(l.fsys, p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%w: %q has no %s; pass a spec folder that holds one", ErrNotFound, path.Dir(p), TasksFile)
			}
			return "", statErr(p, err)
		}
	}
	if !fi.Mode().IsRegular() || !strings.HasSuffix(p, ".md") {
		return "", fmt.Errorf("%w: %q must be a spec folder holding %s, or a markdown file", ErrInvalidArgument, p, TasksFile)
	}
	return p, nil
}

func statErr(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q does not exist in the project folder; pass the spec folder relative to it, for example .praxis-os/specs/2025-10-13-my-feature", ErrNotFound, p)
	}
	if strings.Contains(err.Error(), "escapes") {
		// os.Root refuses a symlink that leads out of the folder.
		return fmt.Errorf("%w: %q leads outside the project folder (through a symlink); pass a spec inside it", ErrInvalidArgument, p)
	}
	return fmt.Errorf("%w: %q cannot be read: %w", ErrInvalidArgument, p, err)
}

// Plan returns the parsed plan of a spec: specPath is a spec folder
// holding tasks.md, or a markdown file itself, relative to the Loader's
// folder or absolute inside it. Errors name the path; they wrap
// ErrInvalidArgument for a path outside the folder, ErrNotFound for one
// that names nothing, and ErrInvalidSpec when the file does not parse.
func (l *Loader) Plan(ctx context.Context, specPath string) (*Plan, error) {
	key, err := l.clean(specPath)
	if err != nil {
		return nil, err
	}
	ld, err := l.cache.GetOrLoad(ctx, key, l.load)
	if err != nil {
		return nil, err
	}
	return ld.plan, ld.err
}

// look stats the file and parses it if its stamp changed since the last
// look. Only the key's single loader runs it.
func (l *Loader) look(key string) (*loaded, error) {
	name, err := l.locate(key)
	if err != nil {
		return nil, err // not cached: the next call looks again
	}
	f, err := l.fsys.Open(name)
	if err != nil {
		return nil, statErr(name, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("spec: stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrInvalidArgument, name)
	}
	st := stamp{mod: fi.ModTime().UnixNano(), size: fi.Size()}
	if prev, ok := l.last.Load(key); ok && prev.stamp == st && prev.name == name {
		return prev, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxTasksBytes+1))
	if err != nil {
		return nil, fmt.Errorf("spec: read %s: %w", name, err)
	}
	l.parses.Add(1)
	p, perr := Parse(data, name)
	if perr != nil {
		l.logger.Warn("tasks file does not parse", "file", name, "err", perr)
	}
	ld := &loaded{plan: p, err: perr, stamp: st, name: name}
	l.last.Store(key, ld)
	return ld, nil
}

// Metrics returns the plan cache's counters. Loads counts looks at files;
// Parses counts how many of them parsed markdown.
func (l *Loader) Metrics() metrics.Snapshot { return l.cache.Metrics() }

// Parses returns how many times a tasks file has been parsed.
func (l *Loader) Parses() int64 { return l.parses.Load() }

// Close stops the cache's background goroutine. The Loader must not be used
// afterwards.
func (l *Loader) Close() { l.cache.Close() }
