package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// ErrCommandsDisabled is wrapped by the failure of a command check when
// the server was started without --allow-gate-commands.
var ErrCommandsDisabled = errors.New("checkpoint: gate commands are disabled")

// Verdict is a check's outcome.
type Verdict string

// The verdicts of a check.
const (
	// VerdictPassed: the check found what it requires.
	VerdictPassed Verdict = "passed"
	// VerdictFailed: it did not, and the check is strict, so the gate fails.
	VerdictFailed Verdict = "failed"
	// VerdictWarned: it did not, and the check is lenient, so the gate
	// reports a warning and may pass.
	VerdictWarned Verdict = "warned"
)

// CheckResult is one check's outcome in a gate result.
type CheckResult struct {
	// Name is checks[i].kind, as the gate file lists the check.
	Name string
	// Kind is the check's kind.
	Kind CheckKind
	// Line is the check's line in the gate file.
	Line int
	// Verdict is passed, failed or warned.
	Verdict Verdict
	// Strict is whether a failure of this check fails the gate.
	Strict bool
	// Message says what the check found.
	Message string
	// Remediation says what to do to pass it; "" when it passed.
	Remediation string
	// Method says how changes were detected: "git", "git+mtime" (git, with
	// the modification times of files already dirty when the phase
	// opened) or "mtime"; "" for other kinds.
	Method string
	// Output is the tail of a command's output.
	Output string
	// TimedOut is true when a command was killed at its timeout.
	TimedOut bool
}

// PhaseStart is what the project looked like when a phase opened: the
// reference of the changed-files, git and bypass checks.
type PhaseStart struct {
	// OpenedAt is when the phase opened, by the wall clock (file
	// modification times are compared with it).
	OpenedAt time.Time
	// Git is true when the project folder is in a git work tree.
	Git bool
	// Head is the commit HEAD named; "" in a repository without commits.
	Head string
	// Dirty is true when the work tree had uncommitted changes.
	Dirty bool
}

// CheckerConfig configures a Checker.
type CheckerConfig struct {
	// Dir is the project folder (serve's --root) in which checks look.
	// "" leaves the checker without a project: every check then fails
	// saying so.
	Dir string
	// AllowCommands lets command checks run (serve's
	// --allow-gate-commands). Without it a command check fails naming
	// the flag.
	AllowCommands bool
	// Git is the git program; "" looks git up in PATH.
	Git string
	// Ignore lists folders whose changes are not the work's: the server's
	// own session state, when it lies inside Dir. Folders outside Dir are
	// left out.
	Ignore []string
	// Logger receives what the checks could not do. nil discards it.
	Logger *slog.Logger
}

// Checker performs the checks gates declare, in the project folder.
//
// A Checker is safe for concurrent use by multiple goroutines without
// additional locking; it holds no lock while a check runs, so checks of
// different sessions run in parallel. It does not serialize the checks of
// one session: its caller does (the engine runs a session's checks under
// that session's own lock, so concurrent completions of one phase run a
// command once). Create one with NewChecker and release it with Close.
type Checker struct {
	dir   string   // absolute project folder, or ""
	root  *os.Root // nil without a project
	allow bool
	git   string
	// ignore holds folders relative to dir, with forward slashes.
	ignore []string
	log    *slog.Logger
	stats  [len(allKinds)]kindStats
}

// allKinds numbers every kind for the statistics.
var allKinds = [...]CheckKind{KindFilesExist, KindFilesChanged, KindGit, KindTestReport, KindCommand, KindBypass}

type kindStats struct{ run, failed, timedOut atomic.Int64 }

// CheckStats counts the checks of one kind since the Checker was made.
type CheckStats struct {
	Kind CheckKind
	// Run counts checks performed; Failed those whose verdict was failed
	// or warned; TimedOut commands killed at their timeout.
	Run, Failed, TimedOut int64
}

// NewChecker returns a Checker for cfg.Dir.
func NewChecker(cfg CheckerConfig) (*Checker, error) {
	c := &Checker{allow: cfg.AllowCommands, git: cfg.Git, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.git == "" {
		c.git = "git"
	}
	if cfg.Dir != "" {
		dir, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("%w: project folder %s: %w", ErrInvalidArgument, cfg.Dir, err)
		}
		if c.root, err = os.OpenRoot(dir); err != nil {
			return nil, fmt.Errorf("%w: project folder %s cannot be opened: %w", ErrInvalidArgument, dir, err)
		}
		c.dir = dir
		for _, ig := range cfg.Ignore {
			if ig == "" {
				continue
			}
			abs, err := filepath.Abs(ig)
			if err != nil {
				continue
			}
			if rel, err := filepath.Rel(dir, abs); err == nil && rel != "." && filepath.IsLocal(rel) {
				c.ignore = append(c.ignore, filepath.ToSlash(rel))
			}
		}
	}
	return c, nil
}

// Close releases the project folder.
func (c *Checker) Close() error {
	if c == nil || c.root == nil {
		return nil
	}
	return c.root.Close()
}

// AllowsCommands reports whether command checks may run.
func (c *Checker) AllowsCommands() bool { return c != nil && c.allow }

// Stats returns the counters of every kind, in a fixed order.
func (c *Checker) Stats() []CheckStats {
	out := make([]CheckStats, len(allKinds))
	for i, k := range allKinds {
		out[i] = CheckStats{Kind: k}
		if c != nil {
			out[i].Run, out[i].Failed, out[i].TimedOut = c.stats[i].run.Load(), c.stats[i].failed.Load(), c.stats[i].timedOut.Load()
		}
	}
	return out
}

func (c *Checker) count(k CheckKind) *kindStats {
	for i, x := range allKinds {
		if x == k {
			return &c.stats[i]
		}
	}
	return &c.stats[0]
}

// OpenPhase records what the project looks like now, for a phase that
// opens with gate g: git's HEAD and whether the work tree is dirty, or
// only the time where the project is not in git (or git cannot run). Git
// is asked only when g has a check that compares with the phase's start
// (NeedsGit), so phases without such checks cost no process; a nil g is
// such a gate.
func (c *Checker) OpenPhase(ctx context.Context, g *Gate) PhaseStart {
	ps := PhaseStart{OpenedAt: time.Now().UTC()}
	if c == nil || c.root == nil || g != nil && !g.NeedsGit() {
		return ps
	}
	head, dirty, ok := c.gitStatus(ctx)
	ps.Git, ps.Head, ps.Dirty = ok, head, dirty
	return ps
}

// Run performs g's checks against evidence and the phase's start and
// returns one result per check, in the gate's order. It never fails: what
// goes wrong is in a result. Run holds no lock.
func (c *Checker) Run(ctx context.Context, g *Gate, evidence map[string]any, start PhaseStart) []CheckResult {
	if g == nil || len(g.Checks) == 0 {
		return nil
	}
	out := make([]CheckResult, len(g.Checks))
	for i := range g.Checks {
		ch := &g.Checks[i]
		strict := g.Strict
		if ch.Strict != nil {
			strict = *ch.Strict
		}
		r := CheckResult{Name: ch.Name(i), Kind: ch.Kind, Line: ch.Line, Strict: strict}
		var f *failure
		if c == nil || c.root == nil {
			f = fail("the server has no project folder to look in", "start mcpflow serve with --root set to the project folder")
		} else {
			f = c.run(ctx, ch, evidence, start, &r)
		}
		st := c.stats0(ch.Kind)
		if st != nil {
			st.run.Add(1)
			if r.TimedOut {
				st.timedOut.Add(1)
			}
		}
		if f == nil {
			r.Verdict = VerdictPassed
		} else {
			if st != nil {
				st.failed.Add(1)
			}
			r.Message, r.Remediation = f.msg, f.fix
			r.Verdict = VerdictWarned
			if strict {
				r.Verdict = VerdictFailed
			}
		}
		out[i] = r
	}
	return out
}

func (c *Checker) stats0(k CheckKind) *kindStats {
	if c == nil {
		return nil
	}
	return c.count(k)
}

// failure is why a check failed and what to do.
type failure struct{ msg, fix string }

func fail(msg, fix string) *failure { return &failure{msg, fix} }

func (c *Checker) run(ctx context.Context, ch *Check, ev map[string]any, start PhaseStart, r *CheckResult) *failure {
	switch ch.Kind {
	case KindFilesExist:
		return c.filesExist(ch, ev, r)
	case KindFilesChanged:
		return c.filesChanged(ctx, ch, ev, start, r)
	case KindBypass:
		return c.bypass(ctx, start, r)
	case KindGit:
		return c.gitState(ctx, ch, start, r)
	case KindTestReport:
		return c.testReport(ch, ev, start, r)
	case KindCommand:
		return c.command(ctx, ch, r)
	}
	return fail(fmt.Sprintf("unknown check kind %q", ch.Kind), "fix the gate file")
}

// Apply adds check results to a Result from Validate: a failed check's
// message joins Errors and fails the gate, a warned one joins Warnings;
// the remediation names what to fix.
func Apply(r *Result, checks []CheckResult) {
	r.Checks = checks
	var fixes []string
	for i := range checks {
		ch := &checks[i]
		switch ch.Verdict {
		case VerdictFailed:
			r.Errors = append(r.Errors, ch.Name+": "+ch.Message)
			r.CheckpointPassed = false
			fixes = append(fixes, ch.Name+": "+ch.Remediation)
		case VerdictWarned:
			r.Warnings = append(r.Warnings, "lenient: "+ch.Name+": "+ch.Message)
		}
	}
	if len(fixes) == 0 {
		return
	}
	if r.Remediation == "" {
		r.Remediation = "Fix what the server found, then resubmit the phase's evidence: " + strings.Join(fixes, "; ")
		return
	}
	r.Remediation += " Also fix what the server found: " + strings.Join(fixes, "; ")
}

// evidencePaths returns the paths an evidence field holds: a string or a
// list of strings, each project-relative.
func evidencePaths(ev map[string]any, field string) ([]string, *failure) {
	v, ok := ev[field]
	if !ok || v == nil {
		return nil, fail(fmt.Sprintf("evidence field %s is missing; it must name the path(s) to check", field), "add "+field+" to the evidence: a project-relative path or a list of them")
	}
	var list []string
	switch x := v.(type) {
	case string:
		list = []string{x}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fail(fmt.Sprintf("evidence field %s must hold paths (strings), and holds %s", field, typeName(e)), "give "+field+" as a path or a list of paths")
			}
			list = append(list, s)
		}
	default:
		return nil, fail(fmt.Sprintf("evidence field %s must be a path or a list of paths, got %s", field, typeName(v)), "give "+field+" as a path or a list of paths")
	}
	for i, s := range list {
		if msg := badPath(s); msg != "" {
			at := field
			if _, isList := v.([]any); isList {
				at = fmt.Sprintf("%s[%d]", field, i)
			}
			return nil, fail("evidence field "+at+": "+msg, "give paths relative to the project folder, without .. and not absolute")
		}
	}
	return list, nil
}

// statInRoot stats name inside the project folder, following symlinks
// only while they stay inside it.
func (c *Checker) statInRoot(name string) (fs.FileInfo, *failure) {
	fi, err := c.root.Stat(name)
	if err == nil {
		return fi, nil
	}
	if link := c.symlinkOn(name); link != "" && !errors.Is(err, fs.ErrNotExist) {
		return nil, fail(fmt.Sprintf("%s: %s is a symlink that leads out of the project folder; it is refused", name, link), "make "+name+" a real file inside the project folder")
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(name+" does not exist in the project folder", "create "+name+", or correct the path")
	}
	return nil, fail(fmt.Sprintf("%s cannot be read inside the project folder: %v", name, err), "make "+name+" a readable file inside the project folder")
}

// symlinkOn returns the first element of name's path that is a symlink,
// or "".
func (c *Checker) symlinkOn(name string) string {
	prefix := ""
	for el := range strings.SplitSeq(name, "/") {
		prefix = path.Join(prefix, el)
		fi, err := c.root.Lstat(prefix)
		if err != nil {
			return ""
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return prefix
		}
	}
	return ""
}

// ignored reports whether a project-relative path lies in an ignored
// folder.
func (c *Checker) ignored(name string) bool {
	for _, ig := range c.ignore {
		if name == ig || strings.HasPrefix(name, ig+"/") {
			return true
		}
	}
	return false
}
