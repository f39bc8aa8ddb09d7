// Package server is the MCP adapter of mcpflow: it serves the workflow
// engine (package engine) and the standards search (package ragcache) as
// MCP tools (the workflow, search and recovery tools, and prAxIs OS's
// names for them), resources, prompts and completions, over stdio and
// streamable HTTP at the same time, with one mcp-go MCPServer and one
// engine behind both transports.
//
// The package is thin on purpose. A tool handler decodes its arguments,
// calls the engine or the index, and turns the answer into structured
// content with a text fallback, using the prAxIs OS field names. A domain
// failure (a bad argument, an unknown session, a phase that is not the
// current one) becomes an isError result whose text names the argument and
// the fix; such results carry no structured content, because clients
// validate structured content against the tool's output schema. The one
// exception is pos_workflow, prAxIs OS's tool: its output schema is a plain
// object, and its errors carry prAxIs OS's error shape (error, error_type,
// valid_actions, remediation), which satisfies it. A Go error,
// which mcp-go sends as a JSON-RPC error, is kept for protocol faults: a
// cancelled call or a panic recovered by WithRecovery. The package holds no
// cache of its own.
//
// # Resources, prompts, completions, logging
//
// Besides the tools the server speaks the protocol's other primitives:
//
//   - Resources: every file of the standards index as
//     standards://<path> (text/markdown, with its size), read through the
//     index's file cache (a shard.Cache keyed by index generation and path,
//     behind the index's os.Root); every workflow's phase.md, task files
//     and gate-definition.yaml through the template WorkflowFileTemplate,
//     read by the engine through the workflows folder's os.Root.
//     resources/list is paginated (DefaultPageSize), a page cut from the
//     index's sorted file list, so it costs its own files whatever the
//     folder holds; reads go through StandardsTemplate. After a rebuild of the
//     index, the subscribers of a changed file get
//     notifications/resources/updated, and an added or removed file sends
//     notifications/resources/list_changed.
//   - Prompts: one per workflow, named after it, with the arguments
//     target_file (and spec_path for spec_* workflows), telling the agent
//     how to start and proceed; PromptResume continues a session. The list
//     follows the workflows folder, re-read before each prompts request.
//   - Completions (completion/complete): workflow_type, phase and file of
//     the template; session_id, phase and target_file of the prompts; all
//     from the folders and the session store as they are now.
//   - Logging: logging/setLevel, and notifications/message for a rebuilt
//     or failed standards index, a gate that refused evidence, and a
//     session store that failed.
//   - Progress: a reindex_standards call with a progress token gets a
//     notifications/progress per file read and one for the index build; a
//     search_standards call with one, made while the index is being
//     rebuilt, is told so and which generation answers it.
//
// mcp-go v1.2.1 serves these methods but records no resource subscription
// in any of its sessions; the server keeps them itself: a
// resources/subscribe is checked before mcp-go sees it (an unknown URI
// gets -32002, a session holds at most Config.MaxSubscriptions) and
// recorded, and the unsubscribe and session-end hooks release it.
//
// Protocol 2026-07-28 replaces resources/subscribe with the
// resourceSubscriptions of subscriptions/listen, and logging/setLevel with
// a per-request _meta io.modelcontextprotocol/logLevel; mcp-go's
// per-request sessions record neither. The server records each listen
// request's URIs while it runs and writes notifications/resources/updated
// to its stream (listen.go), and writes the notifications/message a
// request's own work causes to that request's stream (requestLog). On
// stdio, where mcp-go sends every broadcast unfiltered, the gate passes a
// list_changed notification only while a listen request that opted into
// it runs, tagged with its id (stdiolisten.go). A
// resources/read or subscription of a URI that names no resource gets
// -32002 in both revisions.
//
// # Arguments and the wire format
//
// Each tool's arguments are decoded once, by one function per tool
// (decodeSearch, decodeStart, decodeTask, ...), into a typed value or an
// error naming the argument; numbers go through internal/jsonnum, the one
// reading of JSON numbers that checkpoint and engine/workflows share. The
// handler passes the value on without checking it again. Session IDs and
// search queries become the domain's types here, through the domain's one
// parse function (state.ParseSessionID, ragcache.ParseQuery) that the CLI
// and the dashboard use too. The engine keeps its own checks of phase,
// target_file and evidence size.
//
// This package owns the wire format of every result. The engine and
// checkpoint return plain Go values without JSON tags (engine.StartResult,
// engine.CompleteResult, checkpoint.Result, ...), and wire.go declares the
// JSON-tagged type of each result with one constructor from its domain
// value. The wire types could not simply be the domain's: the field names
// differ (get_task's task_name, get_current_phase's current_phase), lists
// are [] where the domain leaves nil, and the jsonschema descriptions that
// become the output schemas are about the protocol, not the domain. With
// the tags in one package, a renamed field or a changed schema is one edit
// here, and the engine can change its types without changing what clients
// see.
//
// Output schemas are rewritten for portability (see portableSchemas): no
// type unions and no empty schemas, so that the MCP Inspector's --strict
// check passes and single-type schema dialects accept every tool.
//
// # Transports
//
// Serve runs mcp-go's stdio server on the given stdin and stdout with a
// worker pool of Config.StdioWorkers (mcp-go's default of 5 would make a
// sixth slow call wait), and mcp-go's streamable HTTP handler at /mcp on the
// Server's own http.Server. Between the process and mcp-go's stdio server
// sits a gate that counts requests in flight, so that the end of stdin and
// shutdown let them finish instead of cancelling them; it also bounds the
// size of one message. It counts a message as mcp-go classifies it: only
// one that mcp-go answers with its id (not a notification, not one that
// carries a result, not one whose id does not decode, such as 1e400).
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
// idle keep-alive connections close after IdleTimeout. Every response
// gets a write deadline of WriteTimeout, moved ahead before each write and
// flush, so that a client that stops reading is disconnected and a stream
// still lives as long as its events are taken. /healthz answers "ok".
//
// The MCP protocol sessions of /mcp are the Server's own: an ID it never
// issued, or one ended by DELETE, gets 404 on every method, as the
// streamable HTTP specification asks. At most Config.MaxSessions are live;
// a new one past the bound ends the session idle the longest, or gets 503
// when every one is busy; an initialize that could not succeed is refused
// before a session exists, and one that fails anyway ends the session it
// created. SSE GET streams are bounded per session (StreamsPerSession) and,
// with the subscriptions/listen streams of protocol 2026-07-28, over all
// (Config.MaxStreams); a stream counts until its handler returns, and the
// end of its session (DELETE, eviction, the idle sweep) ends it. Tool arguments may
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
