package engine

import (
	"log/slog"
	"time"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/shard"
)

// DefaultSessionTTL is how long an idle session stays in memory when
// Config.SessionTTL is 0.
const DefaultSessionTTL = time.Hour

// DefaultMaxEvidenceBytes is the largest evidence, JSON-encoded, that
// CompletePhase accepts when Config.MaxEvidenceBytes is 0: 1 MiB.
const DefaultMaxEvidenceBytes = state.DefaultMaxEvidenceBytes

// Config configures an Engine. Only StateDir (or Store) is required.
type Config struct {
	// WorkflowsDir is the folder of workflow definitions. "" serves the
	// sample workflows built into the binary.
	WorkflowsDir string
	// ProjectDir is the project folder in which a dynamic workflow's
	// spec path (options.spec_path) is resolved, through os.Root. ""
	// leaves only the workflows' example specs.
	ProjectDir string
	// AllowGateCommands lets gates' command checks run (serve's
	// --allow-gate-commands); without it they fail naming the flag. The
	// commands run in ProjectDir.
	AllowGateCommands bool
	// StateDir is the folder of session JSON files, created (mode 0700) if
	// missing. Required unless Store is set.
	StateDir string
	// Store persists sessions. nil means a filestore.Store on StateDir.
	Store state.Store
	// SessionTTL is how long a session that nobody touches stays in
	// memory; its state stays on disk. 0 selects DefaultSessionTTL.
	SessionTTL time.Duration
	// MaxEvidenceBytes is the largest evidence CompletePhase accepts,
	// JSON-encoded. 0 selects DefaultMaxEvidenceBytes.
	MaxEvidenceBytes int
	// GateRecheck is how long a cached gate, or a cached spec plan of a
	// dynamic workflow, is trusted before its file's stamp is compared
	// again. 0 selects checkpoint.DefaultRecheck.
	GateRecheck time.Duration
	// Logger receives the engine's logs. nil discards them.
	Logger *slog.Logger
	// Clock replaces the wall clock for timestamps, TTLs and log rate
	// limits, for tests. nil means the real clock.
	Clock shard.Clock
}
