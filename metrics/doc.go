// Package metrics counts what a cache does: hits, misses, loads, load
// errors, coalesced waits, evictions and expirations.
//
// The counters are striped: each goroutine adds to a home cell among
// several cache-line-padded ones, chosen from a hash of its stack and moved
// when an add finds another core writing the same cell, so goroutines
// running at once on different cores practically never write the same
// cache line for long. A Snapshot sums the cells. The hit path of a cache
// therefore costs one uncontended atomic add, not a write to a word that
// every core shares.
//
// Package metrics imports nothing else of mcpflow.
package metrics
