// Package layering holds no code, only the test that checks mcpflow's
// import rules: which of our own packages each folder may import, as the
// "may import" column of README.md's layout table writes them down.
//
// The rules point down DESIGN.md's list, cmd > server > engine > spec >
// checkpoint > ragcache > shard > metrics: a package may import the ones
// below it and none above. The store adapters (engine/redisstore) sit
// beside server, above engine, and only cmd wires them in. The test-support
// packages (internal/testutil, internal/baseline, engine/storetest,
// engine/redisstore/redistest) may be imported by tests only.
package layering
