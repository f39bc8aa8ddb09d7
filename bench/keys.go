package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
)

// KeySet returns n distinct string keys of about 40 bytes, shaped like the
// keys mcpflow caches (a session or document path). The same seed gives the
// same keys.
func KeySet(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	keys := make([]string, n)
	seen := make(map[string]struct{}, n)
	for i := 0; i < n; {
		k := fmt.Sprintf("mcpflow/sessions/%016x/phase-%02d", r.Uint64(), r.IntN(100))
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		keys[i] = k
		i++
	}
	return keys
}

// Zipf draws ranks 0..n-1 with probability proportional to 1/(rank+1)^s.
// Unlike math/rand's Zipf it accepts any s > 0, so it can produce the
// YCSB exponent 0.99. It is not safe for concurrent use.
type Zipf struct {
	cdf []float64
	r   *rand.Rand
}

// NewZipf returns a Zipf over n ranks with exponent s, seeded by seed.
func NewZipf(n int, s float64, seed uint64) *Zipf {
	cdf := make([]float64, n)
	sum := 0.0
	for i := range cdf {
		sum += 1 / math.Pow(float64(i+1), s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return &Zipf{cdf: cdf, r: rand.New(rand.NewPCG(seed, ^seed))}
}

// Next returns the next rank.
func (z *Zipf) Next() int {
	u := z.r.Float64()
	i := sort.SearchFloat64s(z.cdf, u)
	return min(i, len(z.cdf)-1)
}

// ScrambledZipf returns length indices into a set of n keys: zipf ranks with
// exponent s, each mapped through a fixed random permutation so that the hot
// keys are spread over the key space (and over hash buckets) rather than
// being its first entries. This is the key stream of Caffeine's and otter's
// GetPutBenchmark. length must be a power of two so that readers can wrap
// with a mask.
func ScrambledZipf(n, length int, s float64, seed uint64) []uint32 {
	if length&(length-1) != 0 {
		panic("bench: ScrambledZipf length must be a power of two, got " + strconv.Itoa(length))
	}
	z := NewZipf(n, s, seed)
	perm := rand.New(rand.NewPCG(seed+1, seed+2)).Perm(n)
	out := make([]uint32, length)
	for i := range out {
		out[i] = uint32(perm[z.Next()])
	}
	return out
}

// FreshKeys makes keys that no other FreshKeys value makes: each goroutine
// of a benchmark owns one and asks it for a never-seen key per operation.
// A key is about 40 bytes and costs one allocation, the same for every
// implementation.
type FreshKeys struct {
	buf    []byte
	prefix int
	n      uint64
}

// NewFreshKeys returns a FreshKeys whose keys carry id; ids must differ
// between the FreshKeys in use at the same time on the same cache.
func NewFreshKeys(id uint64) *FreshKeys {
	b := fmt.Appendf(nil, "mcpflow/fresh/%08x/", id)
	return &FreshKeys{buf: b, prefix: len(b)}
}

// Next returns the next key.
func (f *FreshKeys) Next() string {
	f.n++
	f.buf = strconv.AppendUint(f.buf[:f.prefix], f.n|1<<60, 16)
	return string(f.buf)
}
