package metrics

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/puzpuzpuz/xsync/v4"
)

// The ways of choosing a counter cell that issue 22 weighed, side by side
// in one benchmark run (docs/benchmarks/cache.md, "Third pass"). Only
// "home" is the package's own; the others are kept here, in tests, as the
// measured alternatives.

type adder interface{ Add(delta int64) }

// stackCounter is the scheme before issue 22: the cell is a fold of the
// stack address, fixed for the goroutine's life.
type stackCounter struct {
	cells []cell
	mask  uintptr
}

func (c *stackCounter) Add(delta int64) {
	var probe byte
	p := uintptr(unsafe.Pointer(&probe))
	c.cells[(p>>11^p>>17)&c.mask].n.Add(delta)
}

// poolCounter gets per-P affinity from a sync.Pool of tokens, as xsync's
// Counter does (which also takes the runtime's cheap random source through
// linkname, not allowed here): a token names a cell, and a failed
// compare-and-swap moves the token to a random cell.
type poolCounter struct {
	cells []cell
	mask  uint32
	pool  sync.Pool
	next  atomic.Uint32
}

type poolToken struct{ idx uint32 }

func (c *poolCounter) Add(delta int64) {
	t, ok := c.pool.Get().(*poolToken)
	if !ok {
		t = &poolToken{idx: c.next.Add(1)}
	}
	for {
		n := &c.cells[t.idx&c.mask].n
		if v := n.Load(); n.CompareAndSwap(v, v+delta) {
			break
		}
		t.idx = rand.Uint32()
	}
	c.pool.Put(t)
}

// sharedCounter is one atomic word for everyone.
type sharedCounter struct{ n atomic.Int64 }

func (c *sharedCounter) Add(delta int64) { c.n.Add(delta) }

func cellSchemes() []struct {
	name string
	new  func() adder
} {
	cells := func() []cell { return make([]cell, stripesFor(procs())) }
	return []struct {
		name string
		new  func() adder
	}{
		{"home", func() adder { return NewCounter() }},
		{"stack", func() adder { c := cells(); return &stackCounter{cells: c, mask: uintptr(len(c) - 1)} }},
		{"pool", func() adder { c := cells(); return &poolCounter{cells: c, mask: uint32(len(c) - 1)} }},
		{"xsync", func() adder { return xsync.NewCounter() }},
		{"shared", func() adder { return &sharedCounter{} }},
	}
}

// BenchmarkCellSchemes: every goroutine of RunParallel adds to one counter,
// built afresh for each run. At -cpu 1 it is the cost of an uncontended
// add; at -cpu 2 and 4, what two or four cores adding at once pay.
// Interfaces on both sides keep the call cost equal across schemes.
func BenchmarkCellSchemes(b *testing.B) {
	for _, s := range cellSchemes() {
		b.Run("scheme="+s.name, func(b *testing.B) {
			c := s.new()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Add(1)
				}
			})
		})
	}
}
