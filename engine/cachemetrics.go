package engine

import (
	"maps"

	"github.com/mcpflow/mcpflow/metrics"
)

// cacheReporter is a state store that keeps caches of its own and reports
// their counters by name (filestore.Store does).
type cacheReporter interface {
	Metrics() map[string]metrics.Snapshot
}

// storeMetrics adds the state store's caches' counters to out, when the
// store reports them.
func (e *Engine) storeMetrics(out map[string]metrics.Snapshot) {
	if r, ok := e.store.(cacheReporter); ok {
		maps.Copy(out, r.Metrics())
	}
}

// Parses returns, for each file cache, named as in Metrics ("gates",
// "metadata", "example_specs" and, with a project folder, "specs"), how
// many times a file has been parsed since the engine started: a file is
// parsed once per version, however many calls read it.
func (e *Engine) Parses() map[string]int64 {
	out := map[string]int64{
		"gates":    e.gates.Parses(),
		"metadata": e.meta.Parses(),
	}
	if e.examples != nil {
		out["example_specs"] = e.examples.Parses()
	}
	if e.specs != nil {
		out["specs"] = e.specs.Parses()
	}
	return out
}
