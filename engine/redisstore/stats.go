package redisstore

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operations timed by the store, the "op" label of its latency metric.
const (
	opLoad   = "load"
	opSave   = "save"
	opCreate = "create_or_resume"
	opDelete = "delete"
	opList   = "list"
	opFence  = "resolve"
	numOps   = 6
)

var opNames = [numOps]string{opLoad, opSave, opCreate, opDelete, opList, opFence}

func opIndex(op string) int {
	for i, n := range opNames {
		if n == op {
			return i
		}
	}
	panic("redisstore: unknown op " + op)
}

// Latency buckets: 50 µs doubling up to about 3.3 s, then +Inf.
const numBuckets = 17

var bucketBounds = func() [numBuckets]float64 {
	var b [numBuckets]float64
	for i := range b {
		b[i] = 50e-6 * math.Pow(2, float64(i))
	}
	return b
}()

// histogram is a fixed-bucket latency histogram of atomic counters. It is
// safe for concurrent use; a snapshot read during updates may count an
// observation in count but not yet in its bucket.
type histogram struct {
	buckets [numBuckets + 1]atomic.Int64 // the last one is +Inf
	count   atomic.Int64
	sumNs   atomic.Int64
	maxNs   atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < numBuckets && s > bucketBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sumNs.Add(int64(d))
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// quantile returns the upper bound of the bucket holding quantile q, in
// seconds (the largest observation for the +Inf bucket); 0 when empty.
func (h *histogram) quantile(q float64) float64 {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var cum int64
	for i := range numBuckets {
		cum += h.buckets[i].Load()
		if cum >= rank {
			return bucketBounds[i]
		}
	}
	return time.Duration(h.maxNs.Load()).Seconds()
}

// LatencyStats summarizes the latency of one kind of store call. The
// quantiles are upper bounds of histogram buckets that double in width
// from 50 µs.
type LatencyStats struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Stats are the store's counters since Open, for get_server_info and
// logs. /metrics exports the same numbers (Store is a
// prometheus.Collector).
type Stats struct {
	// URL is the server and database, without the password.
	URL string `json:"url"`
	// Saves counts saves that landed.
	Saves int64 `json:"saves"`
	// CASConflicts counts saves refused because the version had moved
	// (another replica or client saved first).
	CASConflicts int64 `json:"cas_conflicts"`
	// Retries counts repeated attempts inside the store: a start whose
	// pair index moved under it, a dangling or unusable index cleared, a
	// session id that had to be replaced.
	Retries int64 `json:"retries"`
	// StaleReadsAvoided counts cached reads older than a version this
	// replica wrote or saw, which were read again from Redis.
	StaleReadsAvoided int64 `json:"stale_reads_avoided"`
	// CacheHits and CacheMisses count reads served from the client-side
	// cache and reads that went to Redis.
	CacheHits   int64 `json:"cache_hits"`
	CacheMisses int64 `json:"cache_misses"`
	// Invalidations counts keys Redis told this replica to drop from its
	// client-side cache; CacheFlushes counts whole-cache drops (a
	// connection lost or reset).
	Invalidations int64 `json:"invalidations"`
	CacheFlushes  int64 `json:"cache_flushes"`
	// AmbiguousSaves counts saves whose reply was lost (timeout, broken
	// connection); each was then resolved by its write_id as landed,
	// not landed (fenced) or, when Redis stayed unreachable, unknown.
	AmbiguousSaves   int64 `json:"ambiguous_saves"`
	AmbiguousLanded  int64 `json:"ambiguous_landed"`
	AmbiguousFenced  int64 `json:"ambiguous_not_landed"`
	AmbiguousUnknown int64 `json:"ambiguous_unknown"`
	// DataLost counts times this replica found that Redis had lost its
	// data (restarted without persistence, or flushed).
	DataLost int64 `json:"data_lost"`
	// Errors counts calls that failed for another reason than "not
	// found" or a conflict: Redis unreachable, timeouts, refusals.
	Errors int64 `json:"errors"`
	// Latency is the time of each kind of call, by operation: load,
	// save, create_or_resume, delete, list, resolve.
	Latency map[string]LatencyStats `json:"latency"`
}

// counters are the store's atomic counters.
type counters struct {
	saves, conflicts, retries, staleReads          atomic.Int64
	cacheHits, cacheMisses, invalidations, flushes atomic.Int64
	ambiguous, landed, fenced, unknown             atomic.Int64
	dataLost, errors                               atomic.Int64
	latency                                        [numOps]histogram
}

func (c *counters) observe(op string, start time.Time) {
	c.latency[opIndex(op)].observe(time.Since(start))
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	st := Stats{
		URL:   s.opts.String(),
		Saves: c.saves.Load(), CASConflicts: c.conflicts.Load(), Retries: c.retries.Load(),
		StaleReadsAvoided: c.staleReads.Load(), CacheHits: c.cacheHits.Load(), CacheMisses: c.cacheMisses.Load(),
		Invalidations: c.invalidations.Load(), CacheFlushes: c.flushes.Load(),
		AmbiguousSaves: c.ambiguous.Load(), AmbiguousLanded: c.landed.Load(), AmbiguousFenced: c.fenced.Load(), AmbiguousUnknown: c.unknown.Load(),
		DataLost: c.dataLost.Load(), Errors: c.errors.Load(),
		Latency: make(map[string]LatencyStats, numOps),
	}
	for i, name := range opNames {
		h := &c.latency[i]
		st.Latency[name] = LatencyStats{
			Count: h.count.Load(),
			P50Ms: h.quantile(0.5) * 1e3,
			P99Ms: h.quantile(0.99) * 1e3,
			MaxMs: float64(h.maxNs.Load()) / 1e6,
		}
	}
	return st
}

var (
	descCounters = []struct {
		desc *prometheus.Desc
		get  func(*counters) int64
	}{
		{redisDesc("saves_total", "Saves that landed in Redis."), func(c *counters) int64 { return c.saves.Load() }},
		{redisDesc("cas_conflicts_total", "Saves refused because the session's version had moved (another replica or client saved first)."), func(c *counters) int64 { return c.conflicts.Load() }},
		{redisDesc("retries_total", "Repeated attempts inside the store: pair index moved, dangling index cleared, session id replaced."), func(c *counters) int64 { return c.retries.Load() }},
		{redisDesc("stale_reads_avoided_total", "Cached reads older than a version this replica wrote or saw, read again from Redis."), func(c *counters) int64 { return c.staleReads.Load() }},
		{redisDesc("cache_hits_total", "Reads served from the client-side cache."), func(c *counters) int64 { return c.cacheHits.Load() }},
		{redisDesc("cache_misses_total", "Reads that went to Redis."), func(c *counters) int64 { return c.cacheMisses.Load() }},
		{redisDesc("invalidations_total", "Keys Redis invalidated in this replica's client-side cache."), func(c *counters) int64 { return c.invalidations.Load() }},
		{redisDesc("cache_flushes_total", "Whole client-side cache drops (a connection lost or reset)."), func(c *counters) int64 { return c.flushes.Load() }},
		{redisDesc("data_lost_total", "Times Redis was found to have lost its data (restart without persistence, flush)."), func(c *counters) int64 { return c.dataLost.Load() }},
		{redisDesc("errors_total", "Store calls that failed for another reason than not found or a conflict."), func(c *counters) int64 { return c.errors.Load() }},
	}
	descAmbiguous = prometheus.NewDesc("mcpflow_redis_ambiguous_saves_total",
		"Saves whose reply was lost, by how write_id resolved them (landed, not_landed, unknown).", []string{"outcome"}, nil)
	descLatency = prometheus.NewDesc("mcpflow_redis_request_duration_seconds",
		"Time of store calls against Redis, by operation.", []string{"op"}, nil)
)

func redisDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("mcpflow_redis_"+name, help, nil, nil)
}

// Describe sends the descriptors of the store's metrics
// (prometheus.Collector).
func (s *Store) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descCounters {
		ch <- d.desc
	}
	ch <- descAmbiguous
	ch <- descLatency
}

// Collect sends the store's metrics (prometheus.Collector).
func (s *Store) Collect(ch chan<- prometheus.Metric) {
	c := &s.stats
	for _, d := range descCounters {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.get(c)))
	}
	for _, o := range []struct {
		label string
		n     *atomic.Int64
	}{{"landed", &c.landed}, {"not_landed", &c.fenced}, {"unknown", &c.unknown}} {
		ch <- prometheus.MustNewConstMetric(descAmbiguous, prometheus.CounterValue, float64(o.n.Load()), o.label)
	}
	for i, name := range opNames {
		h := &c.latency[i]
		buckets := make(map[float64]uint64, numBuckets)
		var cum uint64
		for j := range numBuckets {
			cum += uint64(h.buckets[j].Load())
			buckets[bucketBounds[j]] = cum
		}
		count := cum + uint64(h.buckets[numBuckets].Load())
		ch <- prometheus.MustNewConstHistogram(descLatency, count, time.Duration(h.sumNs.Load()).Seconds(), buckets, name)
	}
}
