package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/internal/filecache"
	"github.com/mcpflow/mcpflow/internal/regfile"
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
	Clock shard.Clock
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
// filecache.Cache's lock-free lookup. Then one caller opens the file and
// compares its modification time and size with the stamp the cached gate
// was parsed from: an unchanged file is not parsed again, a changed one is
// parsed exactly once, and every other caller for that gate waits for that
// look and shares its result. An edit is therefore served at most Recheck
// after it is written. A file that does not parse is remembered with its
// stamp too, so a broken gate is parsed once per change, not once per call.
type Loader struct {
	// files is keyed by id<<32 | phase, where id is the workflow's number
	// in ids: an integer key hashes several times faster than a (string,
	// int) struct, and building it allocates nothing.
	files *filecache.Cache[int64, gateKey, *Gate]
	// ids numbers the workflow names seen, from 1; every key is a
	// WorkflowName's.
	ids    *xsync.Map[string, int64]
	nextID atomic.Int64
}

type gateKey struct {
	workflow string
	phase    int
}

// MaxPhase is the largest phase number a Loader accepts.
const MaxPhase = math.MaxInt32

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
	files, err := filecache.New(filecache.Config[int64, gateKey, *Gate]{
		FS:       cfg.FS,
		Recheck:  cfg.Recheck,
		Clock:    cfg.Clock,
		MaxBytes: MaxGateBytes,
		Name: func(_ int64, k gateKey) (string, error) {
			return path.Join(k.workflow, "phases", strconv.Itoa(k.phase), GateFile), nil
		},
		Parse: func(_ int64, k gateKey, name string, data []byte) (*Gate, error) {
			g, err := ParseGate(data, name)
			if err != nil {
				logger.Warn("gate does not parse", "workflow", k.workflow, "phase", k.phase, "err", err)
			}
			return g, err
		},
		Absent: func(int64, gateKey, string) *Gate { return PermissiveGate() },
	})
	if err != nil {
		return nil, err
	}
	return &Loader{files: files, ids: xsync.NewMap[string, int64]()}, nil
}

// Gate returns the gate of a workflow's phase: the parsed
// gate-definition.yaml, or PermissiveGate with Source "none" when the phase
// has no gate file. The error wraps ErrInvalidGate when the file does not
// parse, ErrInvalidArgument when phase is out of range, or the file
// system's error when the file cannot be read. workflow was checked where
// it entered the program (ParseWorkflowName); Gate takes it as it is.
func (l *Loader) Gate(ctx context.Context, workflow WorkflowName, phase int) (*Gate, error) {
	if phase < 0 || phase > MaxPhase {
		return nil, fmt.Errorf("%w: phase must be from 0 to %d, got %d", ErrInvalidArgument, MaxPhase, phase)
	}
	id, ok := l.ids.Load(workflow.name)
	if !ok {
		id, _ = l.ids.LoadOrCompute(workflow.name, func() (int64, bool) { return l.nextID.Add(1), false })
	}
	// One lookup, which counts one hit, miss or coalesced wait.
	g, err := l.files.Get(ctx, id<<32|int64(phase), gateKey{workflow.name, phase})
	if err != nil {
		return g, fileErr(err)
	}
	return g, nil
}

// fileErr turns the filecache's error of a gate file that could not be
// read into this package's; other errors pass unchanged. Such errors are
// not cached: the next call looks again.
func fileErr(err error) error {
	var fe *filecache.FileError
	if !errors.As(err, &fe) {
		return err
	}
	if errors.Is(fe.Err, regfile.ErrNotRegular) {
		return fmt.Errorf("%w: %s is not a regular file (a folder, a named pipe or a device); gate-definition.yaml must be a YAML file", ErrInvalidGate, fe.Name)
	}
	return fmt.Errorf("checkpoint: %s %s: %w", fe.Op, fe.Name, fe.Err)
}

// Forget drops every cached gate of workflow, so that the next Gate call
// for it looks at the files at once rather than after Recheck.
func (l *Loader) Forget(workflow WorkflowName) {
	id, ok := l.ids.Load(workflow.name)
	if !ok {
		return
	}
	l.files.Forget(func(k int64) bool { return k>>32 == id })
}

// Metrics returns the gate cache's counters. Loads counts looks at gate
// files; Parses counts how many of them parsed YAML.
func (l *Loader) Metrics() metrics.Snapshot {
	return l.files.Metrics()
}

// Parses returns how many times a gate file has been parsed.
func (l *Loader) Parses() int64 {
	return l.files.Parses()
}

// Close stops the cache's background goroutine. The Loader must not be used
// afterwards.
func (l *Loader) Close() {
	l.files.Close()
}

// ValidName reports whether name can be a workflow folder name: 1 to 128
// letters, digits, '_', '-' or '.', not starting with '.'. Such a name
// cannot climb out of the workflows folder or name an absolute path. It
// filters names that are only listed (folder entries, completions); a
// name the program goes on to use is made a WorkflowName by
// ParseWorkflowName.
func ValidName(name string) bool {
	countNameCheck()
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
