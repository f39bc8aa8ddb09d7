// Package server is the MCP adapter of mcpflow: it serves the workflow
// engine (package engine) and the standards search (package ragcache) as
// ten MCP tools, over stdio and streamable HTTP at the same time, with one
// mcp-go MCPServer and one engine behind both transports.
//
// The package is thin on purpose. A tool handler checks its arguments,
// calls the engine or the index, and turns the answer into structured
// content with a text fallback, using the prAxIs OS field names. A domain
// failure (a bad argument, an unknown session, a phase that is not the
// current one) becomes an isError result whose text names the argument and
// the fix; such results carry no structured content, because clients
// validate structured content against the tool's output schema. A Go error,
// which mcp-go sends as a JSON-RPC error, is kept for protocol faults: a
// cancelled call or a panic recovered by WithRecovery. The package holds no
// cache of its own.
//
// # Transports
//
// Serve runs mcp-go's stdio server on the given stdin and stdout with a
// worker pool of Config.StdioWorkers (mcp-go's default of 5 would make a
// sixth slow call wait), and mcp-go's streamable HTTP handler at /mcp on the
// Server's own http.Server. Between the process and mcp-go's stdio server
// sits a gate that counts requests in flight, so that the end of stdin and
// shutdown let them finish instead of cancelling them; it also bounds the
// size of one message.
//
// # HTTP hardening
//
// The HTTP server binds to loopback unless told otherwise, and a
// non-loopback address requires a bearer token (CheckBind). Every request's
// Host must be a loopback name, the bound address or one of
// Config.AllowedHosts (DNS rebinding protection), and a request that
// carries an Origin must come from a loopback origin or one of
// Config.AllowedOrigins. With a token, /mcp and /metrics answer 401 without
// it. Bodies are limited to Config.MaxBodyBytes (413 beyond), headers must
// arrive within ReadHeaderTimeout, bodies within BodyTimeout (a client
// that stalls or trickles one is answered 400 and disconnected then), and
// idle keep-alive connections close after IdleTimeout. /healthz answers
// "ok".
//
// The MCP protocol sessions of /mcp are the Server's own: an ID it never
// issued, or one ended by DELETE, gets 404 on every method, as the
// streamable HTTP specification asks. At most Config.MaxSessions are live;
// a new one past the bound ends the session idle the longest, or gets 503
// when every one is busy. SSE GET streams are bounded per session
// (StreamsPerSession) and over all (Config.MaxStreams). Tool arguments may
// nest at most MaxArgDepth levels, and their text must be valid UTF-8,
// checked on the raw bytes before encoding/json would turn a lone surrogate
// into U+FFFD; each is refused with an error naming the argument.
//
// # Observability
//
// Every tool call is counted and timed by tool and transport, and logged at
// debug level with the tool, transport, client name, client session and
// duration. /metrics serves these and every cache's metrics.Snapshot in the
// Prometheus format (see docs/DEPLOYMENT.md for the names), the engine's
// conflict counters, and the state store's metrics (Config.StateStore:
// the Redis store's CAS conflicts, retries, invalidations and latency);
// get_server_info returns the same numbers as JSON, the store's under
// state_store.
//
// # Shutdown
//
// Serve returns when its context ends, stdin reaches EOF (stdio) or a
// transport fails. It then refuses new requests, lets calls in flight
// finish, closes the HTTP MCP sessions, shuts the HTTP server down within
// Config.ShutdownTimeout and closes what is left, and removes the discovery
// file.
package server
