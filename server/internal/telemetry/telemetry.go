// Package telemetry holds the server's metrics and its tool-call
// middleware: per-tool, per-transport call counters and latencies, the
// HTTP rejection counters, the caches', engine's and checks' collectors,
// all on one Prometheus registry, and the middleware that tells the engine
// who is calling, counts the call and logs it. It knows nothing of MCP
// tools beyond their names.
//
// Telemetry is safe for concurrent use without locking: its tables are
// built by New and only read afterwards, and every count is a striped
// metrics.Counter or a Prometheus collector. docs/DEPLOYMENT.md lists the
// metric names.
package telemetry

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/metrics"
)

// Transport names, as they appear in logs, metrics labels, get_server_info
// and the discovery file.
const (
	NameStdio = "stdio"
	NameHTTP  = "http"
)

// Transport indexes per-transport counters.
type Transport uint8

// The transports a call arrives over.
const (
	Stdio Transport = iota
	HTTP
	numTransports
)

// String returns the transport's name, NameStdio or NameHTTP.
func (t Transport) String() string {
	if t == Stdio {
		return NameStdio
	}
	return NameHTTP
}

// callStats counts one tool's calls over one transport. The counters are
// striped (package metrics), so concurrent calls from many clients do not
// all write one cache line.
type callStats struct {
	ok, toolErr, protoErr *metrics.Counter
	latency               prometheus.Observer
}

// Telemetry holds the server's counters and its Prometheus registry. The
// tools map is built once in New and only read afterwards, so Telemetry is
// safe for concurrent use without locking.
type Telemetry struct {
	reg      *prometheus.Registry
	tools    map[string]*[numTransports]callStats
	rejected *prometheus.CounterVec
	caches   func() map[string]metrics.Snapshot
}

// latencyBuckets spans 50 µs to about 1.2 s: a cached search answers in
// tens of microseconds, a start that reads a workflow from disk in
// milliseconds.
var latencyBuckets = prometheus.ExponentialBuckets(50e-6, 2.5, 12)

// New makes the counters of the tools named toolNames and registers, on a
// new registry, the call and rejection metrics, the Go and process
// collectors, uptime since started, the stdio requests pending (pending),
// the build info for version and every cache's snapshot (caches, which may
// be nil).
func New(version string, started time.Time, toolNames []string, caches func() map[string]metrics.Snapshot, pending func() float64) *Telemetry {
	t := &Telemetry{
		reg:    prometheus.NewRegistry(),
		tools:  make(map[string]*[numTransports]callStats, len(toolNames)),
		caches: caches,
	}
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mcpflow_tool_call_duration_seconds",
		Help:    "Time to answer one tool call, by tool and transport.",
		Buckets: latencyBuckets,
	}, []string{"tool", "transport"})
	t.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpflow_http_rejected_total",
		Help: "HTTP requests refused before reaching MCP, by reason (host, origin, token, body).",
	}, []string{"reason"})
	for _, name := range toolNames {
		var per [numTransports]callStats
		for tr := range numTransports {
			per[tr] = callStats{
				ok:       metrics.NewCounter(),
				toolErr:  metrics.NewCounter(),
				protoErr: metrics.NewCounter(),
				latency:  latency.WithLabelValues(name, tr.String()),
			}
		}
		t.tools[name] = &per
	}
	for _, reason := range []string{"host", "origin", "token", "body", "session", "capacity", "method", "message"} {
		t.rejected.WithLabelValues(reason) // export zeros, so rates work from the start
	}
	t.reg.MustRegister(
		latency,
		t.rejected,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpflow_uptime_seconds",
			Help: "Seconds since the server started.",
		}, func() float64 { return time.Since(started).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpflow_stdio_pending_requests",
			Help: "Requests read from stdin and not yet answered.",
		}, pending),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "mcpflow_build_info",
			Help:        "Always 1; the label carries the server version.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
		(*telemetryCollector)(t),
	)
	return t
}

// Registry returns the registry every metric is registered on; /metrics
// serves it, and callers may register more collectors on it.
func (t *Telemetry) Registry() *prometheus.Registry { return t.reg }

// stats returns the counters of tool over tr, or nil for an unknown tool.
func (t *Telemetry) stats(tool string, tr Transport) *callStats {
	per := t.tools[tool]
	if per == nil {
		return nil
	}
	return &per[tr]
}

// Rejected counts one HTTP request refused before reaching MCP, for
// reason (host, origin, token, body, session, capacity, method, message).
func (t *Telemetry) Rejected(reason string) { t.rejected.WithLabelValues(reason).Inc() }

// ToolCounts is the number of calls of one tool over one transport, as
// get_server_info reports it.
type ToolCounts struct {
	// Calls counts every call, whatever its outcome.
	Calls int64 `json:"calls"`
	// ToolErrors counts calls answered with an isError result.
	ToolErrors int64 `json:"tool_errors"`
	// ProtocolErrors counts calls answered with a JSON-RPC error.
	ProtocolErrors int64 `json:"protocol_errors"`
}

// Counts returns, per tool and transport, the calls made so far; tools and
// transports with no calls are left out.
func (t *Telemetry) Counts() map[string]map[string]ToolCounts {
	out := map[string]map[string]ToolCounts{}
	for _, name := range slices.Sorted(maps.Keys(t.tools)) {
		for tr := range numTransports {
			s := &t.tools[name][tr]
			ok, te, pe := s.ok.Value(), s.toolErr.Value(), s.protoErr.Value()
			if ok+te+pe == 0 {
				continue
			}
			if out[name] == nil {
				out[name] = map[string]ToolCounts{}
			}
			out[name][tr.String()] = ToolCounts{Calls: ok + te + pe, ToolErrors: te, ProtocolErrors: pe}
		}
	}
	return out
}

// telemetryCollector exports the striped call counters and every cache's
// metrics.Snapshot as Prometheus metrics at scrape time.
type telemetryCollector Telemetry

var (
	descCalls = prometheus.NewDesc("mcpflow_tool_calls_total",
		"Tool calls, by tool, transport and outcome (ok, tool_error, protocol_error).",
		[]string{"tool", "transport", "outcome"}, nil)
	descCacheCounters = []struct {
		desc *prometheus.Desc
		get  func(metrics.Snapshot) int64
	}{
		{cacheDesc("hits_total", "Lookups that found a live entry."), func(s metrics.Snapshot) int64 { return s.Hits }},
		{cacheDesc("misses_total", "Lookups that found no live entry."), func(s metrics.Snapshot) int64 { return s.Misses }},
		{cacheDesc("loads_total", "Loads started to fill a missing entry."), func(s metrics.Snapshot) int64 { return s.Loads }},
		{cacheDesc("load_errors_total", "Loads that failed or panicked."), func(s metrics.Snapshot) int64 { return s.LoadErrors }},
		{cacheDesc("coalesced_total", "Callers that waited for a load already in flight instead of loading again."), func(s metrics.Snapshot) int64 { return s.Coalesced }},
		{cacheDesc("evictions_total", "Live entries removed to respect the size bound."), func(s metrics.Snapshot) int64 { return s.Evictions }},
		{cacheDesc("expirations_total", "Entries removed because their TTL passed."), func(s metrics.Snapshot) int64 { return s.Expirations }},
	}
	descCacheEntries = prometheus.NewDesc("mcpflow_cache_entries", "Entries held by the cache.", []string{"cache"}, nil)
	descCacheHitRate = prometheus.NewDesc("mcpflow_cache_hit_ratio", "Hits / (hits + misses) since start; 0 before the first lookup.", []string{"cache"}, nil)
)

func cacheDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("mcpflow_cache_"+name, help, []string{"cache"}, nil)
}

// Describe sends the fixed descriptors.
func (c *telemetryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCalls
	for _, d := range descCacheCounters {
		ch <- d.desc
	}
	ch <- descCacheEntries
	ch <- descCacheHitRate
}

// Collect reads the counters and snapshots.
func (c *telemetryCollector) Collect(ch chan<- prometheus.Metric) {
	for name, per := range c.tools {
		for tr := range numTransports {
			s := &per[tr]
			for _, o := range []struct {
				outcome string
				n       *metrics.Counter
			}{{outcomeOK, s.ok}, {outcomeToolErr, s.toolErr}, {outcomeProtoErr, s.protoErr}} {
				ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(o.n.Value()), name, tr.String(), o.outcome)
			}
		}
	}
	if c.caches == nil {
		return
	}
	for cache, s := range c.caches() {
		for _, d := range descCacheCounters {
			ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.get(s)), cache)
		}
		ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(s.Entries), cache)
		ch <- prometheus.MustNewConstMetric(descCacheHitRate, prometheus.GaugeValue, s.HitRate, cache)
	}
}

// EngineCollectors returns the collectors of e's counters: its conflict
// counters, the counters of the checks gates declare and its file caches'
// parse counts.
func EngineCollectors(e *engine.Engine) []prometheus.Collector {
	return []prometheus.Collector{conflictCollector{e}, checkCollector{e}, parseCollector{e}}
}

// parseCollector exports how many times each of the engine's file caches
// parsed a file (Engine.Parses), beside the cache's other counters.
type parseCollector struct{ e *engine.Engine }

var descCacheParses = cacheDesc("parses_total", "Files parsed by a file cache: one per version of a file, however many lookups read it.")

// Describe sends the descriptor.
func (c parseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descCacheParses }

// Collect reads the counts.
func (c parseCollector) Collect(ch chan<- prometheus.Metric) {
	for cache, n := range c.e.Parses() {
		ch <- prometheus.MustNewConstMetric(descCacheParses, prometheus.CounterValue, float64(n), cache)
	}
}

// conflictCollector exports the engine's conflict counters: saves another
// process (replica) overtook, retried or given up.
type conflictCollector struct{ e *engine.Engine }

var (
	descConflictRetries = prometheus.NewDesc("mcpflow_engine_conflict_retries_total",
		"complete_phase attempts made again on the re-read state after another process or replica saved the session first.", nil, nil)
	descConflictGaveUp = prometheus.NewDesc("mcpflow_engine_conflict_gave_up_total",
		"complete_phase calls that still conflicted at their last attempt and returned a conflict error.", nil, nil)
)

// Describe sends the descriptors.
func (c conflictCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConflictRetries
	ch <- descConflictGaveUp
}

// Collect reads the counters.
func (c conflictCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.Conflicts()
	ch <- prometheus.MustNewConstMetric(descConflictRetries, prometheus.CounterValue, float64(st.Retries))
	ch <- prometheus.MustNewConstMetric(descConflictGaveUp, prometheus.CounterValue, float64(st.GaveUp))
}

// checkCollector exports the counters of the checks gates declare, by
// kind: performed, failed (or warned) and commands timed out.
type checkCollector struct{ e *engine.Engine }

var (
	descChecksRun = prometheus.NewDesc("mcpflow_gate_checks_total",
		"Checks the server performed itself for complete_phase, by kind.", []string{"kind"}, nil)
	descChecksFailed = prometheus.NewDesc("mcpflow_gate_checks_failed_total",
		"Checks whose verdict was failed or warned, by kind.", []string{"kind"}, nil)
	descChecksTimedOut = prometheus.NewDesc("mcpflow_gate_checks_timed_out_total",
		"Command checks killed at their timeout, by kind.", []string{"kind"}, nil)
)

// Describe sends the descriptors.
func (c checkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descChecksRun
	ch <- descChecksFailed
	ch <- descChecksTimedOut
}

// Collect reads the counters.
func (c checkCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.e.CheckStats() {
		k := string(s.Kind)
		ch <- prometheus.MustNewConstMetric(descChecksRun, prometheus.CounterValue, float64(s.Run), k)
		ch <- prometheus.MustNewConstMetric(descChecksFailed, prometheus.CounterValue, float64(s.Failed), k)
		ch <- prometheus.MustNewConstMetric(descChecksTimedOut, prometheus.CounterValue, float64(s.TimedOut), k)
	}
}
