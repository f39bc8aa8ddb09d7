package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/state"
)

const sessionsDetails = `
Lists the sessions of the state folder (--state, else <root>/.mcpflow/state,
else a prAxIs OS project's <root>/.praxis-os/.cache/state, where serve keeps
them) or of Redis (--state redis://...), read
directly: no server is needed, and one may be running. Sessions whose phase
awaits a human's approval come first, then the others, newest --status filters: active, completed, error (the last gate
attempt failed), paused or awaiting (a phase awaits approval).`

const sessionDetails = `
Shows one session: its workflow, target, status and progress, the phase
that awaits approval if any, each phase's evidence and gate result, and the
history of approvals and rejections.`

const decideDetails = `
Records a human's decision on a phase whose evidence passed a gate that
requires approval. approve completes the phase and opens the next one;
reject keeps the phase open and shows the comment to the agent first. The
decision joins the session's history with who decided, when, the comment
and the evidence decided on. It works while a server runs on the same state
folder or Redis: its agents see the decision on their next call.`

// statusAwaiting is the --status value for sessions awaiting approval.
const statusAwaiting = "awaiting"

// storeFlags are the flags that find the session store.
func addStoreFlags(c *command, f *folderFlags) *logFlags {
	c.fs.StringVar(&f.root, "root", ".", "project `folder` holding .mcpflow/{workflows,state} (or a prAxIs OS project's .praxis-os/)")
	c.fs.StringVar(&f.workflows, "workflows", "", "workflows `folder` (default <root>/.mcpflow/workflows, else built-in samples)")
	c.fs.StringVar(&f.state, "state", "", "session state `folder` (default <root>/.mcpflow/state, or .praxis-os/.cache/state in a prAxIs OS project), or the redis://HOST:PORT/DB URL the server uses")
	return addLogFlags(c.fs, "warn")
}

// openEngine opens an engine on the session store the flags name, without
// creating anything and without disturbing a server that runs on it.
func openEngine(ctx context.Context, c *command, f folderFlags, log *slog.Logger) (*engine.Engine, func(), error) {
	n := c.flagName
	var store state.Store
	var closeStore func() error
	var stateDir string
	stateFlag := f.state
	if redisstore.IsURL(stateFlag) {
		o, err := redisstore.ParseURL(stateFlag)
		if err != nil {
			return nil, nil, usagef("%s: %v", n("state"), err)
		}
		o.Logger = log.With("component", "redis")
		rs, err := redisstore.Open(ctx, o)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", n("state"), o, err)
		}
		store, closeStore, stateDir = rs, rs.Close, rs.String()
		f.state = ""
	}
	dirs, err := f.resolve(false)
	if err != nil {
		if closeStore != nil {
			_ = closeStore()
		}
		return nil, nil, err
	}
	if store == nil {
		stateDir = f.state
		if stateDir == "" {
			// serve's folder; in a prAxIs OS project that no server has
			// run in since the move, the older .praxis-os/state.
			var legacy string
			stateDir, legacy = defaultStateDir(projectBase(dirs.root))
			if _, err := os.Stat(stateDir); errors.Is(err, fs.ErrNotExist) && legacy != "" {
				if fi, err := os.Stat(legacy); err == nil && fi.IsDir() {
					stateDir = legacy
				}
			}
		} else if stateDir, err = filepath.Abs(stateDir); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", n("state"), err)
		}
		fsx, err := filestore.OpenShared(stateDir)
		if err != nil {
			if errors.Is(err, state.ErrNotFound) {
				return nil, nil, fmt.Errorf("no state folder %s: no session was started in this project; run in the project folder, or set %s or %s", stateDir, n("root"), n("state"))
			}
			return nil, nil, fmt.Errorf("%s: %w", n("state"), err)
		}
		store, closeStore = fsx, fsx.Close
	}
	eng, err := engine.New(engine.Config{WorkflowsDir: dirs.workflows, ProjectDir: dirs.root, Store: store, Logger: log.With("component", "engine")})
	if err != nil {
		_ = closeStore()
		return nil, nil, fmt.Errorf("workflows %s, state %s: %w", show(dirs.workflows), stateDir, err)
	}
	return eng, func() { _ = eng.Close(); _ = closeStore() }, nil
}

// sessionLine is one session of "mcpflow sessions --json".
type sessionLine struct {
	SessionID        string `json:"session_id"`
	WorkflowType     string `json:"workflow_type"`
	TargetFile       string `json:"target_file"`
	Status           string `json:"status" jsonschema:"active, completed or error"`
	CurrentPhase     int    `json:"current_phase"`
	PhaseNumber      int    `json:"phase_number" jsonschema:"the current phase's position, 1 to total_phases"`
	TotalPhases      int    `json:"total_phases"`
	AwaitingApproval *int   `json:"awaiting_approval,omitempty"`
	UpdatedAt        string `json:"updated_at"`
	Error            string `json:"error,omitempty"`
}

func sessionsCmd(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) (*command, error) {
	c := newCommand("sessions", "", "List the sessions, pending approvals first, without a server.", sessionsDetails)
	var (
		f      folderFlags
		status choiceFlag
		asJSON bool
		most   int
	)
	status = choiceFlag{v: "all", choices: []string{"all", "active", "completed", engine.StatusGateFailed, engine.StatusPaused, statusAwaiting}}
	c.fs.Var(&status, "status", "only sessions with this `status`: all, active, completed, error (gate failed), paused or awaiting (approval)")
	c.fs.IntVar(&most, "limit", 1000, "most sessions listed")
	c.fs.BoolVar(&asJSON, "json", false, "print the sessions as JSON")
	lf := addStoreFlags(c, &f)
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("unexpected argument %q; sessions takes only flags (mcpflow session ID shows one)", pos[0])
	}
	eng, done, err := openEngine(ctx, c, f, lf.logger(stderr))
	if err != nil {
		return c, err
	}
	defer done()
	filter := status.v
	switch filter {
	case "all":
		filter = ""
	case statusAwaiting:
		filter = string(state.StatusActive)
	}
	if most < 1 {
		return c, usagef("%s %d: must be at least 1", c.flagName("limit"), most)
	}
	list, truncated, err := eng.AllSessions(ctx, state.Status(filter), most)
	if err != nil {
		return c, err
	}
	if truncated {
		_, _ = fmt.Fprintf(stderr, "mcpflow sessions: only the newest %d sessions are listed; raise %s to see more\n", most, c.flagName("limit"))
	}
	lines := make([]sessionLine, 0, len(list))
	for i := range list {
		x := &list[i]
		if status.v == statusAwaiting && x.AwaitingApproval == nil {
			continue
		}
		l := sessionLine{SessionID: x.SessionID, WorkflowType: x.WorkflowType, TargetFile: x.TargetFile, CurrentPhase: x.CurrentPhase,
			AwaitingApproval: x.AwaitingApproval, UpdatedAt: x.UpdatedAt.UTC().Format(time.RFC3339), Error: x.Error}
		l.Status = string(state.SessionStatus(x.Status, x.Paused, x.GateFailed))
		if sid, err := state.ParseSessionID(x.SessionID); err == nil && x.Error == "" {
			if v, err := eng.StateWithProgress(ctx, sid); err == nil {
				l.TotalPhases = v.TotalPhases
				l.PhaseNumber = min(len(v.CompletedPhases)+1, max(v.TotalPhases, 1))
			}
		}
		lines = append(lines, l)
	}
	// Pending approvals first, oldest first; the rest keep their order.
	slices.SortStableFunc(lines, func(a, b sessionLine) int {
		return cmp.Compare(boolRank(a.AwaitingApproval == nil), boolRank(b.AwaitingApproval == nil))
	})
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return c, enc.Encode(map[string]any{"sessions": lines, "count": len(lines)})
	}
	if len(lines) == 0 {
		_, err := fmt.Fprintln(stdout, "no sessions")
		return c, err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "SESSION\tWORKFLOW\tTARGET\tSTATUS\tPROGRESS\tUPDATED")
	for i := range lines {
		l := &lines[i]
		st := l.Status
		if l.AwaitingApproval != nil {
			st = fmt.Sprintf("AWAITING APPROVAL (phase %d)", *l.AwaitingApproval)
		}
		if l.Error != "" {
			st = "unreadable: " + l.Error
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.SessionID, oneLine(l.WorkflowType), oneLine(l.TargetFile), st, progress(l.CurrentPhase, l.PhaseNumber, l.TotalPhases, l.Status), l.UpdatedAt)
	}
	return c, tw.Flush()
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// progress is "phase N of M".
func progress(current, n, total int, status string) string {
	if status == string(state.StatusCompleted) {
		return fmt.Sprintf("done, %d of %d", total, total)
	}
	if total == 0 {
		return "phase " + strconv.Itoa(current)
	}
	return fmt.Sprintf("phase %d of %d (phase_number %d)", n, total, current)
}

// sessionDoc is "mcpflow session ID --json".
type sessionDoc struct {
	*state.SessionState
	TotalPhases      int              `json:"total_phases"`
	AwaitingApproval *state.Awaiting  `json:"awaiting_approval"`
	Decisions        []state.Decision `json:"decisions"`
}

func sessionCmd(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) (*command, error) {
	c := newCommand("session", "ID", "Show one session: progress, evidence, gate results, approvals.", sessionDetails)
	var (
		f      folderFlags
		asJSON bool
	)
	c.fs.BoolVar(&asJSON, "json", false, "print the session as JSON")
	lf := addStoreFlags(c, &f)
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef("give one session ID (mcpflow sessions lists them), got %d arguments", len(pos))
	}
	sid, err := state.ParseSessionID(pos[0])
	if err != nil {
		return c, usagef("ID %q: must be a session UUID; mcpflow sessions lists them", pos[0])
	}
	eng, done, err := openEngine(ctx, c, f, lf.logger(stderr))
	if err != nil {
		return c, err
	}
	defer done()
	v, err := eng.StateWithProgress(ctx, sid)
	if err != nil {
		return c, err
	}
	st := v.SessionState
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return c, enc.Encode(sessionDoc{SessionState: st, TotalPhases: v.TotalPhases, AwaitingApproval: st.Awaiting, Decisions: st.Decisions})
	}
	w := &errWriter{w: stdout}
	w.printf("session   %s\nworkflow  %s\ntarget    %s\nstatus    %s\n", st.SessionID, oneLine(st.WorkflowType), oneLine(st.TargetFile), st.Status)
	w.printf("progress  %s\n", progress(st.CurrentPhase, min(len(st.CompletedPhases)+1, max(v.TotalPhases, 1)), v.TotalPhases, string(st.Status)))
	w.printf("created   %s\nupdated   %s\n", st.CreatedAt.UTC().Format(time.RFC3339), st.UpdatedAt.UTC().Format(time.RFC3339))
	if a := st.Awaiting; a != nil {
		w.printf("\nAWAITING APPROVAL: phase %d since %s\n  mcpflow approve %s %d [--comment ...]\n  mcpflow reject %s %d --comment WHY\n",
			a.Phase, a.RequestedAt.UTC().Format(time.RFC3339), st.SessionID, a.Phase, st.SessionID, a.Phase)
	}
	phases := make([]int, 0, len(st.Checkpoints))
	for p := range st.Checkpoints {
		phases = append(phases, p)
	}
	for p := range st.PhaseArtifacts {
		if _, ok := st.Checkpoints[p]; !ok {
			phases = append(phases, p)
		}
	}
	slices.Sort(phases)
	for _, p := range phases {
		w.printf("\nphase %d: gate %s", p, cmp.Or(string(st.Checkpoints[p]), "-"))
		if st.Awaiting != nil && st.Awaiting.Phase == p {
			w.printf(", awaiting approval")
		}
		w.printf("\n")
		if a := st.PhaseArtifacts[p]; a != nil {
			ev, _ := json.Marshal(a.Evidence)
			w.printf("  evidence (%s, attempt %d): %s\n", a.Timestamp.UTC().Format(time.RFC3339), a.Attempts, oneLine(string(ev)))
			for _, e := range a.Errors {
				w.printf("  gate error: %s\n", oneLine(e))
			}
		}
	}
	if len(st.Decisions) > 0 {
		w.printf("\nhistory:\n")
		for _, d := range st.Decisions {
			w.printf("  %s phase %d %s by %s", d.At.UTC().Format(time.RFC3339), d.Phase, d.Decision, oneLine(d.By))
			if d.Comment != "" {
				w.printf(": %s", oneLine(d.Comment))
			}
			w.printf("\n")
		}
	}
	return c, w.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// decideCmd is "mcpflow approve" and "mcpflow reject".
func decideCmd(ctx context.Context, name string, args []string, getenv env, stdout, stderr io.Writer) (*command, error) {
	decision, summary := state.DecisionApproved, "Approve a phase that awaits a human's approval."
	if name == "reject" {
		decision, summary = state.DecisionRejected, "Reject a phase that awaits approval, with a comment for the agent."
	}
	c := newCommand(name, "SESSION PHASE", summary, decideDetails)
	var (
		f       folderFlags
		comment string
		as      string
	)
	c.fs.StringVar(&comment, "comment", "", "why: shown to the agent (first, on a rejection) and kept in the history")
	c.fs.StringVar(&as, "as", "", "`name` of who decides (default: $USER)")
	lf := addStoreFlags(c, &f)
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	if len(pos) != 2 {
		return c, usagef("give SESSION and PHASE, e.g. mcpflow %s 123e4567-e89b-42d3-a456-426614174000 1; got %d arguments", name, len(pos))
	}
	sid, err := state.ParseSessionID(pos[0])
	if err != nil {
		return c, usagef("SESSION %q: must be a session UUID; mcpflow sessions --status awaiting lists them", pos[0])
	}
	phase, err := strconv.Atoi(pos[1])
	if err != nil || phase < 0 {
		return c, usagef("PHASE %q: must be a phase number, 0 or more", pos[1])
	}
	if decision == state.DecisionRejected && strings.TrimSpace(comment) == "" {
		return c, usagef("%s: a rejection needs a comment that tells the agent what to fix", c.flagName("comment"))
	}
	if as == "" {
		as = cmp.Or(getenv("USER"), os.Getenv("USER"), "cli")
	}
	eng, done, err := openEngine(ctx, c, f, lf.logger(stderr))
	if err != nil {
		return c, err
	}
	defer done()
	r, err := eng.Decide(ctx, sid, phase, decision, as, comment)
	if err != nil {
		var fe *state.FieldError
		if errors.As(err, &fe) && fe.Field == "by" {
			return c, usagef("%s: %s", c.flagName("as"), fe.Problem)
		}
		if errors.As(err, &fe) && fe.Field == "comment" {
			return c, usagef("%s: %s", c.flagName("comment"), fe.Problem)
		}
		return c, err
	}
	switch {
	case r.WorkflowComplete:
		_, err = fmt.Fprintf(stdout, "phase %d of session %s approved by %s; the workflow is complete\n", phase, sid, r.Decision.By)
	case r.NextPhase != nil:
		_, err = fmt.Fprintf(stdout, "phase %d of session %s approved by %s; the session is on phase %d\n", phase, sid, r.Decision.By, *r.NextPhase)
	default:
		_, err = fmt.Fprintf(stdout, "phase %d of session %s rejected by %s; the phase stays open\n", phase, sid, r.Decision.By)
	}
	return c, err
}
