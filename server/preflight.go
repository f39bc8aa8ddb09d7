package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpflow/mcpflow/engine/state"
)

// stdioSession is the ID mcp-go v1.2.1 gives its one stdio session.
const stdioSession = "stdio"

// preflight answers, before mcp-go sees it, a message that the server
// answers itself, and returns nil for every other message, which goes on
// to mcp-go. session is the MCP session the message came on: the
// Mcp-Session-Id over HTTP, stdioSession on stdio, "" for protocol
// 2026-07-28, which has no sessions. Both transports call it.
//
//   - A tools/call whose arguments hold text that is not valid UTF-8 gets
//     a tool error naming the argument (see badTextArg).
//   - resources/subscribe of a URI that names no resource gets -32002;
//     one over the session's limit of subscriptions gets -32600. An
//     accepted one is recorded here, and mcp-go acknowledges it.
func (s *Server) preflight(session string, msg []byte) []byte {
	if answer := textCheck(session, msg); answer != nil {
		return answer
	}
	if session != "" && bytes.Contains(msg, []byte(mcp.MethodResourcesSubscribe)) {
		return s.subscribe(session, msg)
	}
	return nil
}

// textCheck is the part of preflight that needs no server: a tool error
// for a tools/call whose arguments hold text that is not valid UTF-8.
func textCheck(_ string, msg []byte) []byte {
	if id, text, bad := badTextArg(msg); bad {
		return toolErrorMessage(id, text)
	}
	return nil
}

// subscribe checks and records a resources/subscribe of session. It
// leaves to mcp-go every message that mcp-go would refuse itself: one it
// cannot decode, a notification, an empty URI.
func (s *Server) subscribe(session string, msg []byte) []byte {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	var req mcp.SubscribeRequest
	if json.Unmarshal(msg, &m) != nil || m.Method != string(mcp.MethodResourcesSubscribe) ||
		len(m.ID) == 0 || string(m.ID) == "null" || json.Unmarshal(msg, &req) != nil || req.Params.URI == "" {
		return nil
	}
	uri := req.Params.URI
	if !s.resourceExists(uri) {
		return errorMessage(m.ID, mcp.RESOURCE_NOT_FOUND,
			fmt.Sprintf("uri %q: no such resource; resources/list and resources/templates/list name them", shorten(uri, 200)),
			map[string]any{"uri": shorten(uri, 200)})
	}
	switch s.subs.add(uri, session, s.cfg.MaxSubscriptions) {
	case subscribeFull:
		return errorMessage(m.ID, mcp.INVALID_REQUEST,
			fmt.Sprintf("this session already has %d resource subscriptions, the limit%s; unsubscribe from some first",
				s.cfg.MaxSubscriptions, paren(s.cfg.SettingNames[SettingMaxSubscriptions])), nil)
	case subscribeNoSession:
		return errorMessage(m.ID, mcp.INVALID_REQUEST, "the MCP session has ended; initialize a new one", nil)
	}
	return nil
}

// resourceExists reports whether resources/read of uri would find a
// resource: a file in the standards index, or a workflow's phase file.
func (s *Server) resourceExists(uri string) bool {
	if p, ok := standardsPath(uri); ok {
		_, ok := s.cfg.Index.File(p)
		return ok
	}
	rest, ok := strings.CutPrefix(uri, "workflow://")
	if !ok {
		return false
	}
	wt, rest, ok1 := strings.Cut(rest, "/phases/")
	ps, file, ok2 := strings.Cut(rest, "/")
	phase, err := strconv.Atoi(ps)
	if !ok1 || !ok2 || err != nil || phase < 0 || !validName(wt) || file == "" || strings.Contains(file, "/") {
		return false
	}
	if unescaped, err := url.PathUnescape(file); err == nil {
		file = unescaped
	}
	_, err = s.cfg.Engine.ReadPhaseFile(context.Background(), wt, phase, file)
	return !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrInvalidArgument)
}

// errorMessage is a JSON-RPC error response for the request id.
func errorMessage(id json.RawMessage, code int, msg string, data any) []byte {
	e := map[string]any{"code": code, "message": msg}
	if data != nil {
		e["data"] = data
	}
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": e})
	if err != nil {
		return nil
	}
	return b
}
