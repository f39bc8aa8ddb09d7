package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Limits on the streamable HTTP transport's protocol sessions (the
// Mcp-Session-Id ones, not workflow sessions). Each can be changed in
// Config.
const (
	// DefaultMaxSessions bounds the live MCP sessions over HTTP. Each
	// costs about 13 KB; measured, a flood of 60,000 never closed leaves
	// the process at about 120 MB RSS, against 29 MB idle.
	DefaultMaxSessions = 4096
	// DefaultMaxStreams bounds the SSE GET streams open at once, over all
	// sessions; each holds a connection and a few goroutines.
	DefaultMaxStreams = 256
	// StreamsPerSession bounds the SSE GET streams of one session.
	StreamsPerSession = 2
)

// sessionIDPrefix starts every session ID the table issues, as mcp-go's
// own generators do.
const sessionIDPrefix = "mcp-session-"

// allowedMethods is the Allow header of a 405 on /mcp.
const allowedMethods = "GET, HEAD, POST, DELETE"

// sessionTable is the streamable HTTP transport's session-ID manager: it
// issues the IDs, knows every live one, so that an ID it never issued or
// one already terminated gets 404 as the streamable HTTP specification
// asks, and bounds how many are live and how many SSE streams are open.
// When a new session would go over the bound, the session idle the
// longest (no request in flight, no stream open) is ended; when every one
// is busy, the initialize gets a 503.
//
// A sessionTable is safe for concurrent use by multiple goroutines without
// additional locking: every field below mu is guarded by it. It must not
// be copied after first use.
type sessionTable struct {
	max, maxStreams, perSession int
	// end ends a session in the transport (its mcp-go state), after the
	// table let go of it. Set once before the table serves; called
	// without mu held.
	end func(id string)
	// rejected counts a refusal by reason (mcpflow_http_rejected_total);
	// set once before the table serves.
	rejected func(reason string)
	// names are Config.SettingNames, for the refusals at a limit.
	names settingNames

	mu sync.Mutex
	// live holds the sessions issued and not yet terminated.
	live map[string]*liveSession
	// admitting counts initialize requests admitted and not yet
	// finished: a slot is held for each, whether or not its ID was issued
	// yet.
	admitting int
	// streams counts the open SSE GET streams.
	streams int
}

// liveSession is one live session's bookkeeping, guarded by the table's mu.
type liveSession struct {
	lastUsed time.Time
	// busy counts requests in flight and open streams.
	busy    int
	streams int
}

func newSessionTable(maxSessions, maxStreams, perSession int, names settingNames, rejected func(string)) *sessionTable {
	return &sessionTable{max: maxSessions, maxStreams: maxStreams, perSession: perSession, names: names, rejected: rejected, live: map[string]*liveSession{}}
}

var _ mcpserver.SessionIdManager = (*sessionTable)(nil)

// Generate issues a new session ID. mcp-go calls it for an initialize the
// table admitted. The session counts as busy until that initialize is
// answered, so that a concurrent initialize cannot end it before mcp-go
// has registered it.
func (t *sessionTable) Generate() string {
	id := sessionIDPrefix + uuid.NewString()
	t.mu.Lock()
	t.live[id] = &liveSession{lastUsed: time.Now(), busy: 1}
	t.mu.Unlock()
	return id
}

// errUnknownSession is Validate's answer for an ID the table does not
// hold; mcp-go turns it into a 404.
var errUnknownSession = fmt.Errorf("server: unknown or terminated MCP session")

// Validate reports an error for an ID that is not live: never issued, or
// terminated. mcp-go answers 404 to either.
func (t *sessionTable) Validate(id string) (isTerminated bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[id]; !ok {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate forgets the session. Terminating an unknown ID does nothing.
func (t *sessionTable) Terminate(id string) (isNotAllowed bool, err error) {
	t.mu.Lock()
	if ls, ok := t.live[id]; ok {
		t.streams -= ls.streams
		delete(t.live, id)
	}
	t.mu.Unlock()
	return false, nil
}

// admit holds a slot for a new session, ending the session idle the
// longest when the table is full. It reports false when every session is
// busy. The caller calls admitted once the initialize is done.
func (t *sessionTable) admit() bool {
	t.mu.Lock()
	var victim string
	if len(t.live)+t.admitting >= t.max {
		var oldest time.Time
		for id, ls := range t.live {
			if ls.busy == 0 && (victim == "" || ls.lastUsed.Before(oldest)) {
				victim, oldest = id, ls.lastUsed
			}
		}
		if victim == "" {
			t.mu.Unlock()
			return false
		}
		delete(t.live, victim)
	}
	t.admitting++
	t.mu.Unlock()
	if victim != "" && t.end != nil {
		t.end(victim)
	}
	return true
}

func (t *sessionTable) admitted() {
	t.mu.Lock()
	t.admitting--
	t.mu.Unlock()
}

// enter marks a request (or, with stream, an SSE stream) of session id as
// in flight. It returns the HTTP status to refuse it with, or 0.
func (t *sessionTable) enter(id string, stream bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls, ok := t.live[id]
	if !ok {
		return http.StatusNotFound
	}
	if stream {
		switch {
		case ls.streams >= t.perSession:
			return http.StatusTooManyRequests
		case t.streams >= t.maxStreams:
			return http.StatusServiceUnavailable
		}
		ls.streams++
		t.streams++
	}
	ls.busy++
	ls.lastUsed = time.Now()
	return 0
}

// leave ends what enter began. The session may be gone by then.
func (t *sessionTable) leave(id string, stream bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls, ok := t.live[id]
	if !ok {
		return
	}
	if stream {
		ls.streams--
		t.streams--
	}
	ls.busy--
	ls.lastUsed = time.Now()
}

// postHead is what the table reads of a POSTed message.
type postHead struct {
	ID     json.RawMessage `json:"id"`
	Method *string         `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	Params struct {
		Meta *mcp.Meta `json:"_meta"`
	} `json:"params"`
}

// wrap puts the table in front of the streamable HTTP handler: the
// method check, the session-ID check for every method, the bounds, and
// clear errors for messages mcp-go would answer obscurely (a batch, a
// message without a method).
func (t *sessionTable) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(mcpserver.HeaderKeySessionID)
		modern := mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
		switch r.Method {
		case http.MethodPost:
			t.post(w, r, next, id, modern)
		case http.MethodGet, http.MethodDelete:
			if modern {
				next.ServeHTTP(w, r) // mcp-go explains that these are gone
				return
			}
			if id == "" {
				t.rejected("session")
				httpError(w, http.StatusBadRequest, "the Mcp-Session-Id header is required; send initialize first and use the ID it returns")
				return
			}
			stream := r.Method == http.MethodGet
			switch t.enter(id, stream) {
			case http.StatusNotFound:
				t.rejected("session")
				httpError(w, http.StatusNotFound, "unknown or terminated MCP session "+strconv.Quote(shorten(id, 64))+"; send initialize again")
				return
			case http.StatusTooManyRequests:
				t.rejected("capacity")
				httpError(w, http.StatusTooManyRequests, fmt.Sprintf("this session already has %d SSE streams open; close one first", t.perSession))
				return
			case http.StatusServiceUnavailable:
				t.rejected("capacity")
				w.Header().Set("Retry-After", "5")
				httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("the server has %d SSE streams open, its limit%s; retry later", t.maxStreams, t.names.paren(SettingMaxStreams)))
				return
			}
			defer t.leave(id, stream)
			next.ServeHTTP(w, r)
		case http.MethodHead:
			next.ServeHTTP(w, r)
		default:
			t.rejected("method")
			w.Header().Set("Allow", allowedMethods)
			httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, PathMCP, allowedMethods))
		}
	})
}

func (t *sessionTable) post(w http.ResponseWriter, r *http.Request, next http.Handler, id string, modern bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		next.ServeHTTP(w, r) // mcp-go names the content type it wants
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		jsonrpcError(w, http.StatusBadRequest, nil, mcp.PARSE_ERROR, "could not read the request body: "+err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		t.rejected("message")
		jsonrpcError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST,
			"JSON-RPC batches are not supported in this protocol version; send one message per request")
		return
	}
	var head postHead
	if json.Unmarshal(body, &head) != nil {
		next.ServeHTTP(w, r) // mcp-go answers with a parse error
		return
	}
	var reqID any
	if len(head.ID) > 0 {
		_ = json.Unmarshal(head.ID, &reqID)
	}
	if head.Method == nil && head.Result == nil && head.Error == nil {
		t.rejected("message")
		jsonrpcError(w, http.StatusBadRequest, reqID, mcp.INVALID_REQUEST,
			"method: required; a JSON-RPC request or notification names its method, e.g. \"tools/call\"")
		return
	}
	if modern || mcp.IsModernProtocol(head.Params.Meta.ProtocolVersion()) {
		serveChecked(w, r, next, body) // no protocol sessions in this version
		return
	}
	if head.Method != nil && *head.Method == string(mcp.MethodInitialize) {
		if !t.admit() {
			t.rejected("capacity")
			w.Header().Set("Retry-After", "5")
			jsonrpcError(w, http.StatusServiceUnavailable, reqID, mcp.INTERNAL_ERROR,
				fmt.Sprintf("the server has %d live MCP sessions, its limit%s, and every one is busy; retry later, and end sessions you no longer need with DELETE", t.max, t.names.paren(SettingMaxSessions)))
			return
		}
		next.ServeHTTP(w, r)
		// mcp-go returns the ID it generated in this header, error or not.
		if issued := w.Header().Get(mcpserver.HeaderKeySessionID); issued != "" {
			t.leave(issued, false)
		}
		t.admitted()
		return
	}
	if id == "" {
		next.ServeHTTP(w, r) // mcp-go answers a missing ID with its own error
		return
	}
	if t.enter(id, false) == http.StatusNotFound {
		t.rejected("session")
		httpError(w, http.StatusNotFound, "unknown or terminated MCP session "+strconv.Quote(shorten(id, 64))+"; send initialize again")
		return
	}
	defer t.leave(id, false)
	serveChecked(w, r, next, body)
}

// serveChecked passes a tools/call on to next unless an argument holds
// text that is not valid UTF-8, which gets a tool error naming it.
func serveChecked(w http.ResponseWriter, r *http.Request, next http.Handler, body []byte) {
	if id, text, bad := badTextArg(body); bad {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(toolErrorMessage(id, text))
		return
	}
	next.ServeHTTP(w, r)
}

// endSession ends session id in the streamable HTTP server h as a DELETE
// would, which frees every piece of mcp-go state the session holds.
func endSession(h http.Handler, id string) {
	r, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, "http://localhost"+PathMCP, http.NoBody)
	if err != nil {
		return
	}
	r.Header.Set(mcpserver.HeaderKeySessionID, id)
	h.ServeHTTP(&discardWriter{h: http.Header{}}, r)
}

// discardWriter is a ResponseWriter that drops the response.
type discardWriter struct{ h http.Header }

// Header returns the headers, which nobody reads.
func (d *discardWriter) Header() http.Header { return d.h }

// Write drops p.
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// WriteHeader drops the status.
func (d *discardWriter) WriteHeader(int) {}

// httpError answers with a plain-text error.
func httpError(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}

// jsonrpcError answers a POST with a JSON-RPC error object and the given
// HTTP status.
func jsonrpcError(w http.ResponseWriter, status int, id any, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      id,
		"error":   map[string]any{"code": code, "message": msg},
	})
}
