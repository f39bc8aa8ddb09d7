package engine

import (
	"context"
	"maps"
	"strconv"
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// PhaseStartsKey is the session metadata key under which each phase's
// start record is kept: an object keyed by phase number ("0", "1", ...),
// each {"opened_at", "git", "head", "dirty"}. prAxIs OS keeps free-form
// keys in metadata, so its from_dict reads such a file back.
const PhaseStartsKey = "phase_starts"

// content returns phase n's text and task list, with the checks its gate
// declares.
func (e *Engine) content(f *flow, n int) (*PhaseContent, error) {
	pc, err := e.phaseText(f, n)
	if err != nil {
		return nil, err
	}
	pc.Checks = []CheckInfo{}
	// The gate cache answers from memory; a gate that does not parse is
	// reported when the phase is completed.
	g, err := e.gate(context.Background(), f, n)
	if err != nil {
		return pc, nil
	}
	for i := range g.Checks {
		c := &g.Checks[i]
		strict := g.Strict
		if c.Strict != nil {
			strict = *c.Strict
		}
		pc.Checks = append(pc.Checks, CheckInfo{Name: c.Name(i), Kind: c.Kind, Strict: strict, Summary: c.Summary()})
	}
	return pc, nil
}

// openPhase records the project's state for phase n of f, which opens
// now: with git's HEAD and dirtiness when its gate has checks that need
// them. A gate that cannot be read gets the full record.
func (e *Engine) openPhase(ctx context.Context, f *flow, n int) checkpoint.PhaseStart {
	g, err := e.gate(ctx, f, n)
	if err != nil {
		g = nil
	}
	return e.checks.OpenPhase(ctx, g)
}

// setPhaseStart records in st's metadata that phase opened as ps says.
// st's metadata map and its phase_starts object are replaced, never
// changed in place, since states share them with their clones.
func setPhaseStart(st *state.SessionState, phase int, ps checkpoint.PhaseStart) {
	md := maps.Clone(st.Metadata)
	if md == nil {
		md = map[string]any{}
	}
	starts := map[string]any{}
	if old, ok := md[PhaseStartsKey].(map[string]any); ok {
		starts = maps.Clone(old)
	}
	rec := map[string]any{"opened_at": ps.OpenedAt.UTC().Format(time.RFC3339Nano), "git": ps.Git}
	if ps.Git {
		rec["head"] = ps.Head
		rec["dirty"] = ps.Dirty
	}
	starts[strconv.Itoa(phase)] = rec
	md[PhaseStartsKey] = starts
	st.Metadata = md
}

// phaseStart reads phase's start record from st. A session started
// before records were kept reads as opened at its last update, without
// git, so its checks compare modification times.
func phaseStart(st *state.SessionState) checkpoint.PhaseStart {
	ps := checkpoint.PhaseStart{OpenedAt: st.UpdatedAt}
	starts, _ := st.Metadata[PhaseStartsKey].(map[string]any)
	rec, _ := starts[strconv.Itoa(st.CurrentPhase)].(map[string]any)
	if rec == nil {
		return ps
	}
	if s, ok := rec["opened_at"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			ps.OpenedAt = t
		}
	}
	ps.Git, _ = rec["git"].(bool)
	ps.Head, _ = rec["head"].(string)
	ps.Dirty, _ = rec["dirty"].(bool)
	return ps
}

// checkRecords turns check results into what the artifact keeps.
func checkRecords(rs []checkpoint.CheckResult) []state.CheckRecord {
	if len(rs) == 0 {
		return nil
	}
	out := make([]state.CheckRecord, len(rs))
	for i := range rs {
		r := &rs[i]
		out[i] = state.CheckRecord{
			Name: r.Name, Kind: string(r.Kind), Verdict: string(r.Verdict), Strict: r.Strict, Message: r.Message,
			Remediation: r.Remediation, Method: r.Method, Output: r.Output, TimedOut: r.TimedOut,
		}
	}
	return out
}

// checkResults turns an artifact's records back into results.
func checkResults(rs []state.CheckRecord) []checkpoint.CheckResult {
	if len(rs) == 0 {
		return nil
	}
	out := make([]checkpoint.CheckResult, len(rs))
	for i := range rs {
		r := &rs[i]
		out[i] = checkpoint.CheckResult{
			Name: r.Name, Kind: checkpoint.CheckKind(r.Kind), Verdict: checkpoint.Verdict(r.Verdict), Strict: r.Strict, Message: r.Message,
			Remediation: r.Remediation, Method: r.Method, Output: r.Output, TimedOut: r.TimedOut,
		}
	}
	return out
}

// checkMemo keeps one CompletePhase call's check results across the
// attempts a conflicting save makes, so that a retried attempt on the
// same phase does not run the checks (a command) again.
type checkMemo struct {
	phase   int
	done    bool
	results []checkpoint.CheckResult
}

// CheckStats returns the counters of the gates' checks, by kind.
func (e *Engine) CheckStats() []checkpoint.CheckStats {
	return e.checks.Stats()
}
