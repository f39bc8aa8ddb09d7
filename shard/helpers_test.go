package shard

// constHash sends every key to the same shard: the adversarial constructor.
func constHash[K comparable](K) uint64 { return 0 }

// newTestCache builds a cache whose shard hash can be replaced.
func newTestCache[K comparable, V any](cfg Config, hash func(K) uint64) *Cache[K, V] {
	if err := cfg.validate(); err != nil {
		panic(err)
	}
	if hash == nil {
		hash = hasherFor[K]()
	}
	return newCache[K, V](cfg, hash)
}
