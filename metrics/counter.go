package metrics

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// cacheLine is the false-sharing unit assumed for padding. 64 bytes covers
// amd64 and most arm64 parts; adjacent-line prefetchers make 128 safer still,
// but doubling the memory bought nothing measurable here.
const cacheLine = 64

// Counter is a striped int64 counter.
//
// A Counter is safe for concurrent use by multiple goroutines without
// additional locking. The zero value is not usable: create one with
// NewCounter. A Counter must not be copied after first use.
//
// Add is wait-free: one atomic add on a cell picked by the caller's stack
// address. Value sums the cells with atomic loads; it does not stop writers,
// so a Value taken while Adds run sees each Add either wholly or not at all,
// but not necessarily all Adds that happened before the Value call started in
// real time unless those Adds happen before it in the memory-model sense.
type Counter struct {
	cells []cell
	mask  uintptr
}

type cell struct {
	n atomic.Int64
	_ [cacheLine - 8]byte
}

// NewCounter returns a Counter with enough stripes for the current
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

// stripe picks a cell index from the address of a local variable. Every
// goroutine runs on its own stack, so goroutines spread over the cells
// without any per-goroutine state; a goroutine that is moved keeps its cell,
// which only matters for speed, never for the count.
//
//go:nosplit
func stripe(mask uintptr) uintptr {
	var probe byte
	p := uintptr(unsafe.Pointer(&probe))
	// Goroutine stacks start at 2 KiB and are carved from larger spans, so
	// neighbours differ from bit 11 upward. Fold higher bits in so that
	// stacks 2^k apart do not collide.
	return (p>>11 ^ p>>17) & mask
}

// Add adds delta to the counter.
func (c *Counter) Add(delta int64) {
	c.cells[stripe(c.mask)].n.Add(delta)
}

// Inc adds one to the counter.
func (c *Counter) Inc() { c.Add(1) }

// Value returns the sum of all cells.
func (c *Counter) Value() int64 {
	var sum int64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}

// Reset sets every cell to zero. Adds that race with Reset may be kept or
// dropped; Reset is meant for tests and for operators between measurements.
func (c *Counter) Reset() {
	for i := range c.cells {
		c.cells[i].n.Store(0)
	}
}

type atomicInt64 = atomic.Int64

func procs() int { return runtime.GOMAXPROCS(0) }
