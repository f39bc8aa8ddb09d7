// Package shard provides Cache, a generic concurrent cache for keys of any
// comparable type: lock-free reads, compute-if-absent loading that runs each
// key's load once however many goroutines ask, optional TTL with a sweep
// that never blocks readers, an optional size bound with TinyLFU admission,
// and striped metrics (package metrics).
//
// A Cache is safe for concurrent use by multiple goroutines without
// additional locking. Get and a GetOrLoad hit take no lock and allocate
// nothing; a load runs outside every lock, so a slow load delays only the
// callers of its own key, and a value a Set or a load publishes
// synchronizes before every read that observes it. The Cache type's doc
// states each guarantee exactly, as sync.Map's does; Clock is the one clock
// interface of mcpflow, replaced in tests.
//
// docs/shard.md says how the cache is built (shards, the pending entry of
// a load, the eviction clock and sketch); docs/benchmarks/cache.md and
// docs/benchmarks/peers.md measure it.
package shard
