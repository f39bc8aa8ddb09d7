// Package bench compares shard.Cache with the concurrent caches and maps
// people already know, in the same run: otter v2, ristretto v2, theine,
// sync.Map, a raw xsync.Map and the RWMutex baseline that shard.Cache
// replaced.
//
// The package lives in its own module so that none of these peers ever
// becomes a dependency of mcpflow. Its non-test files hold what the
// benchmarks share: one adapter per implementation behind the Cache
// interface (each calling the peer's own API the way its documentation
// suggests), the key sets and the scrambled-zipf key streams, and the
// latency summary. The benchmarks themselves are in peers_test.go; the
// method and the results are in docs/benchmarks/peers.md, and
// bench/cmd/charts draws the charts from a benchmark output file.
//
// Run everything with
//
//	make bench-peers
//
// or, for one workload,
//
//	cd bench && go test -run '^$' -bench 'Throughput' -benchmem -count 5 -cpu 1,2,4 .
package bench
