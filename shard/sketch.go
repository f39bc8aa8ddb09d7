package shard

import "math/bits"

// sketch estimates how often each key of one shard was seen recently: a
// count-min sketch of 4-bit counters, sixteen to a word, four counters per
// key. Every sampleSize increments it halves all counters, so that what was
// popular long ago fades (TinyLFU's reset). A bounded shard uses it to admit
// a new key only if the key is seen at least as often as the entry that
// would be evicted for it.
//
// sketch is not safe for concurrent use: a shard uses it under shard.mu.
type sketch struct {
	table      []uint64
	shift      uint // 64 - log2(counters): a product's top bits index a counter
	additions  int
	sampleSize int
	// aged is set at the first reset: from then on the sketch holds a
	// sample's worth of history.
	aged bool
}

// newSketch returns a sketch for a shard holding up to bound entries: 16
// counters per entry, rounded up to a power of two, and a reset every 10
// increments per entry.
func newSketch(bound int) sketch {
	words := 1 << bits.Len(uint(max(bound, 4)-1))
	return sketch{
		table:      make([]uint64, words),
		shift:      uint(64 - bits.Len(uint(words*16-1))),
		sampleSize: 20 * max(bound, 4),
	}
}

// spread turns the shard hash of a key into the seed of its four counters.
// The shard index is the hash's low bits, identical for every key of a
// shard, so the seed must not rely on them alone.
func spread(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// counter returns the word index and bit shift of the i-th counter of
// seed: double hashing, seed + i·step, each sum multiplied by an odd
// constant whose product's top bits pick the counter.
func (s *sketch) counter(seed uint64, i int) (int, uint) {
	step := bits.RotateLeft64(seed, 32) | 1
	c := ((seed + uint64(i)*step) * 0x9e3779b97f4a7c15) >> s.shift
	return int(c >> 4), uint(c&15) * 4
}

// increment counts one sighting of the key with shard hash h.
func (s *sketch) increment(h uint64) {
	seed := spread(h)
	added := false
	for i := range 4 {
		w, sh := s.counter(seed, i)
		if (s.table[w]>>sh)&15 < 15 {
			s.table[w] += 1 << sh
			added = true
		}
	}
	if added {
		s.additions++
		if s.additions >= s.sampleSize {
			s.reset()
		}
	}
}

// estimate returns how often the key with shard hash h was seen, at most
// 15: the least of its four counters.
func (s *sketch) estimate(h uint64) int {
	seed := spread(h)
	least := uint64(15)
	for i := range 4 {
		w, sh := s.counter(seed, i)
		least = min(least, (s.table[w]>>sh)&15)
	}
	return int(least)
}

// reset halves every counter.
func (s *sketch) reset() {
	for i, w := range s.table {
		s.table[i] = (w >> 1) & 0x7777777777777777
	}
	s.additions /= 2
	s.aged = true
}
