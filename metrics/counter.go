package metrics

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// cacheLine is the false-sharing unit assumed for padding: two 64-byte
// lines, because the adjacent-line (spatial) prefetchers of many amd64
// parts fetch lines in aligned pairs, and two cores writing the two halves
// of one pair slow each other much as if they shared a line (sync.Pool
// pads its per-P slots to 128 bytes for the same reason). A cell choice
// that moves away from contention sees only writes to the caller's own
// cell, so it could not notice a shared pair: each cell gets a pair to
// itself.
const cacheLine = 128

// Counter is a striped int64 counter: a sum kept in several cache-line
// padded cells, so that goroutines adding at once on different cores write
// different cache lines.
//
// A Counter is safe for concurrent use by multiple goroutines without
// additional locking. The zero value is not usable: create one with
// NewCounter. A Counter must not be copied after first use.
//
// Add is wait-free: an atomic load and an atomic add on the caller's home
// cell, and, when the add shows that another goroutine wrote the cell in
// between, one atomic store that moves the caller's home for its next Add
// (see "Choosing a cell" in the source). Each Add is counted exactly once.
// Goroutines that run at once on different cores and keep adding
// practically never share a cell for longer than their first few Adds.
//
// In the terminology of the Go memory model, an Add that happens before a
// call of Value is included in the value it returns. Value does not stop
// writers: an Add concurrent with Value is included wholly or not at all,
// and Adds concurrent with one Value call may be included in any
// combination.
//
// Reset sets the counter to zero: Adds that happen before Reset are gone
// after it, Adds that happen after it are kept, and an Add concurrent with
// Reset may be kept or dropped, but never counted twice or halved.
type Counter struct {
	cells []cell
	mask  uintptr
}

type cell struct {
	n atomic.Int64
	_ [cacheLine - 8]byte
}

// NewCounter returns a Counter with enough cells for the current
// GOMAXPROCS (four per P, rounded up to a power of two).
func NewCounter() *Counter {
	n := stripesFor(runtime.GOMAXPROCS(0))
	return &Counter{cells: make([]cell, n), mask: uintptr(n - 1)}
}

func stripesFor(procs int) int {
	n := 1
	for n < 4*procs {
		n <<= 1
	}
	return n
}

// Choosing a cell.
//
// Two goroutines that add at the same time on different cores should write
// different cells. Go gives a goroutine no identity, and a package outside
// the runtime no per-P state short of sync.Pool, whose Get and Put of a
// per-P token cost more than the rest of a cache hit
// (docs/benchmarks/cache.md, "Third pass"). So the choice follows Java's
// LongAdder instead: each goroutine has a home cell, and a goroutine that
// finds its home cell contended moves to another.
//
// A goroutine is known by its stack: the address of a local variable, in
// units of the smallest stack (2 KiB), hashed. Its home is that hash plus
// the offset kept in its slot of probes, a table shared by every counter
// of the process, as Java keeps one probe per thread for all of its
// adders. Contention shows as a cell that changed between the caller's
// load and its add: on a cell that one core writes, the add returns the
// loaded count plus delta, practically always. When it does not, the
// caller sets its slot's offset to the count it loaded (its low bits are
// as good as random, and two goroutines that collided loaded different
// counts), so its next add goes, in all likelihood, to another cell. The
// add itself is counted where it was made.
//
// The previous scheme took the cell from the stack address alone,
// (sp>>11 ^ sp>>17) & mask, for the life of the goroutine. Goroutines
// started together get stacks 2 KiB apart from one span, so two readers
// got neighbouring cells in one run and the same cell, or the two halves
// of one 128-byte pair, in another (6 % and 20 % of 300 runs of a
// benchmark's two goroutines), and every add of that run paid for it.
//
// The add is written out in Counter.Add, Counters.add and
// Counters.RecordHit rather than shared through a helper: a helper's
// results push it over the inliner's budget, and the hit path of a cache
// is its inlined RecordHit (TestHotPathsInline).

// probeBits is log2 of the number of slots of probes.
const probeBits = 10

// probes holds, per slot of goroutine stack hashes, the offset of those
// goroutines' home cell from their hash. A slot starts at zero and is
// rewritten when an add from it finds its cell contended. Goroutines whose
// hashes share a slot share its offset; their cells still differ unless
// their hashes agree in the low bits too.
var probes [1 << probeBits]atomic.Uint32

// Add adds delta to the counter.
func (c *Counter) Add(delta int64) {
	var anchor byte
	h := uint32(uintptr(unsafe.Pointer(&anchor))>>11) * 0x9E3779B9
	p := &probes[h>>(32-probeBits)]
	n := &c.cells[uintptr(p.Load()+h)&c.mask].n
	if v := n.Load(); n.Add(delta) != v+delta {
		p.Store(uint32(v))
	}
}

// Inc adds one to the counter.
func (c *Counter) Inc() { c.Add(1) }

// Value returns the sum of all cells; see Counter for what it includes.
func (c *Counter) Value() int64 {
	var sum int64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}

// Reset sets the counter to zero; see Counter for the Adds that race with
// it. Value calls concurrent with Reset may see some cells already zeroed
// and others not. Reset is meant for tests and for operators between
// measurements.
func (c *Counter) Reset() {
	for i := range c.cells {
		c.cells[i].n.Store(0)
	}
}

type atomicInt64 = atomic.Int64

func procs() int { return runtime.GOMAXPROCS(0) }
