// Package metrics counts what a cache does: hits, misses, loads, load
// errors, coalesced waits, evictions and expirations.
//
// The counters are striped: each goroutine adds to one of several
// cache-line-padded cells chosen from its stack address, so goroutines on
// different cores rarely write the same cache line. A Snapshot sums the cells.
// The hit path of a cache therefore costs one uncontended atomic add, not a
// write to a word that every core shares.
//
// Package metrics imports nothing else of mcpflow.
package metrics
