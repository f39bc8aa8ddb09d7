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
// GetOrLoad stores a pending entry for a missing key under xsync's bucket
// lock, releases the lock, and only then calls the load function. Other
// callers for the same key find the pending entry and wait on it; other
// keys, including those in the same bucket and a table resize, never wait for
// a load. When the load returns, it writes its value into the pending entry
// and makes it ready with one compare-and-swap, if, and only if, no Delete,
// Clear or Set detached the entry meanwhile: a change that ran meanwhile
// wins, and the loaded value goes only to the callers that were waiting on
// that load. A successful load therefore writes the map once, not twice.
//
// # Bounded caches
//
// With Config.MaxEntries, each shard keeps an eviction clock and a
// TinyLFU frequency sketch behind a mutex that only inserts of new keys
// take. A new key enters a full shard only if the sketch has seen it more
// often than the entry the clock would evict for it, so a scan of keys
// seen once does not flush the keys that are read often. A read records
// itself in its entry (one atomic load, and a store while a small count is
// below its cap); the clock hand carries that count into the sketch.
//
// The map holds a pointer to each entry, so a read follows one pointer
// beyond the map's own node; docs/benchmarks/cache.md gives what that costs
// and what it saves.
package shard
