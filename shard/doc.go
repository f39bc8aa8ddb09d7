// Package shard provides Cache, a generic concurrent cache for keys of any
// comparable type: lock-free reads, compute-if-absent loading that runs each
// key's load once however many goroutines ask, optional TTL with a sweep
// that never blocks readers, an optional size bound, and striped metrics.
//
// A Cache is split into a power-of-two number of shards, each an
// xsync.Map. A key's shard is chosen by xxhash of the key (string keys) or by
// the runtime's hash (other comparable keys). Shards partition the work that
// is not per key: the size bound and its eviction clock, and sweeping. With
// one shard no hash is computed at all before the map lookup.
//
// # Loading
//
// GetOrLoad stores a small pending entry for a missing key under xsync's
// bucket lock, releases the lock, and only then calls the load function.
// Other callers for the same key find the pending entry and wait on it; other
// keys, including those in the same bucket and a table resize, never wait for
// a load. When the load returns, its value replaces the pending entry if, and
// only if, the pending entry is still the key's: a Delete, Clear or Set that
// ran meanwhile wins, and the loaded value goes only to the callers that
// were waiting on that load.
//
// Entries are stored by value in the map's own nodes, so a read follows no
// pointer beyond the map's.
package shard
