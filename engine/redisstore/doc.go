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
//	[prefix:]{mcpflow}:v1:sess:<uuid>      hash: version, doc (the state JSON), write_id, pair, sum (the summary JSON)
//	[prefix:]{mcpflow}:v1:active:<hash>    string: id of the active session of a (workflow_type, target_file)
//	[prefix:]{mcpflow}:v1:epoch            string: random id of this Redis data set
//	[prefix:]{mcpflow}:v1:idx:all          sorted set: every session's list key (state.ListKey), all at score 0
//	[prefix:]{mcpflow}:v1:idx:active       sorted set: the active sessions' list keys
//	[prefix:]{mcpflow}:v1:idx:completed    sorted set: the completed sessions' list keys
//	[prefix:]{mcpflow}:v1:idx:failed       sorted set: the list keys of the active sessions whose last gate attempt failed
//	[prefix:]{mcpflow}:v1:idx:lk           hash: session id to its list key
//	[prefix:]{mcpflow}:v1:idx:built        string: set once the index holds every session
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
//   - list_sessions pages come from the summary index, which the save,
//     create and delete scripts keep in the same atomic step: a page costs
//     two round trips and the page (ZRANGE BYLEX, then one script that
//     reads the page's summaries), never the whole data set. Open indexes
//     a data set written before the index existed (Reindex). Sessions that
//     expire leave their index entries until a page meets them.
//   - A session document is never read before its length is checked
//     (HSTRLEN, pipelined with the version): one over the limit
//     (state.MaxStateFileBytes) is reported as corrupt. A session key that
//     is not a hash is that session's error, in lists and loads, and
//     Delete removes it.
//
// The package's tests run against a real redis-server (package
// redistest starts one per test package); docs/benchmarks/redis.md has
// the measurements and docs/DEPLOYMENT.md the Redis settings.
package redisstore
