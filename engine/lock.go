package engine

import (
	"context"
	"sync"
)

// ctxMutex is a mutual exclusion lock whose waiters can give up when their
// context ends. A session's lock is held across a save, and a save to a
// shared store can stall (Redis paused, a network partition) until the
// store's own deadline; callers queued behind it must still return at
// their own deadline rather than wait it out.
//
// The zero ctxMutex is an unlocked mutex. It must not be copied after
// first use. As with sync.Mutex, an Unlock happens before the Lock that
// follows it.
type ctxMutex struct {
	once sync.Once
	// ch holds one token while the mutex is locked; created once.
	ch chan struct{}
}

func (m *ctxMutex) c() chan struct{} {
	m.once.Do(func() { m.ch = make(chan struct{}, 1) })
	return m.ch
}

// Lock locks m, waiting as long as it takes.
func (m *ctxMutex) Lock() { m.c() <- struct{}{} }

// LockContext locks m, or returns ctx.Err() if ctx ends first.
func (m *ctxMutex) LockContext(ctx context.Context) error {
	c := m.c()
	select {
	case c <- struct{}{}:
		return nil
	default:
	}
	select {
	case c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryLock locks m if it is unlocked and reports whether it did.
func (m *ctxMutex) TryLock() bool {
	select {
	case m.c() <- struct{}{}:
		return true
	default:
		return false
	}
}

// Unlock unlocks m. Unlocking an unlocked mutex panics.
func (m *ctxMutex) Unlock() {
	select {
	case <-m.c():
	default:
		panic("engine: unlock of unlocked ctxMutex")
	}
}
