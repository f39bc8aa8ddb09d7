package server

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Client log notifications (notifications/message) tell a client about
// the events it would show its user: a rebuilt or failed standards index,
// a phase gate that refused evidence, a session store that does not
// answer. Each session receives those at or above the level it chose with
// logging/setLevel (mcp-go's default for a session is error). The
// server's own log on stderr is separate and unchanged.
//
// Under protocol 2026-07-28 logging/setLevel no longer exists and a
// request declares its log level itself; mcp-go then serves each request
// on a session it does not register, so these broadcasts reach the
// sessions of the earlier protocol versions only.

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
// through. It never blocks: a session whose queue is full misses it.
func (s *Server) clientLog(level mcp.LoggingLevel, logger string, data map[string]any) {
	n := mcp.NewLoggingMessageNotification(level, logger, data)
	for _, id := range s.live.list() {
		if err := s.mcp.SendLogMessageToSpecificClient(id, n); err != nil {
			s.log.Debug("log notification not delivered", "session", id, "err", err)
		}
	}
}

// logGateFailed tells the clients that a phase gate refused evidence.
func (s *Server) logGateFailed(session string, phase int, errs []string) {
	s.clientLog(mcp.LoggingLevelWarning, "workflow", map[string]any{
		"event": "gate_failed", "session_id": session, "phase": phase,
		"errors": nonNil(errs),
	})
}

// logStoreUnavailable tells the clients that the session store failed.
func (s *Server) logStoreUnavailable(tool string, err error) {
	s.clientLog(mcp.LoggingLevelError, "store", map[string]any{
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
