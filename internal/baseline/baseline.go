// Package baseline is the literal Go port of the cache design mcpflow
// replaced: a map behind a sync.RWMutex with double-checked locking. It
// exists only so that benchmarks can compare shard.Cache, and the caches built
// on it, with the old design in the same run. Do not use it elsewhere.
package baseline

import (
	"context"
	"sync"
)

// Cache is a map guarded by a sync.RWMutex.
//
// Cache is safe for concurrent use by multiple goroutines. The zero value is
// not usable; create one with New. A Cache must not be copied after first
// use.
//
// GetOrLoad follows the old design exactly: a read-locked lookup (in Go the
// "unlocked fast path" must take the read lock, since a map read racing a
// write is a fatal error), then the write lock, a second lookup, and the
// load run while the write lock is held. Every other key waits for a slow
// load; that is the behaviour the benchmarks measure.
type Cache[K comparable, V any] struct {
	mu    sync.RWMutex
	m     map[K]V
	loads int64 // guarded by mu
}

// New returns an empty Cache.
func New[K comparable, V any]() *Cache[K, V] {
	return &Cache[K, V]{m: make(map[K]V)}
}

// Get returns the value for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// Set stores v for k.
func (c *Cache[K, V]) Set(k K, v V) {
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
}

// Delete removes k.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// GetOrLoad returns the value for k, loading it under the write lock on a
// miss. A failed load is not stored.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, k K, load func(context.Context, K) (V, error)) (V, error) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v, nil
	}
	c.loads++
	v, err := load(ctx, k)
	if err != nil {
		return v, err
	}
	c.m[k] = v
	return v, nil
}

// Loads returns how many loads ran.
func (c *Cache[K, V]) Loads() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.loads
}
