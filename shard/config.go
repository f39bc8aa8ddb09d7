package shard

import (
	"errors"
	"fmt"
	"time"

	"github.com/mcpflow/mcpflow/metrics"
)

// maxShards bounds Config.Shards; more shards than this only waste memory.
const maxShards = 1 << 16

// DefaultShards is the number of shards used when Config.Shards is 0 and
// Config.MaxEntries is 0. An unbounded cache gains nothing from more than one
// shard: xsync already locks per bucket, and every extra shard costs an
// xxhash of the key on every call (see docs/BENCHMARKS.md).
const DefaultShards = 1

// DefaultBoundedShards is the number of shards used when Config.Shards is 0
// and Config.MaxEntries is set: each shard keeps its own eviction clock and
// its own lock, so inserts of new keys contend on one of these locks, not on
// one for the whole cache.
const DefaultBoundedShards = 16

// Config configures a Cache. The zero Config is valid: no TTL, no bound, the
// default shard count, no background sweeper, the real clock and the default
// striped counters.
type Config struct {
	// TTL is how long an entry lives after it is stored. 0 means entries
	// never expire. Expiry is checked on every read; Sweep removes expired
	// entries from memory. With a TTL the shards' tables grow as entries
	// are added but never shrink (Clear included), since a TTL cache
	// empties and refills as its entries expire: memory stays at the
	// largest number of entries the cache has held.
	TTL time.Duration

	// MaxEntries bounds the number of entries. 0 means unbounded. The bound
	// is split evenly over the shards; see Cache for the eviction policy and
	// how far a burst of inserts may overshoot it.
	MaxEntries int

	// Shards is the number of shards, a power of two from 1 to 65536.
	// 0 selects DefaultShards, or DefaultBoundedShards when MaxEntries is
	// set. When MaxEntries is smaller than Shards, the shard count is
	// lowered to the largest power of two not above MaxEntries.
	Shards int

	// SizeHint, when positive, sizes the shards' tables for that many
	// entries up front, so that a cache filling up to its working size does
	// not grow its tables while serving. 0 starts small and grows on demand.
	SizeHint int

	// SweepInterval, when positive, starts a background goroutine that calls
	// Sweep at that interval until Close. It requires a TTL.
	SweepInterval time.Duration

	// Clock replaces the wall clock, for tests. When nil, expiry is checked
	// against a coarse clock that a background goroutine advances every
	// TTL/100 (at least 1 ms, at most 1 s) while the TTL is non-zero, because
	// reading the real clock costs more than the rest of a cache hit.
	Clock Clock

	// Recorder receives the cache's events. When nil, the cache keeps its
	// own metrics.Counters. Use metrics.NoOp{} to record nothing.
	Recorder metrics.Recorder
}

// Clock tells the time. It must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// ErrInvalidConfig is wrapped by every error New returns for a bad Config.
var ErrInvalidConfig = errors.New("shard: invalid config")

func (cfg Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: Config.%s %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.TTL < 0:
		return bad("TTL", "must be 0 (never expire) or positive, got %v", cfg.TTL)
	case cfg.MaxEntries < 0:
		return bad("MaxEntries", "must be 0 (unbounded) or positive, got %d", cfg.MaxEntries)
	case cfg.Shards < 0 || cfg.Shards > maxShards:
		return bad("Shards", "must be 0 (default) or a power of two from 1 to %d, got %d", maxShards, cfg.Shards)
	case cfg.Shards&(cfg.Shards-1) != 0:
		return bad("Shards", "must be a power of two, got %d", cfg.Shards)
	case cfg.SizeHint < 0:
		return bad("SizeHint", "must be 0 (grow on demand) or positive, got %d", cfg.SizeHint)
	case cfg.SweepInterval < 0:
		return bad("SweepInterval", "must be 0 (no sweeper) or positive, got %v", cfg.SweepInterval)
	case cfg.SweepInterval > 0 && cfg.TTL == 0:
		return bad("SweepInterval", "is %v but TTL is 0, so nothing can expire; set a TTL or leave SweepInterval at 0", cfg.SweepInterval)
	}
	return nil
}

// shardCount resolves the configured shard count.
func (cfg Config) shardCount() int {
	n := cfg.Shards
	if n == 0 {
		n = DefaultShards
		if cfg.MaxEntries > 0 {
			n = DefaultBoundedShards
		}
	}
	if cfg.MaxEntries > 0 {
		for n > cfg.MaxEntries {
			n >>= 1
		}
	}
	return n
}

// tickFor returns the coarse clock's resolution for a TTL.
func tickFor(ttl time.Duration) time.Duration {
	return min(max(ttl/100, time.Millisecond), time.Second)
}
