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

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// preflight answers, before mcp-go sees it, a message that the server
// answers itself, and returns nil for every other message, which goes on
// to mcp-go. session is the MCP session the message came on: the
// Mcp-Session-Id over HTTP, transport.StdioSession on stdio, "" for protocol
// 2026-07-28, which has no sessions. Both transports call it.
//
//   - A tools/call whose arguments hold text that is not valid UTF-8 gets
//     a tool error naming the argument (see badTextArg).
//   - resources/read of a URI that names no resource gets -32002, in both
//     protocol revisions (mcp-go answers -32602 in 2026-07-28, and -32603
//     for a URI its template matches that names no file).
//   - resources/subscribe of a URI that names no resource gets -32002;
//     one over the session's limit of subscriptions gets -32600. An
//     accepted one is recorded here, and mcp-go acknowledges it.
//   - subscriptions/listen (protocol 2026-07-28) is held to the same
//     rules for the URIs of its resourceSubscriptions.
func (s *Server) preflight(session string, msg []byte) []byte {
	if answer := textCheck(session, msg); answer != nil {
		return answer
	}
	// Each check decodes the message only when its method's name occurs
	// in it, and leaves alone a message of another method.
	if bytes.Contains(msg, []byte(mcp.MethodResourcesRead)) {
		if answer := s.readCheck(msg); answer != nil {
			return answer
		}
	}
	if session != "" && bytes.Contains(msg, []byte(mcp.MethodResourcesSubscribe)) {
		if answer := s.subscribe(session, msg); answer != nil {
			return answer
		}
	}
	if bytes.Contains(msg, []byte(mcp.MethodSubscriptionsListen)) {
		return s.listenCheck(msg)
	}
	return nil
}

// requestOf decodes a request of method from msg into params, and returns
// its raw ID. It reports false for a message of another method, a
// notification, or one whose params do not decode, all of which go on to
// mcp-go.
func requestOf(msg []byte, method mcp.MCPMethod, params any) (json.RawMessage, bool) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Method != string(method) || len(m.ID) == 0 || string(m.ID) == "null" ||
		len(m.Params) == 0 || json.Unmarshal(m.Params, params) != nil {
		return nil, false
	}
	return m.ID, true
}

// notFound is the -32002 answer for a URI that names no resource.
func notFound(id json.RawMessage, uri string) []byte {
	return errorMessage(id, mcp.RESOURCE_NOT_FOUND,
		fmt.Sprintf("uri %q: no such resource; resources/list and resources/templates/list name them", shorten(uri, 200)),
		map[string]any{"uri": shorten(uri, 200)})
}

// readCheck answers a resources/read of a URI that names no resource.
func (s *Server) readCheck(msg []byte) []byte {
	var p mcp.ReadResourceParams
	id, ok := requestOf(msg, mcp.MethodResourcesRead, &p)
	if !ok || p.URI == "" || s.resourceExists(p.URI) {
		return nil
	}
	return notFound(id, p.URI)
}

// listenCheck answers a subscriptions/listen whose resourceSubscriptions
// name a URI that is no resource, or more URIs than a session may
// subscribe to.
func (s *Server) listenCheck(msg []byte) []byte {
	var p mcp.SubscriptionsListenParams
	id, ok := requestOf(msg, mcp.MethodSubscriptionsListen, &p)
	if !ok {
		return nil
	}
	uris := p.Notifications.ResourceSubscriptions
	if n := len(uris); n > s.cfg.MaxSubscriptions {
		return errorMessage(id, mcp.INVALID_PARAMS,
			fmt.Sprintf("notifications.resourceSubscriptions: %d URIs, more than the limit of %d%s; listen to fewer",
				n, s.cfg.MaxSubscriptions, paren(s.cfg.SettingNames[SettingMaxSubscriptions])), nil)
	}
	for _, uri := range uris {
		if !s.resourceExists(uri) {
			return notFound(id, uri)
		}
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
	var p mcp.SubscribeParams
	id, ok := requestOf(msg, mcp.MethodResourcesSubscribe, &p)
	if !ok || p.URI == "" {
		return nil
	}
	uri := p.URI
	if !s.resourceExists(uri) {
		return notFound(id, uri)
	}
	switch s.subs.add(uri, session, s.cfg.MaxSubscriptions) {
	case subscribeFull:
		return errorMessage(id, mcp.INVALID_REQUEST,
			fmt.Sprintf("this session already has %d resource subscriptions, the limit%s; unsubscribe from some first",
				s.cfg.MaxSubscriptions, paren(s.cfg.SettingNames[SettingMaxSubscriptions])), nil)
	case subscribeNoSession:
		return errorMessage(id, mcp.INVALID_REQUEST, "the MCP session has ended; initialize a new one", nil)
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
	if !ok1 || !ok2 || err != nil || phase < 0 || file == "" || strings.Contains(file, "/") {
		return false
	}
	wf, err := checkpoint.ParseWorkflowName(wt)
	if err != nil {
		return false
	}
	if unescaped, err := url.PathUnescape(file); err == nil {
		file = unescaped
	}
	_, err = s.cfg.Engine.ReadPhaseFile(context.Background(), wf, phase, file)
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
