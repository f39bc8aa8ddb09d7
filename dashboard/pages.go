package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/ragcache"
)

// page is what every template receives.
type page struct {
	Title, CSRF, Error, Notice string
	Auth, Truncated            bool
	ApproveCommand             string
	// Since is the sessions' fingerprint taken before the page read
	// them; the page's script opens /events?since= with it, so a change
	// between the render and the stream is not missed.
	Since string

	// index
	Status    string
	Statuses  []string
	Sessions  []row
	Approvals []row
	Query     string
	Results   []ragcache.Chunk
	Searched  bool
	Search    bool
	Caches    []cacheRow

	// session
	S       *engine.StateView
	Phases  []phaseRow
	Current *engine.PhaseView
}

// row is one session in a list.
type row struct {
	state.SessionSummary
	Total, N int
	Awaiting bool
	Phase    int
	Label    string
}

type phaseRow struct {
	Phase      int
	Checkpoint string
	Awaiting   bool
	Artifact   *state.PhaseArtifact
}

type cacheRow struct {
	Name string
	metrics.Snapshot
}

var funcs = map[string]any{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	// pretty is JSON as text (html/template escapes it where it lands).
	"pretty": func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Sprint(v)
		}
		return strings.TrimSpace(b.String())
	},
	"pct": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"decideArgs": func(csrf, id string, phase int, back string) decideArgs {
		return decideArgs{CSRF: csrf, ID: id, Phase: phase, Back: back}
	},
}

// decideArgs are the approve/reject form's values.
type decideArgs struct {
	CSRF, ID string
	Phase    int
	Back     string
}

func mustSub(dir string) fs.FS {
	f, err := fs.Sub(assets, dir)
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	return f
}

// statuses are the index's filters.
var statuses = []string{"all", "awaiting", "active", "error", "paused", "completed"}

// MaxListed is the most sessions a page lists (the newest).
const MaxListed = 1000

func (d *Dashboard) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := &page{Since: d.since(r), Title: "Sessions", Status: r.URL.Query().Get("status"), Statuses: statuses, ApproveCommand: d.cfg.ApproveCommand,
		Notice: r.URL.Query().Get("notice"), Search: d.cfg.Index != nil}
	if !slices.Contains(statuses, p.Status) {
		p.Status = "all"
	}
	filter := p.Status
	switch filter {
	case "all":
		filter = ""
	case "awaiting":
		filter = string(state.StatusActive)
	}
	list, truncated, err := d.cfg.Engine.AllSessions(ctx, state.Status(filter), MaxListed)
	if err != nil {
		p.Error = "listing sessions: " + err.Error()
	}
	p.Truncated = truncated
	for i := range list {
		x := d.row(r, &list[i])
		if x.Awaiting {
			p.Approvals = append(p.Approvals, x)
		}
		if p.Status != "awaiting" || x.Awaiting {
			p.Sessions = append(p.Sessions, x)
		}
	}
	slices.SortStableFunc(p.Approvals, func(a, b row) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" && d.cfg.Index != nil {
		p.Query, p.Searched = q, true
		res, err := d.cfg.Index.Search(ctx, ragcache.Query{Text: q, Limit: 10})
		if err != nil {
			p.Error = "search: " + err.Error()
		}
		p.Results = res.Chunks
	}
	if d.cfg.Metrics != nil {
		m := d.cfg.Metrics()
		for name, s := range m {
			p.Caches = append(p.Caches, cacheRow{Name: name, Snapshot: s})
		}
		slices.SortFunc(p.Caches, func(a, b cacheRow) int { return strings.Compare(a.Name, b.Name) })
	}
	d.render(w, r, http.StatusOK, "index", p)
}

// row describes one listed session with its progress.
func (d *Dashboard) row(r *http.Request, x *state.SessionSummary) row {
	out := row{SessionSummary: *x, Label: string(x.Status)}
	switch {
	case x.AwaitingApproval != nil:
		out.Awaiting, out.Phase, out.Label = true, *x.AwaitingApproval, "awaiting approval"
	default:
		switch state.SessionStatus(x.Status, x.Paused, x.GateFailed) {
		case state.StatusPaused:
			out.Label = "paused"
		case state.StatusGateFailed:
			out.Label = "gate failed"
		}
	}
	if x.Error != "" {
		out.Label = "unreadable"
		return out
	}
	sid, err := state.ParseSessionID(x.SessionID)
	if err != nil {
		return out
	}
	if v, err := d.cfg.Engine.StateWithProgress(r.Context(), sid); err == nil {
		out.Total = v.TotalPhases
		out.N = min(len(v.CompletedPhases)+1, max(v.TotalPhases, 1))
		if v.Status == state.StatusCompleted {
			out.N = v.TotalPhases
		}
	}
	return out
}

func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	since := d.since(r)
	sid, err := state.ParseSessionID(r.PathValue("id"))
	var v *engine.StateView
	if err == nil {
		v, err = d.cfg.Engine.StateWithProgress(ctx, sid)
	}
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, state.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, state.ErrInvalidArgument):
			status = http.StatusBadRequest
		}
		d.render(w, r, status, "error", &page{Title: "Session", Error: err.Error()})
		return
	}
	p := &page{Since: since, Title: "Session " + v.SessionID, S: v, ApproveCommand: d.cfg.ApproveCommand, Notice: r.URL.Query().Get("notice")}
	if cur, err := d.cfg.Engine.CurrentPhase(ctx, sid); err == nil {
		p.Current = cur
	}
	seen := map[int]bool{}
	for n := range v.Checkpoints {
		seen[n] = true
	}
	for n := range v.PhaseArtifacts {
		seen[n] = true
	}
	for n := range seen {
		p.Phases = append(p.Phases, phaseRow{Phase: n, Checkpoint: string(v.Checkpoints[n]), Artifact: v.PhaseArtifacts[n],
			Awaiting: v.Awaiting != nil && v.Awaiting.Phase == n})
	}
	slices.SortFunc(p.Phases, func(a, b phaseRow) int { return a.Phase - b.Phase })
	d.render(w, r, http.StatusOK, "session", p)
}

func (d *Dashboard) decide(w http.ResponseWriter, r *http.Request) {
	if !d.checkPost(w, r) {
		return
	}
	f := r.PostForm
	id := f.Get("session")
	phase, err := strconv.Atoi(f.Get("phase"))
	back := "/session/" + url.PathEscape(id)
	if f.Get("back") == "index" {
		back = "/"
	}
	if err != nil {
		http.Error(w, "400 bad request: phase must be a number", http.StatusBadRequest)
		return
	}
	decision := f.Get("decision")
	comment := strings.TrimSpace(f.Get("comment"))
	if decision == state.DecisionRejected && comment == "" {
		d.redirect(w, r, back, "A rejection needs a comment that tells the agent what to fix.")
		return
	}
	by := strings.TrimSpace(f.Get("by"))
	if by == "" {
		by = "dashboard"
	}
	sid, err := state.ParseSessionID(id)
	var res *engine.DecisionResult
	if err == nil {
		res, err = d.cfg.Engine.Decide(r.Context(), sid, phase, decision, by, comment)
	}
	if err != nil {
		if errors.Is(err, state.ErrNotAwaiting) || errors.Is(err, state.ErrInvalidArgument) || errors.Is(err, state.ErrNotFound) {
			d.redirect(w, r, back, err.Error())
			return
		}
		d.cfg.Logger.Error("dashboard: decision failed", "session_id", id, "phase", phase, "err", err)
		http.Error(w, "500 internal error: "+err.Error(), http.StatusInternalServerError)
		return
	}
	d.cfg.Logger.Info("dashboard decision", "session_id", res.SessionID, "phase", phase, "decision", decision, "by", by)
	d.redirect(w, r, back, fmt.Sprintf("Phase %d %s.", phase, decision))
}

// redirect answers a form with a 303 to back, carrying a notice.
func (d *Dashboard) redirect(w http.ResponseWriter, r *http.Request, back, notice string) {
	http.Redirect(w, r, back+"?notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

// events streams "change" events while the sessions change: at once for
// changes this process saves, within Poll for changes of other processes.
// With ?since= (the fingerprint a page was rendered at), the stream starts
// with a change event when the sessions changed in between.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	if d.streams.Add(1) > MaxStreams {
		d.streams.Add(-1)
		http.Error(w, fmt.Sprintf("503 too many event streams (%d); close other dashboard tabs", MaxStreams), http.StatusServiceUnavailable)
		return
	}
	defer d.streams.Add(-1)
	ctx, cancel := d.ctxDone(r)
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	changed := d.cfg.Engine.Changed()
	last := d.fingerprint(r)
	hello := "retry: 2000\n: connected\n\n"
	if since := r.URL.Query().Get("since"); since != "" && since != fingerprintText(last) {
		hello += "event: change\ndata: 0\n\n"
	}
	if _, err := io.WriteString(w, hello); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			changed = d.cfg.Engine.Changed()
		case <-tick.C:
		}
		fp := d.fingerprint(r)
		if fp == last {
			// A comment keeps the stream written to: the server's write
			// deadline moves with each write, and proxies keep it open.
			if _, err := io.WriteString(w, ":\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			continue
		}
		last = fp
		if _, err := fmt.Fprintf(w, "event: change\ndata: %d\n\n", n); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// since is the fingerprint a page carries to /events?since=. Take it
// before the page reads the sessions: a change in between then makes the
// stream's first event a change, and the page refreshes.
func (d *Dashboard) since(r *http.Request) string { return fingerprintText(d.fingerprint(r)) }

func fingerprintText(fp uint64) string { return strconv.FormatUint(fp, 16) }

// fingerprint hashes what the pages show of every session's list entry.
func (d *Dashboard) fingerprint(r *http.Request) uint64 {
	list, _, err := d.cfg.Engine.AllSessions(r.Context(), "", MaxListed)
	h := fnv.New64a()
	if err != nil {
		_, _ = h.Write([]byte(err.Error()))
		return h.Sum64()
	}
	slices.SortFunc(list, func(a, b state.SessionSummary) int { return strings.Compare(a.SessionID, b.SessionID) })
	for i := range list {
		x := &list[i]
		aw := -1
		if x.AwaitingApproval != nil {
			aw = *x.AwaitingApproval
		}
		_, _ = fmt.Fprintf(h, "%s|%d|%s|%d|%d|%s\n", x.SessionID, x.UpdatedAt.UnixNano(), x.Status, x.CurrentPhase, aw, x.Error)
	}
	return h.Sum64()
}
