package shard

import "math/bits"

// sketch estimates how often each key of one shard was seen recently: a
// count-min sketch of 4-bit counters, sixteen to a word, four counters per
// key, all four in one 64-byte block of eight words so that a key costs one
// cache line. Every sampleSize increments it halves all counters, so that
// what was popular long ago fades (TinyLFU's reset). A bounded shard uses
// it to admit a new key only if the key is seen more often than the entry
// that would be evicted for it.
//
// The table is allocated by the first increment after init, which a shard
// makes once it is half full: a cache sized far above what it holds costs
// no table, and its inserts touch none.
//
// sketch is not safe for concurrent use: a shard uses it under shard.mu.
type sketch struct {
	table      []uint64
	blockShift uint // 64 - log2(blocks): a product's top bits pick a block
	words      int  // the table's size once allocated
	additions  int
	sampleSize int
	// aged is set at the first reset: from then on the sketch holds a
	// sample's worth of history.
	aged bool
}

// newSketch returns a sketch for a shard holding up to bound entries: 16
// counters per entry, rounded up to a power of two (at least one block),
// and a reset every 20 sightings per entry. Hits reach the sketch at most
// maxRef times per pass of the clock hand, so its sample covers more
// accesses than its number of increments suggests.
func newSketch(bound int) sketch {
	words := 1 << bits.Len(uint(max(bound, 8)-1))
	return sketch{
		words:      words,
		blockShift: uint(64 - bits.Len(uint(words/8-1))),
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
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// counter returns the word index and bit shift of the i-th counter of
// seed: the block from the seed's top bits, then for counter i one of the
// two words 2i and 2i+1 of that block and one of its 16 nibbles, from a
// byte of the seed's low bits.
func (s *sketch) counter(seed uint64, i int) (int, uint) {
	block := int(seed >> s.blockShift) // 0 when the shift is 64: one block
	b := seed >> (8 * i)
	return block*8 + 2*i + int(b&1), uint(b>>1&15) * 4
}

// increment counts one sighting of the key with shard hash h.
func (s *sketch) increment(h uint64) {
	if s.table == nil {
		s.table = make([]uint64, s.words)
	}
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
	if s.table == nil {
		return 0
	}
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
