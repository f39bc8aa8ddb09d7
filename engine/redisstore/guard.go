package redisstore

import (
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/engine/state"
)

// guard remembers, per session, the highest version this replica wrote or
// saw in a reply from Redis, and whether it deleted the session. A cached
// read that is older than that mark is stale: Redis sends the
// invalidation of a replica's own write after the write's reply, and
// another connection's cached copy may still be in the client's cache for
// a moment. The store then reads from Redis again, so a replica always
// reads its own writes and never goes back in time.
//
// A guard is safe for concurrent use by multiple goroutines. Marks are
// raised atomically (xsync Compute), never lowered, and forgotten once
// older than keep: a client-side cache entry never outlives the cache TTL,
// so an older mark can no longer catch anything.
type guard struct {
	m    *xsync.Map[string, mark]
	keep time.Duration
	// lastSweep is when expired marks were last removed, in unix ns.
	lastSweep atomic.Int64
	// now returns the time in unix ns; tests replace it.
	now func() int64
}

type mark struct {
	ver     state.Version
	deleted bool
	at      int64 // unix ns of the last raise
}

func newGuard(keep time.Duration) *guard {
	g := &guard{m: xsync.NewMap[string, mark](), keep: keep, now: func() int64 { return time.Now().UnixNano() }}
	g.lastSweep.Store(g.now())
	return g
}

// saw raises id's mark to ver.
func (g *guard) saw(id string, ver state.Version) {
	now := g.now()
	g.m.Compute(id, func(old mark, loaded bool) (mark, xsync.ComputeOp) {
		if loaded && (old.deleted || old.ver > ver) {
			old.at = now
			return old, xsync.UpdateOp
		}
		return mark{ver: ver, at: now}, xsync.UpdateOp
	})
	g.sweep(now)
}

// gone records that this replica deleted id (or saw it missing after
// having seen version ver).
func (g *guard) gone(id string, ver state.Version) {
	now := g.now()
	g.m.Store(id, mark{ver: ver, deleted: true, at: now})
	g.sweep(now)
}

// stale reports whether a read of id that found the session (exists) at
// version ver is older than what this replica wrote or saw.
func (g *guard) stale(id string, exists bool, ver state.Version) bool {
	m, ok := g.m.Load(id)
	if !ok || g.now()-m.at > int64(g.keep) {
		return false
	}
	if m.deleted {
		return exists
	}
	return !exists || ver < m.ver
}

// sweep removes expired marks, at most once per keep, on the calling
// goroutine: no background goroutine is needed.
func (g *guard) sweep(now int64) {
	last := g.lastSweep.Load()
	if now-last < int64(g.keep) || !g.lastSweep.CompareAndSwap(last, now) {
		return
	}
	cutoff := now - int64(g.keep)
	g.m.Range(func(id string, m mark) bool {
		if m.at < cutoff {
			g.m.Compute(id, func(cur mark, loaded bool) (mark, xsync.ComputeOp) {
				if loaded && cur.at < cutoff {
					return cur, xsync.DeleteOp
				}
				return cur, xsync.CancelOp
			})
		}
		return true
	})
}
