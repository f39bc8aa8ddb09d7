// Package dashboard is mcpflow's web page for the humans behind the
// agents: the sessions and their progress, one session's phases,
// evidence, gate results and history, the queue of phases awaiting
// approval with approve and reject, standards search, and a summary of the
// caches. The server mounts it at / on its HTTP listener, beside /mcp.
//
// Pages are rendered on the server with html/template from embedded
// files; every value that comes from a session (evidence above all) is
// escaped as text. Reading needs no JavaScript; a few lines of it replace
// the page's content when /events (server-sent events) says a session
// changed. A page carries the sessions' fingerprint from before it read
// them and opens /events?since= with it, so a change saved between the
// render and the stream is not missed. Decisions are POSTs that carry a
// CSRF token. With a token configured, a login form sets an HttpOnly,
// SameSite=Strict cookie.
//
// A Dashboard is safe for concurrent use: New sets its fields, read-only
// afterwards apart from the count of open event streams (which Close
// ends), and pages and decisions go through the engine and the index,
// which are safe for concurrent use themselves. docs/DEPLOYMENT.md ("The
// dashboard and approvals") says how people use it.
package dashboard
