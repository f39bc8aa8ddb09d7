// Package metrics counts what a cache does: hits, misses, loads, load
// errors, coalesced waits, evictions and expirations.
//
// The counters are striped: each goroutine adds to a home cell among
// several cache-line-padded ones, chosen from a hash of its stack and moved
// when an add finds another core writing the same cell, so goroutines
// running at once on different cores practically never write the same
// cache line for long. The hit path of a cache therefore costs one
// uncontended atomic add, not a write to a word that every core shares.
//
// Counter and Counters are safe for concurrent use by multiple goroutines
// without additional locking; an Add is wait-free, and an Add that happens
// before a read is in the sum it returns. A Snapshot sums the cells one
// counter after another while the cache runs, so it is not atomic across
// fields (see Snapshot).
//
// Package metrics imports nothing else of mcpflow.
package metrics
