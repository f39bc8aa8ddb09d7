package server

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/server/internal/telemetry"
	"github.com/mcpflow/mcpflow/server/internal/transport"
)

// Client log notifications (notifications/message) tell a client about
// the events it would show its user: a rebuilt or failed standards index,
// a phase gate that refused evidence, a session store that does not
// answer. Each session receives those at or above the level it chose with
// logging/setLevel (mcp-go's default for a session is error). The
// server's own log on stderr is separate and unchanged.
//
// Under protocol 2026-07-28 logging/setLevel no longer exists: a request
// declares the level it wants in _meta io.modelcontextprotocol/logLevel,
// and gets the notifications/message its own work causes, at that level or
// above, on its own response stream (requestLog). A request that does not
// ask gets none. mcp-go serves each such request on a session it does not
// register, so the broadcasts reach the sessions of the earlier protocol
// versions only.

// liveSessions is the set of registered MCP sessions, kept from mcp-go's
// session hooks. It is safe for concurrent use; its zero value is empty.
type liveSessions struct {
	mu  sync.Mutex
	ids map[string]struct{} // guarded by mu
}

func (l *liveSessions) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ids == nil {
		l.ids = map[string]struct{}{}
	}
	l.ids[id] = struct{}{}
}

func (l *liveSessions) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ids, id)
}

func (l *liveSessions) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.ids))
	for id := range l.ids {
		out = append(out, id)
	}
	return out
}

// sessionHooks keeps liveSessions up to date.
func (s *Server) sessionHooks(h *mcpserver.Hooks) {
	h.AddOnRegisterSession(func(_ context.Context, cs mcpserver.ClientSession) { s.live.add(cs.SessionID()) })
	h.AddOnUnregisterSession(func(_ context.Context, cs mcpserver.ClientSession) { s.live.remove(cs.SessionID()) })
}

// clientLog sends a log notification to every session whose level lets it
// through and, when ctx is a request of protocol 2026-07-28 that asked for
// logs, to that request (see requestLog). It never blocks: a session whose
// queue is full misses it.
func (s *Server) clientLog(ctx context.Context, level mcp.LoggingLevel, logger string, data map[string]any) {
	n := mcp.NewLoggingMessageNotification(level, logger, data)
	skip := ""
	if s.requestLog(ctx, n) {
		// A registered session (stdio) that made the request has its
		// copy already.
		if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil {
			skip = cs.SessionID()
		}
	}
	for _, id := range s.live.list() {
		if id == skip {
			continue
		}
		if err := s.mcp.SendLogMessageToSpecificClient(id, n); err != nil {
			s.log.Debug("log notification not delivered", "session", id, "err", err)
		}
	}
}

// requestLog sends n to the client that made the request in ctx, on the
// request's own stream, when the request is of protocol 2026-07-28 and
// asked through _meta io.modelcontextprotocol/logLevel for logs at n's
// level or below. It reports whether it sent n.
//
// Over HTTP the message goes into the request's logQueue, which the
// response writes before the result: mcp-go's own path for a
// notification, the session's channel, loses one sent just before the
// handler returns (its forwarder may take it off the channel after the
// response path has stopped it). On stdio the gate writes it at once,
// ahead of the response.
func (s *Server) requestLog(ctx context.Context, n mcp.LoggingMessageNotification) bool {
	pi := mcpserver.RequestProtocolInfoFromContext(ctx)
	if pi == nil || !pi.Modern || pi.LogLevel == "" || !n.Params.Level.ShouldSendTo(pi.LogLevel) {
		return false
	}
	params := map[string]any{"level": n.Params.Level, "logger": n.Params.Logger, "data": n.Params.Data}
	b, err := json.Marshal(mcp.JSONRPCNotification{
		JSONRPC:      mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{Method: string(mcp.MethodNotificationMessage), Params: mcp.NotificationParams{AdditionalFields: params}},
	})
	if err != nil {
		return false
	}
	if telemetry.TransportOf(ctx) == telemetry.Stdio {
		// Written now, by the handler, it precedes the response, which
		// mcp-go writes once the handler has returned; through mcp-go's
		// notification channel it could follow it.
		s.mu.Lock()
		g := s.gate
		s.mu.Unlock()
		if g != nil {
			g.WriteLine(b)
			return true
		}
	}
	if transport.QueueLog(ctx, b) {
		// The result must go out as an event stream, which can carry the
		// message before it.
		if up, ok := mcpserver.ClientSessionFromContext(ctx).(mcpserver.SessionWithStreamableHTTPConfig); ok {
			up.UpgradeToSSEWhenReceiveNotification()
		}
		return true
	}
	if err := s.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationMessage), params); err != nil {
		s.log.Debug("log notification not delivered to the request", "err", err)
		return false
	}
	return true
}

// logGateFailed tells the clients that a phase gate refused evidence.
func (s *Server) logGateFailed(ctx context.Context, session string, phase int, errs []string) {
	s.clientLog(ctx, mcp.LoggingLevelWarning, "workflow", map[string]any{
		"event": "gate_failed", "session_id": session, "phase": phase,
		"errors": nonNil(errs),
	})
}

// logStoreUnavailable tells the clients that the session store failed.
func (s *Server) logStoreUnavailable(ctx context.Context, tool string, err error) {
	s.clientLog(ctx, mcp.LoggingLevelError, "store", map[string]any{
		"event": "store_unavailable", "tool": tool, "error": err.Error(),
		"message": "the session store did not answer; workflow calls fail until it is back",
	})
}

// sessionTool reports whether a tool reads or writes the session store,
// so that an unexpected failure of it means the store is unavailable.
func sessionTool(tool string) bool {
	switch tool {
	case ToolSearchStandards, ToolListWorkflows, ToolGetServerInfo:
		return false
	}
	return true
}
