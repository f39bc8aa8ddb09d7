// Package transport carries MCP between the clients and mcp-go for package
// server: the stdio gate, the streamable HTTP front (the Mcp-Session-Id
// table and the HTTP hardening), and the discovery file. It knows JSON-RPC
// framing and HTTP, and nothing of tools, workflows or resources: what the
// server answers itself before mcp-go sees a message comes in as a
// preflight callback, which both fronts require.
//
// A Guard checks Host, Origin and the bearer token, and reads each request
// body whole, once, under a deadline and a size limit; the SessionTable
// behind it takes those bytes without reading or copying them again,
// decodes the message head once, and decodes params._meta only when the
// params could hold a key it reads. mcp-go decodes the message itself
// afterwards. Handler puts the routes behind the guard and gives every
// response a write deadline.
//
// Concurrency: a Guard is read-only after NewGuard and safe for concurrent
// use. A SessionTable is safe for concurrent use by multiple goroutines
// without additional locking (one mutex guards its bookkeeping; the
// callbacks it is given are called without it held), and must not be
// copied after first use; SetEnd is called once before it serves. A
// StdioGate has one reader (mcp-go's read loop) and any number of
// concurrent writers: writes are serialised, so a message the gate writes
// never interleaves with one mcp-go writes; Pending, Drain, Release,
// WaitIdle, EOF and WriteLine may be called from any goroutine. Pending
// reads the count under the mutex that counts, so it reflects every
// request passed on and every response whose Write has returned before
// the call. QueueLog may be called from any goroutine.
//
// The errors and refusals it produces keep the words package server has
// always used (including the "server:" prefix of ReadDiscovery's errors):
// they reach clients and embedders through package server unchanged.
package transport
