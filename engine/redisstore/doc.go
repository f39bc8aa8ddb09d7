// Package redisstore is the state.Store that lets several mcpflow
// replicas share their sessions through Redis, so that any replica behind
// a load balancer can serve any call of any session. Select it with
// `mcpflow serve --state redis://HOST:PORT/DB` (or MCPFLOW_STATE);
// ParseURL documents the URL and its parameters.
//
// Store is a state.SharedStore and a state.SessionStarter, written on
// rueidis. It is safe for concurrent use by multiple goroutines and by any
// number of processes on one Redis database: every save is one Lua script
// that compares the session's version, so of two saves of the same version
// across replicas exactly one wins, and CreateOrResume makes one active
// session per (workflow_type, target_file) atomic across replicas. Reads
// come from rueidis' client-side cache, which Redis invalidates on every
// write; a replica always reads its own writes, and sees another's once the
// invalidation arrives (the Store type's doc says it in happens-before
// terms).
//
// docs/state.md has the key layout and every guarantee in detail (lost
// replies, deadlines, lost data, pages, size limits); docs/DEPLOYMENT.md
// the Redis settings; docs/benchmarks/redis.md the measurements. The
// package's tests run against a real redis-server (package redistest).
package redisstore
