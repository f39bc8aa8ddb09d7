package shard

import (
	"errors"

	"github.com/puzpuzpuz/xsync/v4"
)

// maxRef caps an entry's count of reads since the hand last passed it.
// A read writes the count only while it is below the cap, so a hot
// key's cache line stays shared between cores once the cap is reached.
const maxRef = 4

// clockRing is one shard's eviction clock: the keys in insertion order, each
// with the seq of the entry it was inserted as. A slot whose key was deleted,
// or deleted and inserted again under a new seq, is stale and is dropped when
// the hand reaches it. Guarded by shard.mu.
type clockRing[K comparable] struct {
	slots []slot[K]
	head  int
}

type slot[K comparable] struct {
	key  K
	seq  uint64
	hash uint64 // the key's shard hash, for the frequency sketch
}

func (r *clockRing[K]) len() int { return len(r.slots) - r.head }

func (r *clockRing[K]) push(s slot[K]) { r.slots = append(r.slots, s) }

func (r *clockRing[K]) pop() slot[K] {
	s := r.slots[r.head]
	var zero slot[K]
	r.slots[r.head] = zero
	r.head++
	if r.head > 64 && r.head*2 > len(r.slots) {
		n := copy(r.slots, r.slots[r.head:])
		clear(r.slots[n:])
		r.slots = r.slots[:n]
		r.head = 0
	}
	return s
}

// unpop puts back the slot pop returned last, so that the hand stays on it.
func (r *clockRing[K]) unpop(s slot[K]) {
	if r.head > 0 {
		r.head--
		r.slots[r.head] = s
		return
	}
	// pop has just compacted the ring: shift it by one, once.
	r.slots = append(r.slots, slot[K]{})
	copy(r.slots[1:], r.slots)
	r.slots[0] = s
}

// inserted records a new key of a bounded cache, e being the entry it was
// inserted as and h its hash, and evicts from its shard until the shard is
// back within its share of the bound.
func (c *Cache[K, V]) inserted(s *shard[K, V], k K, e *entry[V], h uint64) {
	n := s.count.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if 2*n > s.bound {
		s.freq.increment(h)
	}
	s.hand.push(slot[K]{key: k, seq: e.seq, hash: h})
	if n > s.bound {
		c.evictLocked(s, k, e, s.freq.estimate(h))
	}
	if s.hand.len() > 2*int(s.bound)+64 {
		c.compactLocked(s)
	}
}

// evictLocked moves the clock hand until the shard is within its bound, on
// behalf of the newcomer ne (key k, estimated frequency freq) that took it
// over. Every slot is looked at no more than twice: once to clear its read
// count, once to evict it.
//
// Admission (TinyLFU): the entry the hand would evict is compared with the
// newcomer by their estimated frequencies. When the victim was seen more
// often, or as often once the sketch has aged at least once, the victim
// stays, the hand stays on it for the next newcomer, and this newcomer is
// refused: removed at once if it holds a value, or marked so that its load,
// which has not started yet, gives its value to its callers and stores
// nothing. Until the first aging a tie admits the newcomer, so that a cache
// with no history yet evicts in CLOCK order. An expired victim is evicted
// whatever its frequency.
//
// Reads feed the sketch through the entry's read count: a read raises it
// up to maxRef, and the hand, finding it non-zero, counts that many
// sightings of the key and clears it. A hit thus costs one atomic load and,
// while the count is below the cap, one atomic store, as the second-chance
// bit it replaces did.
func (c *Cache[K, V]) evictLocked(s *shard[K, V], k K, ne *entry[V], freq int) {
	budget := 2*s.hand.len() + 1
	var now int64
	if c.ttl != 0 {
		now = c.now()
	}
	evicted, expired := 0, 0
	for ; s.count.Load() > s.bound && s.hand.len() > 0 && budget > 0; budget-- {
		sl := s.hand.pop()
		e, ok := s.m.Load(sl.key)
		if !ok || e.seq != sl.seq {
			continue // stale slot
		}
		if e.state.Load() != ready {
			s.hand.push(sl) // never evict a load in flight
			continue
		}
		isExpired := e.expires != 0 && e.expires <= now
		if r := e.ref.Load(); !isExpired && r != 0 {
			e.ref.Store(0)
			for range r {
				s.freq.increment(sl.hash)
			}
			s.hand.push(sl)
			continue
		}
		if est := s.freq.estimate(sl.hash); !isExpired && e != ne && (est > freq || est == freq && s.freq.aged) {
			s.hand.unpop(sl)
			if c.refuseLocked(s, k, ne) {
				if ne.state.Load() != pending {
					evicted++
				}
				break
			}
			// ne was replaced or removed meanwhile: nothing to refuse,
			// so evict as CLOCK does.
			freq = 16
			continue
		}
		removed := false
		s.m.Compute(sl.key, func(old *entry[V], loaded bool) (*entry[V], xsync.ComputeOp) {
			if loaded && old.seq == sl.seq && old.state.Load() == ready {
				removed = true
				return old, xsync.DeleteOp
			}
			return old, xsync.CancelOp
		})
		switch {
		case !removed:
			s.hand.push(sl) // became a load in flight meanwhile
		case isExpired:
			s.count.Add(-1)
			expired++
		default:
			s.count.Add(-1)
			evicted++
		}
	}
	if evicted > 0 {
		c.rec.RecordEvictions(evicted)
	}
	if expired > 0 {
		c.rec.RecordExpirations(expired)
	}
}

// errRefused marks, in entry.err, a pending entry that the admission filter
// turned away. No caller ever receives it.
var errRefused = errors.New("shard: refused by the admission filter")

// refuseLocked turns the newcomer e of key k away and reports whether it
// did. A pending e is marked refused: its load has not started (inserted
// runs before it), and it removes e when it ends, counting the eviction
// then. A ready e is removed now, if it is still k's entry.
func (c *Cache[K, V]) refuseLocked(s *shard[K, V], k K, e *entry[V]) bool {
	switch e.state.Load() {
	case pending:
		e.err = errRefused
		return true
	case ready:
		removed := s.removeIfCurrent(k, e)
		if removed {
			s.count.Add(-1)
		}
		return removed
	}
	return false
}

// compactLocked drops stale slots, which pile up when keys are deleted
// faster than the hand comes round.
func (c *Cache[K, V]) compactLocked(s *shard[K, V]) {
	live := s.hand.slots[:0]
	for _, sl := range s.hand.slots[s.hand.head:] {
		if e, ok := s.m.Load(sl.key); ok && e.seq == sl.seq {
			live = append(live, sl)
		}
	}
	clear(s.hand.slots[len(live):])
	s.hand.slots = live
	s.hand.head = 0
}
