// Package server is mcpflow's MCP adapter: it serves the workflow engine
// (package engine), its gates (package checkpoint) and the standards search
// (package ragcache) as MCP tools, resources, prompts and completions, under
// mcpflow's names and prAxIs OS's, over stdio and streamable HTTP at once,
// with one mcp-go MCPServer and one engine behind both transports.
//
// A tool handler decodes its arguments once into a typed value or an error
// naming the argument, calls the domain, and maps the answer to the tool's
// wire type, whose JSON names and output schemas belong to this package
// alone (wire.go). A domain failure is an isError result whose text names
// the field and the fix; a Go error is kept for protocol faults. The server
// owns no cache: the caches behind its tools belong to engine, checkpoint
// and ragcache, and a search reply it builds once per query-cache entry is
// kept with that entry.
//
// New checks a Config and builds a Server; Serve runs both transports until
// its context ends, stdin ends or a transport fails, then lets calls in
// flight finish; Handler is the HTTP side alone. A Server is safe for
// concurrent use: Listen and Serve are each called at most once, every
// other method from any goroutine at any time, and every handler runs on
// many goroutines at once. The transports, the stdio proxy and the HTTP
// hardening are package server/internal/transport; metrics and the
// tool-call middleware are package server/internal/telemetry.
//
// docs/server.md has the detail: errors and the wire format, resources,
// prompts, completions, logging and subscriptions in both protocol
// revisions, observability and shutdown; docs/transports.md has stdio, the
// HTTP hardening and the MCP session table; docs/ARCHITECTURE.md shows how
// a tool call flows.
package server
