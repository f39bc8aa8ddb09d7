package shard

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/puzpuzpuz/xsync/v4"
)

// ErrLoadPanicked is matched, through errors.Is, by the error that every
// caller of a load that panicked receives.
var ErrLoadPanicked = errors.New("shard: load panicked")

// ErrLoadGoexit is the error that the callers waiting for a load receive
// when the load called runtime.Goexit instead of returning. Nothing is
// stored for the key.
var ErrLoadGoexit = errors.New("shard: load called runtime.Goexit")

// PanicError is the error GetOrLoad returns when the load function panicked.
// The panic is recovered so that the key is released and the waiters wake;
// it is not re-raised.
type PanicError struct {
	// Value is what the load passed to panic.
	Value any
	// Stack is the loading goroutine's stack at the panic.
	Stack []byte
}

// Error describes the panic.
func (e *PanicError) Error() string {
	return fmt.Sprintf("shard: load panicked: %v", e.Value)
}

// Unwrap returns ErrLoadPanicked and, when the panic value is an error, that
// error too.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrLoadPanicked, err}
	}
	return []error{ErrLoadPanicked}
}

// GetOrLoad returns the live value for k, or loads it by calling load(ctx,
// k). For a given key at most one load runs at a time: the first caller to
// miss stores a pending entry and runs load; every caller that arrives while
// it runs waits for it and receives the same value or error. A successful
// result is stored with the cache's TTL; an error is not stored, so the next
// caller loads again. In a bounded cache the admission filter may refuse a
// new key (see Cache): its load's callers still receive the value, but it
// is not stored.
//
// The load runs outside every lock: other keys, and a resize of the shard's
// table, never wait for it. It runs on a context that keeps ctx's values but
// not its cancellation, so a caller that leaves does not cancel a load that
// other callers wait for. When ctx can be cancelled, the load runs on its own
// goroutine and every caller, the first included, returns ctx.Err() as soon
// as its ctx ends; the load then finishes and stores its value for later
// callers. When ctx can never be cancelled (its Done is nil) the load runs on
// the calling goroutine.
//
// A load that panics releases the key: its callers receive a *PanicError and
// nothing is stored. A load that calls runtime.Goexit (t.FailNow in a test,
// for example) releases the key too: the callers waiting for it receive
// ErrLoadGoexit and nothing is stored. If Delete, Clear or Set changes k
// while its load runs, the load's callers still receive its result, but the
// result is not stored.
//
// Metrics: the caller that loads records a Miss and a Load (and a LoadError
// if it fails), a caller that waits records Coalesced, and a caller that
// finds a live value records a Hit. Every call records exactly one of Hit,
// Miss and Coalesced.
//
// load may outlive the call (a caller whose ctx ends returns while the load
// goes on), so the compiler moves it to the heap: a closure written at the
// call site that captures variables costs one small allocation per call, hit
// or miss. A load built once, which finds what it needs from the key, costs
// nothing on a hit; GetOrLoadWith hands such a load what the key does not
// carry.
//
// GetOrLoad panics if load is nil.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, k K, load func(ctx context.Context, k K) (V, error)) (V, error) {
	// The lock-free hit path, written out rather than called: as a call
	// it costs a quarter of a hit (docs/benchmarks/cache.md).
	if e, found := c.shardFor(k).m.Load(k); found {
		switch e.state.Load() {
		case ready:
			if e.expires == 0 || c.now() < e.expires {
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
				return e.val, nil
			}
		case pending:
			c.rec.RecordCoalesced()
			return e.wait(ctx)
		}
	}
	if load == nil {
		panic("shard: GetOrLoad called with a nil load function")
	}
	v, _, err := c.loadSlow(ctx, k, load)
	return v, err
}

// GetOrLoadWith is GetOrLoad for a load that needs more than the key: it
// returns the live value for k, or loads it by calling load(ctx, k, arg),
// with GetOrLoad's guarantees and metrics. loaded reports whether this call
// ran the load (it then counted the Miss); a caller that found a value or
// waited for another caller's load gets false.
//
// arg is copied to the heap only when the call loads, so a load that is a
// plain function, or a function value built once, costs nothing on a hit:
// the form for a load that would otherwise be a closure capturing per-call
// variables. Whatever arg points to must stay valid, and unchanged, until
// the load returns, which may be after this call returns.
//
// GetOrLoadWith panics if load is nil.
func GetOrLoadWith[K comparable, V, A any](ctx context.Context, c *Cache[K, V], k K, arg A,
	load func(ctx context.Context, k K, arg A) (V, error),
) (v V, loaded bool, err error) {
	if e, found := c.shardFor(k).m.Load(k); found {
		switch e.state.Load() {
		case ready:
			if e.expires == 0 || c.now() < e.expires {
				// Written out as in GetOrLoad.
				switch {
				case c.plain:
					c.ctr.RecordHit()
				case c.ctr != nil:
					c.ctr.RecordHit()
					if r := e.ref.Load(); r < maxRef {
						e.ref.Store(r + 1)
					}
				default:
					c.hit(e)
				}
				return e.val, false, nil
			}
		case pending:
			c.rec.RecordCoalesced()
			v, err = e.wait(ctx)
			return v, false, err
		}
	}
	if load == nil {
		panic("shard: GetOrLoadWith called with a nil load function")
	}
	// Copied here so that only this path moves arg to the heap.
	a := arg
	return c.loadSlow(ctx, k, func(ctx context.Context, k K) (V, error) { return load(ctx, k, a) })
}

// loadSlow is the miss path of GetOrLoad and GetOrLoadWith; loaded reports
// whether this caller ran load.
func (c *Cache[K, V]) loadSlow(ctx context.Context, k K, load func(context.Context, K) (V, error)) (v V, loaded bool, err error) {
	s, h := c.shardHash(k)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return v, false, ctxErr
	}
	pe := &entry[V]{}
	pe.state.Store(pending)
	cancellable := ctx.Done() != nil
	if cancellable {
		// This caller will wait for its own load: give the entry its
		// channel now, inside the entry, so that waiting costs one
		// allocation instead of two.
		pe.lw.ch = make(chan struct{})
		pe.w.Store(&pe.lw)
	}
	var (
		actual         *entry[V]
		isNew, expired bool
	)
	// The bucket lock is held only while this function decides; the load
	// itself runs after Compute returns.
	s.m.Compute(k, func(old *entry[V], loaded bool) (*entry[V], xsync.ComputeOp) {
		if loaded {
			switch old.state.Load() {
			case pending:
				actual = old
				return old, xsync.CancelOp
			case ready:
				if old.expires == 0 || c.now() < old.expires {
					actual = old
					return old, xsync.CancelOp
				}
				expired = true
			}
			if c.bounded {
				pe.seq = old.seq
				pe.ref.Store(old.ref.Load())
			}
		} else if c.bounded {
			pe.seq, isNew = s.seq.Add(1), true
		}
		actual = pe
		return pe, xsync.UpdateOp
	})
	if actual != pe {
		if actual.state.Load() == pending {
			c.rec.RecordCoalesced()
			v, err = actual.wait(ctx)
			return v, false, err
		}
		c.hit(actual)
		return actual.val, false, nil
	}
	if c.ctr != nil {
		// Direct calls, which the compiler can inline, rather than two
		// through the interface.
		c.ctr.RecordMiss()
		c.ctr.RecordLoad()
	} else {
		c.rec.RecordMiss()
		c.rec.RecordLoad()
	}
	if expired {
		c.rec.RecordExpirations(1)
	}
	if isNew {
		c.inserted(s, k, pe, h)
	}
	if !cancellable {
		c.runLoad(ctx, s, k, pe, load)
		return pe.val, true, pe.err
	}
	go c.runLoad(context.WithoutCancel(ctx), s, k, pe, load)
	v, err = pe.wait(ctx)
	return v, true, err
}

// runLoad runs load for the pending entry e, makes e ready with the loaded
// value unless e was detached meanwhile, and wakes the waiters. A failed
// load makes e dead and removes it, if it is still k's.
func (c *Cache[K, V]) runLoad(ctx context.Context, s *shard[K, V], k K, e *entry[V], load func(context.Context, K) (V, error)) {
	var (
		v   V
		err error
		// returned is set once load returns. The deferred function runs
		// without it when load panicked (recover then reports the value)
		// or called runtime.Goexit (recover reports nothing, and v, err
		// are the zero values, which must not be taken for a result).
		returned bool
	)
	defer func() {
		if !returned {
			if r := recover(); r != nil {
				err = &PanicError{Value: r, Stack: debug.Stack()}
			} else {
				err = ErrLoadGoexit
			}
		}
		refused := e.err == errRefused //nolint:errorlint // a sentinel the admission filter stores as is, never wrapped
		e.val, e.err = v, err
		switch {
		case err != nil:
			c.rec.RecordLoadError()
			e.state.Store(dead)
			removed := s.removeIfCurrent(k, e)
			if removed && c.bounded {
				s.count.Add(-1)
			}
		case refused:
			// The admission filter turned the key away: the callers get
			// v, the cache keeps nothing. The swap fails when Delete,
			// Clear or Set detached e first; they removed or replaced it.
			if e.state.CompareAndSwap(pending, dead) {
				removed := s.removeIfCurrent(k, e)
				if removed {
					s.count.Add(-1)
					c.rec.RecordEvictions(1)
				}
			}
		default:
			e.expires = c.expiry()
			// Publish before waking: a waiter that wakes and calls Get
			// hits. The swap fails only when Delete, Clear or Set
			// detached e first; they win, and v goes only to the waiters.
			e.state.CompareAndSwap(pending, ready)
		}
		e.finish()
	}()
	v, err = load(ctx, k)
	returned = true
}

// finish wakes the callers waiting for e's load. e.val and e.err must be
// written before it is called.
func (e *entry[V]) finish() {
	if w := e.w.Swap(finished); w != nil {
		close(w.ch)
	}
}

// wait blocks until the load of the pending entry e finishes or ctx ends.
func (e *entry[V]) wait(ctx context.Context) (V, error) {
	w := e.w.Load()
	if w == nil {
		nw := &waiters{ch: make(chan struct{})}
		if e.w.CompareAndSwap(nil, nw) {
			w = nw
		} else {
			// Another waiter made the channel first, or the load
			// finished: either way w is now set.
			w = e.w.Load()
		}
	}
	if w == finished {
		return e.val, e.err
	}
	select {
	case <-w.ch:
		return e.val, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}
