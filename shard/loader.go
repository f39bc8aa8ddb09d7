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
// caller loads again.
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
// nothing on a hit.
//
// GetOrLoad panics if load is nil.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, k K, load func(ctx context.Context, k K) (V, error)) (V, error) {
	if v, ok, e := c.lookup(k); ok {
		return v, nil
	} else if e != nil {
		return wait(ctx, e)
	}
	if load == nil {
		panic("shard: GetOrLoad called with a nil load function")
	}
	return c.loadSlow(ctx, k, load)
}

// lookup is the lock-free first step of GetOrLoad: it returns the live value
// (ok true), or the call of a load in flight to wait for, or neither when
// the caller must take the slow path.
func (c *Cache[K, V]) lookup(k K) (v V, ok bool, inflight *call[V]) {
	it, found := c.shardFor(k).m.Load(k)
	if !found {
		return v, false, nil
	}
	if it.p != nil {
		c.rec.RecordCoalesced()
		return v, false, it.p
	}
	if it.expires == 0 || c.now() < it.expires {
		c.hit(&it)
		return it.val, true, nil
	}
	return v, false, nil
}

func (c *Cache[K, V]) loadSlow(ctx context.Context, k K, load func(context.Context, K) (V, error)) (V, error) {
	s := c.shardFor(k)
	if err := ctx.Err(); err != nil {
		var zero V
		return zero, err
	}
	p := &call[V]{done: make(chan struct{})}
	var (
		actual         item[V]
		mine           bool
		isNew, expired bool
	)
	// The bucket lock is held only while this function decides; the load
	// itself runs after Compute returns.
	s.m.Compute(k, func(old item[V], loaded bool) (item[V], xsync.ComputeOp) {
		if loaded && (old.p != nil || c.live(&old)) {
			actual = old
			return old, xsync.CancelOp
		}
		pi := item[V]{p: p}
		if loaded {
			pi.seq, pi.ref, expired = old.seq, old.ref, true
		} else if c.bounded {
			pi.seq, pi.ref, isNew = s.seq.Add(1), new(refBit), true
		}
		actual, mine = pi, true
		return pi, xsync.UpdateOp
	})
	if !mine {
		if actual.p != nil {
			c.rec.RecordCoalesced()
			return wait(ctx, actual.p)
		}
		c.hit(&actual)
		return actual.val, nil
	}
	c.rec.RecordMiss()
	c.rec.RecordLoad()
	if expired {
		c.rec.RecordExpirations(1)
	}
	if isNew {
		c.inserted(s, k, actual.seq)
	}
	if ctx.Done() == nil {
		c.runLoad(ctx, s, k, p, load)
		return p.val, p.err
	}
	go c.runLoad(context.WithoutCancel(ctx), s, k, p, load)
	return wait(ctx, p)
}

// runLoad runs load for the call p, stores its value in place of p's
// pending item if that item is still k's, and wakes the waiters. A failed
// load removes the pending item instead.
func (c *Cache[K, V]) runLoad(ctx context.Context, s *shard[K, V], k K, p *call[V], load func(context.Context, K) (V, error)) {
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
		if err != nil {
			c.rec.RecordLoadError()
		}
		removed := false
		s.m.Compute(k, func(old item[V], loaded bool) (item[V], xsync.ComputeOp) {
			if !loaded || old.p != p {
				// Deleted, cleared or replaced while loading: that wins,
				// and the result goes only to this load's callers.
				return old, xsync.CancelOp
			}
			if err != nil {
				removed = true
				return old, xsync.DeleteOp
			}
			return item[V]{val: v, expires: c.expiry(), seq: old.seq, ref: old.ref}, xsync.UpdateOp
		})
		if removed && c.bounded {
			s.count.Add(-1)
		}
		p.val, p.err = v, err
		// Publish before waking: a waiter that wakes and calls Get hits.
		close(p.done)
	}()
	v, err = load(ctx, k)
	returned = true
}

// wait blocks until the call p completes or ctx ends.
func wait[V any](ctx context.Context, p *call[V]) (V, error) {
	select {
	case <-p.done:
		return p.val, p.err
	default:
	}
	select {
	case <-p.done:
		return p.val, p.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}
