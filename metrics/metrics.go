package metrics

import (
	"fmt"
	"unsafe"
)

// Snapshot is a point-in-time copy of a cache's counters.
//
// The fields are read one after another while the cache keeps running, so a
// Snapshot taken under load is not atomic across fields: Hits may include an
// operation whose Miss of a retry is not yet counted. Each field on its own is
// exact for every operation that happened before the Snapshot call.
type Snapshot struct {
	// Hits counts lookups that found a live value.
	Hits int64 `json:"hits"`
	// Misses counts lookups that found no live value. In GetOrLoad only the
	// caller that runs the load records a Miss; callers that wait for that
	// load record Coalesced instead.
	Misses int64 `json:"misses"`
	// Loads counts load functions started by GetOrLoad.
	Loads int64 `json:"loads"`
	// LoadErrors counts loads that returned an error or panicked.
	LoadErrors int64 `json:"load_errors"`
	// Coalesced counts callers that found a load already in flight for their
	// key and waited for its result instead of loading again.
	Coalesced int64 `json:"coalesced"`
	// Evictions counts live entries removed to respect a size bound.
	Evictions int64 `json:"evictions"`
	// Expirations counts entries removed because their TTL had passed.
	Expirations int64 `json:"expirations"`
	// Entries is the number of entries the cache held when the snapshot was
	// taken, as reported by the cache itself.
	Entries int64 `json:"entries"`
	// HitRate is Hits/(Hits+Misses), or 0 when both are 0.
	HitRate float64 `json:"hit_rate"`
}

// String formats the snapshot on one line for logs.
func (s Snapshot) String() string {
	return fmt.Sprintf("hits=%d misses=%d loads=%d load_errors=%d coalesced=%d evictions=%d expirations=%d entries=%d hit_rate=%.3f",
		s.Hits, s.Misses, s.Loads, s.LoadErrors, s.Coalesced, s.Evictions, s.Expirations, s.Entries, s.HitRate)
}

// HitRate returns hits/(hits+misses), or 0 when both are 0.
func HitRate(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}

// Recorder receives a cache's events. Implementations must be safe for
// concurrent use; RecordHit sits on the cache's read path and should cost a
// few nanoseconds at most.
type Recorder interface {
	RecordHit()
	RecordMiss()
	RecordLoad()
	RecordLoadError()
	RecordCoalesced()
	RecordEvictions(n int)
	RecordExpirations(n int)
}

// Snapshotter is implemented by recorders that keep counts a cache can report.
type Snapshotter interface {
	// Snapshot returns the counts so far. Entries is left to the caller.
	Snapshot() Snapshot
}

// NoOp is a Recorder that records nothing. Its zero value is ready to use.
type NoOp struct{}

// RecordHit does nothing.
func (NoOp) RecordHit() {}

// RecordMiss does nothing.
func (NoOp) RecordMiss() {}

// RecordLoad does nothing.
func (NoOp) RecordLoad() {}

// RecordLoadError does nothing.
func (NoOp) RecordLoadError() {}

// RecordCoalesced does nothing.
func (NoOp) RecordCoalesced() {}

// RecordEvictions does nothing.
func (NoOp) RecordEvictions(int) {}

// RecordExpirations does nothing.
func (NoOp) RecordExpirations(int) {}

// Counters is the default Recorder: striped counters for every event.
//
// Counters is safe for concurrent use by multiple goroutines without
// additional locking. The zero value is not usable: create one with
// NewCounters. Counters must not be copied after first use.
//
// The seven events of one stripe share a padded 128-byte stripe, and a
// goroutine records every event in its home stripe, chosen and moved away
// from contention as Counter chooses its home cell: recording costs an
// atomic load and an atomic add on a line that, practically always, only
// the caller's core writes. Each record is wait-free and counted exactly once. Snapshot
// and Reset give each event's count the guarantees that Counter's Value
// and Reset give its sum; see Snapshot for what holds across events.
type Counters struct {
	stripes []stripeCells
	mask    uintptr
}

// The seven event counts of one stripe, padded to a cache line.
type stripeCells struct {
	v [numEvents]atomicInt64
	_ [cacheLine - numEvents*8]byte
}

const (
	evHit = iota
	evMiss
	evLoad
	evLoadError
	evCoalesced
	evEviction
	evExpiration
	numEvents
)

// NewCounters returns zeroed Counters sized for the current GOMAXPROCS.
func NewCounters() *Counters {
	n := stripesFor(procs())
	return &Counters{stripes: make([]stripeCells, n), mask: uintptr(n - 1)}
}

// add adds n to event ev in the caller's home stripe, and moves the
// caller's home if that stripe was contended, as Counter.Add does.
func (c *Counters) add(ev int, n int64) {
	var anchor byte
	h := uint32(uintptr(unsafe.Pointer(&anchor))>>11) * 0x9E3779B9
	p := &probes[h>>(32-probeBits)]
	x := &c.stripes[uintptr(p.Load()+h)&c.mask].v[ev]
	if v := x.Load(); x.Add(n) != v+n {
		p.Store(uint32(v))
	}
}

// RecordHit counts one hit. It is add(evHit, 1) written out, so that it
// inlines into a cache's hit path.
func (c *Counters) RecordHit() {
	var anchor byte
	h := uint32(uintptr(unsafe.Pointer(&anchor))>>11) * 0x9E3779B9
	p := &probes[h>>(32-probeBits)]
	x := &c.stripes[uintptr(p.Load()+h)&c.mask].v[evHit]
	if v := x.Load(); x.Add(1) != v+1 {
		p.Store(uint32(v))
	}
}

// RecordMiss counts one miss.
func (c *Counters) RecordMiss() { c.add(evMiss, 1) }

// RecordLoad counts one load started.
func (c *Counters) RecordLoad() { c.add(evLoad, 1) }

// RecordLoadError counts one failed or panicked load.
func (c *Counters) RecordLoadError() { c.add(evLoadError, 1) }

// RecordCoalesced counts one caller that waited for another's load.
func (c *Counters) RecordCoalesced() { c.add(evCoalesced, 1) }

// RecordEvictions counts n evictions.
func (c *Counters) RecordEvictions(n int) { c.add(evEviction, int64(n)) }

// RecordExpirations counts n expirations.
func (c *Counters) RecordExpirations(n int) { c.add(evExpiration, int64(n)) }

func (c *Counters) sum(ev int) int64 {
	var s int64
	for i := range c.stripes {
		s += c.stripes[i].v[ev].Load()
	}
	return s
}

// Snapshot sums the stripes. Entries is zero; the cache fills it in.
func (c *Counters) Snapshot() Snapshot {
	s := Snapshot{
		Hits:        c.sum(evHit),
		Misses:      c.sum(evMiss),
		Loads:       c.sum(evLoad),
		LoadErrors:  c.sum(evLoadError),
		Coalesced:   c.sum(evCoalesced),
		Evictions:   c.sum(evEviction),
		Expirations: c.sum(evExpiration),
	}
	s.HitRate = HitRate(s.Hits, s.Misses)
	return s
}

// Reset zeroes every counter. Events that race with Reset may be kept or
// dropped.
func (c *Counters) Reset() {
	for i := range c.stripes {
		for ev := range numEvents {
			c.stripes[i].v[ev].Store(0)
		}
	}
}

var (
	_ Recorder    = (*Counters)(nil)
	_ Snapshotter = (*Counters)(nil)
	_ Recorder    = NoOp{}
)
