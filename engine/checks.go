package engine

import (
	"context"
	"maps"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

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

// setPhaseStart records in st, a state of the caller's own, that phase
// opened as ps says. The map is replaced, never changed in place, since
// states share it with their clones.
func setPhaseStart(st *state.SessionState, phase int, ps checkpoint.PhaseStart) {
	starts := maps.Clone(st.Recovery.PhaseStarts)
	if starts == nil {
		starts = map[int]state.PhaseStart{}
	}
	starts[phase] = state.PhaseStart{OpenedAt: ps.OpenedAt, Git: ps.Git, Head: ps.Head, Dirty: ps.Dirty}
	st.Recovery.PhaseStarts = starts
}

// phaseStart returns the start record of st's current phase. A session
// started before records were kept (or by prAxIs OS) reads as opened at
// its last update, without git, so its checks compare modification times.
func phaseStart(st *state.SessionState) checkpoint.PhaseStart {
	ps, ok := st.Recovery.PhaseStarts[st.CurrentPhase]
	if !ok {
		return checkpoint.PhaseStart{OpenedAt: st.UpdatedAt}
	}
	return checkpoint.PhaseStart{OpenedAt: ps.OpenedAt, Git: ps.Git, Head: ps.Head, Dirty: ps.Dirty}
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
