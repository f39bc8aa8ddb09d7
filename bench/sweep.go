package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/shard"
)

// FakeClock is a settable clock for the sweep benchmark. It satisfies both
// shard.Clock and otter.Clock, and is safe for concurrent use.
type FakeClock struct{ ns atomic.Int64 }

// Set moves the clock to t.
func (c *FakeClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Now returns the clock's time (shard.Clock).
func (c *FakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// NowNano returns the clock's time in Unix nanoseconds (otter.Clock).
func (c *FakeClock) NowNano() int64 { return c.ns.Load() }

// Tick returns nil: no periodic clean-ups, so that only the benchmark's
// own sweeps remove entries (otter.Clock).
func (c *FakeClock) Tick(time.Duration) <-chan time.Time { return nil }

// TTLCache is a cache whose entries expire a fixed TTL after they are
// stored, by the time of a FakeClock, and whose expired entries one call
// removes.
type TTLCache interface {
	// Set stores v for k, to expire TTL after the clock's time now.
	Set(k string, v int)
	// Get returns the live value for k.
	Get(k string) (int, bool)
	// Sweep removes the expired entries.
	Sweep()
	// Len returns the number of entries held, expired or not.
	Len() int
	// Settle finishes the work that the cache deferred to a background
	// goroutine (otter applies writes to its policy asynchronously), so that
	// none of it runs after the clock moves and expires entries outside
	// Sweep. The benchmark calls it while nothing has expired.
	Settle()
	// Close releases the cache's goroutines.
	Close()
}

// TTLImpl is one implementation for the sweep benchmark.
type TTLImpl struct {
	// Name is the sub-benchmark name.
	Name string
	// How says what Sweep calls.
	How string
	// New builds one cache with the TTL on the clock.
	New func(ttl time.Duration, clock *FakeClock) TTLCache
}

// TTLImpls returns the implementations that can expire entries by a clock
// the benchmark controls and remove them on request. theine and ristretto
// are not among them: neither lets a caller inject a clock or run its
// expiry on demand.
func TTLImpls() []TTLImpl {
	return []TTLImpl{
		{Name: "shard", How: "shard.Cache.Sweep (Config.TTL, Config.Clock)", New: newShardTTL},
		{Name: "otter", How: "otter.Cache.CleanUp (ExpiryWriting, Options.Clock)", New: newOtterTTL},
		{Name: "xsync", How: "xsync.Map.DeleteMatching on a stored deadline", New: newXsyncTTL},
		{Name: "syncmap", How: "sync.Map.Range with CompareAndDelete on a stored deadline", New: newSyncMapTTL},
	}
}

// ttlFuncs is a TTLCache made of the functions an adapter fills in.
type ttlFuncs struct {
	set    func(k string, v int)
	get    func(k string) (int, bool)
	sweep  func()
	settle func()
	len    func() int
	close  func()
}

// Set calls the adapter's set.
func (f *ttlFuncs) Set(k string, v int) { f.set(k, v) }

// Get calls the adapter's get.
func (f *ttlFuncs) Get(k string) (int, bool) { return f.get(k) }

// Sweep calls the adapter's sweep.
func (f *ttlFuncs) Sweep() { f.sweep() }

// Len calls the adapter's len.
func (f *ttlFuncs) Len() int { return f.len() }

// Settle calls the adapter's settle, if it has one.
func (f *ttlFuncs) Settle() {
	if f.settle != nil {
		f.settle()
	}
}

// Close calls the adapter's close, if it has one.
func (f *ttlFuncs) Close() {
	if f.close != nil {
		f.close()
	}
}

func newShardTTL(ttl time.Duration, clock *FakeClock) TTLCache {
	c := mustShard(shard.Config{TTL: ttl, Clock: clock})
	return &ttlFuncs{
		set:   c.Set,
		get:   c.Get,
		sweep: func() { c.Sweep() },
		len:   c.Len,
		close: c.Close,
	}
}

func newOtterTTL(ttl time.Duration, clock *FakeClock) TTLCache {
	c := otter.Must(&otter.Options[string, int]{
		ExpiryCalculator: otter.ExpiryWriting[string, int](ttl),
		Clock:            clock,
	})
	return &ttlFuncs{
		set:    func(k string, v int) { c.Set(k, v) },
		get:    c.GetIfPresent,
		sweep:  c.CleanUp,
		settle: c.CleanUp,
		len:    c.EstimatedSize,
		close:  func() { c.StopAllGoroutines() },
	}
}

// deadlined is a value with the Unix-nanosecond time it expires.
type deadlined struct {
	v   int
	exp int64
}

func newXsyncTTL(ttl time.Duration, clock *FakeClock) TTLCache {
	m := xsync.NewMap[string, deadlined]()
	return &ttlFuncs{
		set: func(k string, v int) { m.Store(k, deadlined{v, clock.NowNano() + int64(ttl)}) },
		get: func(k string) (int, bool) {
			d, ok := m.Load(k)
			if !ok || d.exp <= clock.NowNano() {
				return 0, false
			}
			return d.v, true
		},
		sweep: func() {
			now := clock.NowNano()
			m.DeleteMatching(func(_ string, d deadlined) (bool, bool) { return d.exp <= now, false })
		},
		len: m.Size,
	}
}

func newSyncMapTTL(ttl time.Duration, clock *FakeClock) TTLCache {
	var m sync.Map
	return &ttlFuncs{
		set: func(k string, v int) { m.Store(k, deadlined{v, clock.NowNano() + int64(ttl)}) },
		get: func(k string) (int, bool) {
			a, ok := m.Load(k)
			if !ok {
				return 0, false
			}
			d := a.(deadlined)
			if d.exp <= clock.NowNano() {
				return 0, false
			}
			return d.v, true
		},
		sweep: func() {
			now := clock.NowNano()
			m.Range(func(k, a any) bool {
				if a.(deadlined).exp <= now {
					m.CompareAndDelete(k, a)
				}
				return true
			})
		},
		// sync.Map keeps no count.
		len: func() int {
			n := 0
			m.Range(func(any, any) bool { n++; return true })
			return n
		},
	}
}
