// Package redisstore is the state.Store that lets several mcpflow
// replicas share their sessions through Redis, so that any replica behind
// a load balancer can serve any call of any session.
//
// Select it with `mcpflow serve --state redis://HOST:PORT/DB` (or
// MCPFLOW_STATE); ParseURL documents the URL and its parameters.
//
// # Data
//
// Every key carries one hash tag, so that the multi-key scripts stay
// legal on a Redis cluster; ?prefix= puts a prefix before it:
//
//	[prefix:]{mcpflow}:v1:sess:<uuid>      hash: version, doc (the state JSON), write_id, pair
//	[prefix:]{mcpflow}:v1:active:<hash>    string: id of the active session of a (workflow_type, target_file)
//	[prefix:]{mcpflow}:v1:epoch            string: random id of this Redis data set
//
// <hash> is the first 128 bits of SHA-256 of workflow_type, NUL,
// target_file, in hex. Sessions and their pair key expire after
// Options.SessionTTL without a save (30 days by default).
//
// # Guarantees
//
//   - Saves are compare-and-set on the version, in one Lua script run with
//     EVALSHA, which also refreshes the TTLs and releases the pair when the
//     session completes: across any number of replicas, one save of a
//     given version wins.
//   - CreateOrResume makes one active session per (workflow_type,
//     target_file) atomic across replicas.
//   - Reads are served from rueidis' client-side cache (RESP3 CLIENT
//     TRACKING, OPTIN), invalidated by Redis on every write and capped by
//     Options.CacheTTL. A replica always reads its own writes (a per-session
//     "highest version written or seen" mark sends older cached reads back
//     to Redis); other replicas see a save once the invalidation arrives.
//   - A save whose reply is lost is settled by its write_id: it either
//     landed, or is fenced so that it never lands.
//   - Every call runs under a deadline (Options.Timeout); a connection
//     whose PING goes unanswered for Options.ConnTimeout is closed and its
//     cache dropped, so a replica cut off from Redis fails its reads
//     instead of serving stale sessions.
//   - When Redis loses its data (a restart without persistence), the
//     "not found" errors say so (ErrDataLost).
//
// The package's tests run against a real redis-server (package
// redistest starts one per test package); docs/benchmarks/redis.md has
// the measurements and docs/DEPLOYMENT.md the Redis settings.
package redisstore
