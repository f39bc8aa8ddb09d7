package shard

import (
	"hash/maphash"
	"iter"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/metrics"
)

// Cache is a concurrent map from keys to values with compute-if-absent
// loading, optional TTL and an optional size bound.
//
// A Cache is safe for concurrent use by multiple goroutines without
// additional locking. The zero Cache is not usable: create one with New.
// A Cache must not be copied after first use.
//
// In the terminology of the Go memory model, a Set or a load that publishes
// a value for a key "synchronizes before" any Get, GetOrLoad or All that
// observes that value, and a load's return synchronizes before every
// GetOrLoad caller that waited for it returns.
//
// Get and the hit path of GetOrLoad are lock-free: they perform atomic loads
// only, allocate nothing, and write no memory shared with other cores except
// one striped counter cell, which goroutines running at once on different
// cores practically never share (see metrics.Counter; a hit that finds its
// cell contended also writes the word that moves its goroutine to another),
// and, in a bounded cache, the entry's read count, for the first few reads
// after the eviction clock passed it.
//
// Bound, admission and eviction: when MaxEntries is set, each shard holds
// at most its share of the bound. Inserting a new key into a full shard
// picks a victim in CLOCK order (first inserted first, with a second chance
// for entries read since the clock hand last passed them) and then admits
// the newcomer only if a per-shard frequency sketch (TinyLFU: a count-min
// sketch of 4-bit counters, halved periodically) has seen the newcomer's
// key more often than the victim's (as often will do until the sketch
// first ages); otherwise the victim stays and the newcomer is refused. A
// refused Set's value is removed before Set returns (a concurrent Get may
// see it meanwhile); a refused GetOrLoad still runs its load and returns
// its value to its callers, but stores nothing. Refusals count as
// evictions. An expired entry met by the hand is
// always evicted, whatever its frequency, and counted as an expiration.
// Entries whose first load is in flight are never evicted. The shard's
// eviction state and sketch sit behind a per-shard mutex taken only when a
// new key is inserted, never by readers, by updates of present keys or by
// other shards; a read records itself with one atomic load and at most one
// atomic store on its entry. Inserts into one shard that race may overshoot
// the shard's share by at most the number of goroutines inserting at that
// moment; each evicts its own excess, or is refused, before it returns (a
// refused load leaves when it finishes). Loads in flight count toward the
// bound.
type Cache[K comparable, V any] struct {
	shards []shard[K, V]
	mask   uint64
	hash   func(K) uint64
	ttl    int64
	// clock is non-nil only when Config.Clock was set; otherwise now reads
	// coarse, which the background goroutine advances.
	clock  Clock
	coarse *atomic.Int64
	rec    metrics.Recorder
	// ctr is rec when rec is a *metrics.Counters, else nil: a hit then
	// counts itself with an inlined add instead of an interface call.
	ctr *metrics.Counters
	// plain is set when ctr is set and the cache is unbounded: a hit then
	// does nothing but count itself.
	plain   bool
	bounded bool
	bg      *background
}

type shard[K comparable, V any] struct {
	m *xsync.Map[K, *entry[V]]

	// The fields below are used only when the cache is bounded.
	count atomic.Int64  // entries in m, pending included
	seq   atomic.Uint64 // source of entry.seq for new keys
	bound int64         // this shard's share of MaxEntries

	mu   sync.Mutex // guards hand and freq
	hand clockRing[K]
	freq sketch // how often keys of this shard were seen; see evictLocked

	_ [64]byte // keep neighbouring shards' hot words apart
}

// removeIfCurrent deletes k's entry if it is still e, under k's bucket
// lock, and reports whether it did: a Set, Delete or reload may have
// replaced e since the caller looked.
func (s *shard[K, V]) removeIfCurrent(k K, e *entry[V]) bool {
	removed := false
	s.m.Compute(k, func(old *entry[V], loaded bool) (*entry[V], xsync.ComputeOp) {
		if loaded && old == e {
			removed = true
			return old, xsync.DeleteOp
		}
		return old, xsync.CancelOp
	})
	return removed
}

// Entry states. The zero state is ready, so an entry built by Set needs no
// atomic store before it is published.
const (
	ready   uint32 = iota // holds a value
	pending               // its load is in flight
	dead                  // its load failed, or the key changed during it
)

// entry is what a shard's map holds for a key. Its value is written once,
// before the entry becomes ready, and never changed: a Set stores a new
// entry.
//
// An entry stored by Set is ready from the start. An entry stored by a miss
// starts pending; its load then writes val and expires and moves it from
// pending to ready with one compare-and-swap, so a successful load costs
// no second map write. Delete, Set and Clear move a pending entry to dead
// (under the bucket lock, before they remove it), and a failed load does
// too; the load's result then goes only to the callers that waited for it.
// Either transition wins exactly once.
type entry[V any] struct {
	// val and expires are written before the entry is published (Set) or
	// before its state moves to ready (a load), and read only after state
	// was read as ready.
	//
	// The fields of fixed size come first: their offsets are then the
	// same for every V, and the hit path needs no dictionary to find
	// them.
	state   atomic.Uint32
	ref     atomic.Uint32 // reads since the hand passed, up to maxRef; bounded caches only
	expires int64         // unix nanoseconds; 0 means never
	seq     uint64
	val     V

	// The fields below serve a load's callers. err is written, like val,
	// before w is swapped to finished, and read only after w was seen
	// finished or the waiters' channel was seen closed. A failed or
	// detached entry is never ready, so its callers alone read val.
	//
	// Before that, while the load has not started, the admission filter
	// may set err to errRefused, on the goroutine that then runs or
	// starts the load, which reads it when the load ends: the entry is
	// then removed instead of made ready. This keeps the entry at 64
	// bytes for a word-sized V.
	err error
	w   atomic.Pointer[waiters] // nil, the first waiter's, or finished
	// lw is w's target when the first caller waits for a load it started
	// on a goroutine of its own, set before the entry is published.
	lw waiters
}

// waiters is the channel the callers waiting for one load block on. The
// first caller that has to wait makes it, so a load that nobody waits for
// costs no channel.
type waiters struct{ ch chan struct{} }

// finished is the waiters of every load that has finished: its channel is
// closed.
var finished = func() *waiters {
	w := &waiters{ch: make(chan struct{})}
	close(w.ch)
	return w
}()

// New returns a Cache configured by cfg, or an error that names the invalid
// Config field.
func New[K comparable, V any](cfg Config) (*Cache[K, V], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newCache[K, V](cfg, hasherFor[K]()), nil
}

func newCache[K comparable, V any](cfg Config, hash func(K) uint64) *Cache[K, V] {
	n := cfg.shardCount()
	c := &Cache[K, V]{
		shards:  make([]shard[K, V], n),
		mask:    uint64(n - 1),
		hash:    hash,
		ttl:     int64(cfg.TTL),
		clock:   cfg.Clock,
		rec:     cfg.Recorder,
		bounded: cfg.MaxEntries > 0,
	}
	if c.rec == nil {
		c.rec = metrics.NewCounters()
	}
	c.ctr, _ = c.rec.(*metrics.Counters)
	c.plain = c.ctr != nil && !c.bounded
	for i := range c.shards {
		s := &c.shards[i]
		var opts []func(*xsync.MapConfig)
		if cfg.SizeHint > 0 {
			opts = append(opts, xsync.WithPresize(cfg.SizeHint/n+1))
		}
		if cfg.TTL > 0 {
			// A TTL cache empties and refills as entries expire; a table
			// that shrank when a sweep emptied it would grow again as it
			// refills, and a shrink makes every writer of the shard wait
			// for it.
			opts = append(opts, xsync.WithGrowOnly())
		}
		s.m = xsync.NewMap[K, *entry[V]](opts...)
		if c.bounded {
			s.bound = int64(cfg.MaxEntries / n)
			if i < cfg.MaxEntries%n {
				s.bound++
			}
			s.freq = newSketch(int(s.bound))
		}
	}
	needClock := cfg.TTL > 0 && cfg.Clock == nil
	if needClock {
		c.coarse = new(atomic.Int64)
		c.coarse.Store(time.Now().UnixNano())
	}
	if needClock || cfg.SweepInterval > 0 {
		c.bg = startBackground(c.coarse, tickFor(cfg.TTL), cfg.SweepInterval, c.sweeper())
		// The goroutine holds no reference to c, so a Cache that is dropped
		// without Close is still collected, and this stops its goroutine.
		runtime.AddCleanup(c, (*background).cleanup, c.bg)
	}
	return c
}

// hasherFor picks the shard hash: xxhash for keys whose underlying type is
// string, the runtime's seeded hash for every other comparable type.
func hasherFor[K comparable]() func(K) uint64 {
	if reflect.TypeFor[K]().Kind() == reflect.String {
		return func(k K) uint64 {
			// K's underlying type is string, so its memory is a string header.
			return xxhash.Sum64String(*(*string)(unsafe.Pointer(&k)))
		}
	}
	seed := maphash.MakeSeed()
	return func(k K) uint64 { return maphash.Comparable(seed, k) }
}

func (c *Cache[K, V]) shardFor(k K) *shard[K, V] {
	if c.mask == 0 {
		return &c.shards[0]
	}
	return &c.shards[c.hash(k)&c.mask]
}

// shardHash is shardFor for the paths that may insert a key: in a bounded
// cache it also returns the key's hash, which the frequency sketch uses.
func (c *Cache[K, V]) shardHash(k K) (*shard[K, V], uint64) {
	if !c.bounded {
		return c.shardFor(k), 0
	}
	h := c.hash(k)
	return &c.shards[h&c.mask], h
}

func (c *Cache[K, V]) now() int64 {
	if c.clock != nil {
		return c.clock.Now().UnixNano()
	}
	return c.coarse.Load()
}

// live reports whether a stored entry holds a value that has not expired.
func (c *Cache[K, V]) live(e *entry[V]) bool {
	return e.state.Load() == ready && (e.expires == 0 || c.now() < e.expires)
}

func (c *Cache[K, V]) expiry() int64 {
	if c.ttl == 0 {
		return 0
	}
	return c.now() + c.ttl
}

// Get returns the value stored for k and whether it was found. An entry
// whose TTL has passed, or whose first load is still in flight, is not
// found. Get never waits.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	// The checks of live and hit are written out here and in lookup: as
	// calls, they cost a fifth of a hit (docs/benchmarks/cache.md).
	e, ok := c.shardFor(k).m.Load(k)
	if ok && e.state.Load() == ready && (e.expires == 0 || c.now() < e.expires) {
		switch {
		case c.plain:
			c.ctr.RecordHit()
		case c.ctr != nil:
			// Bounded: the read count, written only below its cap so
			// that a hot key's cache line stays shared between cores.
			c.ctr.RecordHit()
			if r := e.ref.Load(); r < maxRef {
				e.ref.Store(r + 1)
			}
		default:
			c.hit(e)
		}
		return e.val, true
	}
	c.rec.RecordMiss()
	var zero V
	return zero, false
}

// hit records a hit on e; see Get.
func (c *Cache[K, V]) hit(e *entry[V]) {
	if c.ctr != nil {
		c.ctr.RecordHit()
	} else {
		c.rec.RecordHit()
	}
	// Write the read count only below its cap, so a hot key's cache
	// line stays shared between cores.
	if r := e.ref.Load(); c.bounded && r < maxRef {
		e.ref.Store(r + 1)
	}
}

// detach moves a pending entry that is being removed or replaced to dead,
// so that its load, when it finishes, stores nothing. It is called under
// the bucket lock of the entry's key.
func detach[V any](e *entry[V]) {
	e.state.CompareAndSwap(pending, dead)
}

// Set stores v for k, replacing any value or load in flight. A load in
// flight for k still returns its own result to the callers waiting for it,
// but does not replace v. In a bounded cache whose shard for k is full, a
// new key may be refused by the admission filter (see Cache): v is then
// removed before Set returns, and a later Set or load of k, which counts as
// a sighting, may admit it.
func (c *Cache[K, V]) Set(k K, v V) {
	s, h := c.shardHash(k)
	ne := &entry[V]{val: v, expires: c.expiry()}
	isNew := false
	s.m.Compute(k, func(old *entry[V], loaded bool) (*entry[V], xsync.ComputeOp) {
		if loaded {
			detach(old)
			if c.bounded {
				ne.seq = old.seq
				ne.ref.Store(old.ref.Load())
			}
		} else if c.bounded {
			ne.seq = s.seq.Add(1)
			isNew = true
		}
		return ne, xsync.UpdateOp
	})
	if isNew {
		c.inserted(s, k, ne, h)
	}
}

// Delete removes k. A load in flight for k still returns its result to the
// callers waiting for it, but that result is not stored: the next GetOrLoad
// for k loads again.
func (c *Cache[K, V]) Delete(k K) {
	s := c.shardFor(k)
	removed := false
	s.m.Compute(k, func(old *entry[V], loaded bool) (*entry[V], xsync.ComputeOp) {
		if !loaded {
			return old, xsync.CancelOp
		}
		detach(old)
		removed = true
		return old, xsync.DeleteOp
	})
	if removed && c.bounded {
		s.count.Add(-1)
	}
}

// Len returns the number of entries held: values, values expired but not yet
// swept, and keys whose first load is in flight. Under concurrent updates it
// is a momentary estimate, exact when the cache is quiescent.
func (c *Cache[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		n += c.shards[i].m.Size()
	}
	return n
}

// Clear removes every entry, shard by shard, each with bucket-level locking
// only. Loads in flight when Clear reaches their key behave as after Delete.
// Entries stored into a shard after Clear has passed it are kept.
func (c *Cache[K, V]) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		n := s.m.DeleteMatching(func(_ K, e *entry[V]) (bool, bool) {
			detach(e)
			return true, false
		})
		if c.bounded {
			s.count.Add(-int64(n))
		}
	}
}

// All returns an iterator over the live entries: values present and not
// expired when visited. Keys whose first load is in flight are skipped.
//
// All does not correspond to any consistent snapshot of the Cache: it walks
// the shards in turn, visits no key more than once, and for a key stored,
// replaced or deleted concurrently may yield any value the key held during
// the iteration, or none. It never blocks readers; writers to a bucket wait
// only while that bucket's entries are copied. The cache may be modified
// from inside the loop.
func (c *Cache[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i := range c.shards {
			for k, e := range c.shards[i].m.All() {
				if c.live(e) && !yield(k, e.val) {
					return
				}
			}
		}
	}
}

// Sweep removes the entries whose TTL has passed and returns how many it
// removed. It walks one shard at a time and, within a shard, checks and
// deletes under one bucket lock at a time, so it never takes a lock over the
// whole cache and never blocks Get, which takes no lock. A load in flight is
// never removed, and its completion takes no lock; a writer, or a miss
// starting its load, waits only while Sweep checks the few entries of that
// key's bucket. In a cache with a TTL the shards' tables never shrink (see
// Config.TTL), so a sweep that empties a table does not make the shard's
// writers wait for a shrink.
func (c *Cache[K, V]) Sweep() int {
	if c.ttl == 0 {
		return 0
	}
	return c.sweeper()()
}

// sweeper returns the sweep function for the background goroutine. It holds
// the shards, never c, so that c can be collected.
func (c *Cache[K, V]) sweeper() func() int {
	shards, clock, coarse, rec, bounded := c.shards, c.clock, c.coarse, c.rec, c.bounded
	return func() int {
		now := func() int64 {
			if clock != nil {
				return clock.Now().UnixNano()
			}
			return coarse.Load()
		}()
		total := 0
		for i := range shards {
			s := &shards[i]
			n := s.m.DeleteMatching(func(_ K, e *entry[V]) (bool, bool) {
				return e.state.Load() == ready && e.expires != 0 && e.expires <= now, false
			})
			if bounded {
				s.count.Add(-int64(n))
			}
			total += n
		}
		if total > 0 {
			rec.RecordExpirations(total)
		}
		return total
	}
}

// Metrics returns the cache's counters and its current number of entries.
// When Config.Recorder does not implement metrics.Snapshotter, only Entries
// is filled in.
func (c *Cache[K, V]) Metrics() metrics.Snapshot {
	var s metrics.Snapshot
	if sn, ok := c.rec.(metrics.Snapshotter); ok {
		s = sn.Snapshot()
	}
	s.Entries = int64(c.Len())
	return s
}

// ResetMetrics zeroes the counters when the recorder supports it.
func (c *Cache[K, V]) ResetMetrics() {
	if r, ok := c.rec.(interface{ Reset() }); ok {
		r.Reset()
	}
}

// Close stops the background goroutine that advances the coarse clock and
// sweeps, and waits for it to exit. It is safe to call more than once. The
// cache stays safe to use after Close, but with the default clock its
// entries then stop expiring: Close is meant for the end of the cache's life.
func (c *Cache[K, V]) Close() {
	if c.bg != nil {
		c.bg.close()
	}
}
