package spec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpflow/mcpflow/internal/filecache"
	"github.com/mcpflow/mcpflow/internal/regfile"
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
	Clock shard.Clock
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
// filecache.Cache's lock-free lookup. Then one caller compares the file's
// modification time and size with the stamp the cached plan was parsed
// from: an unchanged file is not parsed again, a changed one is parsed
// exactly once, and every other caller for that file waits for that look
// and shares its result. An edit is therefore served at most Recheck after
// it is written. A file that does not parse is remembered with its stamp
// too, so it is parsed once per change.
type Loader struct {
	// files is keyed by the cleaned spec path.
	files *filecache.Cache[string, struct{}, *Plan]
	fsys  fs.FS
	dir   string
}

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
	l := &Loader{fsys: cfg.FS, dir: cfg.Dir}
	var err error
	l.files, err = filecache.New(filecache.Config[string, struct{}, *Plan]{
		FS:       cfg.FS,
		Recheck:  cfg.Recheck,
		Clock:    cfg.Clock,
		MaxBytes: MaxTasksBytes,
		// The key is cleaned; locate finds the tasks file it leads to.
		Name: func(key string, _ struct{}) (string, error) { return l.locate(key) },
		Parse: func(_ string, _ struct{}, name string, data []byte) (*Plan, error) {
			p, err := Parse(data, name)
			if err != nil {
				logger.Warn("tasks file does not parse", "file", name, "err", err)
			}
			return p, err
		},
	})
	if err != nil {
		return nil, err
	}
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
		return "", l.statErr(p, err)
	}
	if fi.IsDir() {
		p = path.Join(p, TasksFile)
		if fi, err = fs.Stat(l.fsys, p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%w: %q has no %s; pass a spec folder that holds one", ErrNotFound, path.Dir(p), TasksFile)
			}
			return "", l.statErr(p, err)
		}
	}
	if !fi.Mode().IsRegular() || !strings.HasSuffix(p, ".md") {
		return "", fmt.Errorf("%w: %q must be a spec folder holding %s, or a markdown file", ErrInvalidArgument, p, TasksFile)
	}
	return p, nil
}

// statErr is the error of spec path p that cannot be examined because of
// err.
func (l *Loader) statErr(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q does not exist in the project folder; pass the spec folder relative to it, for example .praxis-os/specs/2025-10-13-my-feature", ErrNotFound, p)
	}
	if l.escapes(p) {
		return fmt.Errorf("%w: %q leads outside the project folder (through a symlink); pass a spec inside it", ErrInvalidArgument, p)
	}
	return fmt.Errorf("%w: %q cannot be read: %w", ErrInvalidArgument, p, err)
}

// escapes reports whether p, which cannot be examined, passes through a
// symbolic link that the folder's file system does not follow: os.Root
// refuses one that leads outside the folder. It asks the file system, not
// the error's text (os.Root's error for it has no exported sentinel).
func (l *Loader) escapes(p string) bool {
	lfs, ok := l.fsys.(fs.ReadLinkFS)
	if !ok {
		return false
	}
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		prefix := p[:i]
		fi, err := lfs.Lstat(prefix)
		if err != nil {
			return false
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			_, err := fs.Stat(l.fsys, prefix)
			return err != nil && !errors.Is(err, fs.ErrNotExist)
		}
	}
	return false
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
	p, err := l.files.Get(ctx, key, struct{}{})
	if err != nil {
		return p, l.fileErr(err)
	}
	return p, nil
}

// fileErr turns the filecache's error of a tasks file that could not be
// read into this package's; other errors pass unchanged.
func (l *Loader) fileErr(err error) error {
	var fe *filecache.FileError
	switch {
	case !errors.As(err, &fe):
		return err
	case errors.Is(fe.Err, regfile.ErrNotRegular):
		return fmt.Errorf("%w: %s is not a regular file", ErrInvalidArgument, fe.Name)
	case fe.Op == "read":
		return fmt.Errorf("spec: read %s: %w", fe.Name, fe.Err)
	}
	return l.statErr(fe.Name, fe.Err)
}

// Metrics returns the plan cache's counters. Loads counts looks at files;
// Parses counts how many of them parsed markdown.
func (l *Loader) Metrics() metrics.Snapshot { return l.files.Metrics() }

// Parses returns how many times a tasks file has been parsed.
func (l *Loader) Parses() int64 { return l.files.Parses() }

// Close stops the cache's background goroutine. The Loader must not be used
// afterwards.
func (l *Loader) Close() { l.files.Close() }
