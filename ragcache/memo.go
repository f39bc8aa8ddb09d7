package ragcache

import "sync/atomic"

// Memo is a slot for one value that a caller derives from a cached search
// result, such as the result encoded for the wire, so that every later
// hit on the same cache entry reuses it instead of deriving it again.
//
// A Memo is safe for concurrent use by multiple goroutines without
// additional locking; its zero value is empty. A Store synchronizes before
// every Load that observes the stored value, so a goroutine that loads a
// value sees it fully built. Two callers may both find the slot empty and
// both store; the later store wins, so the value must depend on the result
// alone.
type Memo struct {
	p atomic.Pointer[memoValue]
}

type memoValue struct{ v any }

// Load returns the stored value, or nil.
func (m *Memo) Load() any {
	if v := m.p.Load(); v != nil {
		return v.v
	}
	return nil
}

// Store stores v.
func (m *Memo) Store(v any) { m.p.Store(&memoValue{v}) }
