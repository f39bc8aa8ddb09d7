// Package layering holds no code, only the test that checks mcpflow's
// import rules: an explicit allow list, per package, of the packages of
// ours it imports, as the "may import" column of docs/ARCHITECTURE.md's
// package table writes them down (go test ./internal/layering -update
// rewrites that column from the lists).
//
// The lists follow the graph docs/ARCHITECTURE.md draws: cmd wires server,
// the stores and the engine; server adapts MCP to engine, checkpoint and
// ragcache; engine orchestrates spec, checkpoint and the file and session
// caches; shard and metrics are at the bottom. A list names exactly what a
// package imports, so a new edge is a decision written here, and a stale
// permission (checkpoint "may" import ragcache) fails the test. The
// test-support packages (internal/testutil, internal/baseline,
// engine/storetest, engine/redisstore/redistest) may be imported by tests
// only.
package layering
