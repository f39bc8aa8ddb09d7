package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// sessionIDPrefix starts every session ID the table issues, as mcp-go's
// own generators do.
const sessionIDPrefix = "mcp-session-"

// allowedMethods is the Allow header of a 405 on /mcp.
const allowedMethods = "GET, HEAD, POST, DELETE"

// SessionOptions configure a SessionTable.
type SessionOptions struct {
	// MaxSessions bounds the live sessions, MaxStreams the streams open
	// at once (SSE GET streams and subscriptions/listen streams), and
	// PerSession the SSE GET streams of one session. Each must be at
	// least 1.
	MaxSessions, MaxStreams, PerSession int
	// Preflight answers the messages the server answers before mcp-go
	// sees them; it is required. session is the message's Mcp-Session-Id,
	// or "" in protocol 2026-07-28, which has no sessions. It returns the
	// whole JSON-RPC answer, or nil to pass the message on. It is called
	// from many goroutines at once.
	Preflight func(session string, msg []byte) []byte
	// Rejected is called with the reason of every refusal ("session",
	// "capacity", "message", "method"); nil counts nothing.
	Rejected func(reason string)
	// Names say how the operator sets the limits the refusals name.
	Names Names
}

// SessionTable is the streamable HTTP transport's session-ID manager: it
// issues the IDs, knows every live one, so that an ID it never issued or
// one already terminated gets 404 as the streamable HTTP specification
// asks, and bounds how many are live and how many SSE streams are open.
// When a new session would go over the bound, the session idle the
// longest (no request in flight, no stream open) is ended; when every one
// is busy, the initialize gets a 503. Its Wrap puts it in front of
// mcp-go's streamable HTTP handler, which takes it as its
// SessionIdManagerResolver.
//
// A SessionTable is safe for concurrent use by multiple goroutines without
// additional locking: every field below mu is guarded by it. It must not
// be copied after first use.
type SessionTable struct {
	max, maxStreams, perSession int
	// end ends a session in the transport (its mcp-go state), after the
	// table let go of it. Set once by SetEnd before the table serves;
	// called without mu held.
	end       func(id string)
	rejected  func(reason string)
	names     Names
	preflight func(session string, msg []byte) []byte

	mu sync.Mutex
	// live holds the sessions issued and not yet terminated.
	live map[string]*liveSession
	// admitting counts initialize requests admitted and not yet
	// finished: a slot is held for each, whether or not its ID was issued
	// yet.
	admitting int
	// streams counts the open streams: SSE GET streams and
	// subscriptions/listen streams. A stream counts until its handler
	// returns, even once its session is terminated.
	streams int
}

// liveSession is one live session's bookkeeping, guarded by the table's mu.
type liveSession struct {
	lastUsed time.Time
	// busy counts requests in flight and open streams.
	busy    int
	streams int
	// open ends each open GET stream of the session; Terminate calls
	// them, so that a stream does not outlive its session.
	open map[*openStream]struct{}
}

// openStream is one open GET stream; its cancel ends the stream's
// request context, which ends mcp-go's handler.
type openStream struct{ cancel context.CancelFunc }

// NewSessionTable returns an empty table bounded as o says. It panics
// when o.Preflight is nil: every message must pass the server's checks.
func NewSessionTable(o SessionOptions) *SessionTable {
	if o.Preflight == nil {
		panic("transport: NewSessionTable: Preflight is nil")
	}
	return &SessionTable{
		max: o.MaxSessions, maxStreams: o.MaxStreams, perSession: o.PerSession,
		preflight: o.Preflight, rejected: orNop(o.Rejected), names: o.Names,
		live: map[string]*liveSession{},
	}
}

// SetEnd sets how the table ends a session in mcp-go when it evicts one or
// a failed initialize leaves one behind: EndSession with the streamable
// HTTP server the table fronts. Call it once, before the table serves.
func (t *SessionTable) SetEnd(end func(id string)) { t.end = end }

var (
	_ mcpserver.SessionIdManager         = (*SessionTable)(nil)
	_ mcpserver.SessionIdManagerResolver = (*SessionTable)(nil)
)

// Generate issues a new session ID. mcp-go calls it for an initialize the
// table admitted. The session counts as busy until that initialize is
// answered, so that a concurrent initialize cannot end it before mcp-go
// has registered it.
func (t *SessionTable) Generate() string {
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
func (t *SessionTable) Validate(id string) (isTerminated bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live[id]; !ok {
		return false, errUnknownSession
	}
	return false, nil
}

// Terminate forgets the session and ends its open GET streams, which go
// on counting against the limit until their handlers have returned.
// Terminating an unknown ID does nothing.
func (t *SessionTable) Terminate(id string) (isNotAllowed bool, err error) {
	t.mu.Lock()
	ls, ok := t.live[id]
	var open []*openStream
	if ok {
		delete(t.live, id)
		for st := range ls.open {
			open = append(open, st)
		}
	}
	t.mu.Unlock()
	for _, st := range open {
		st.cancel()
	}
	return false, nil
}

// ResolveSessionIdManager returns the manager for r: the table itself,
// or, for an initialize that post admitted, an issuer that records the ID
// mcp-go generates, so that post can end that session whatever mcp-go
// answered.
func (t *SessionTable) ResolveSessionIdManager(r *http.Request) mcpserver.SessionIdManager { //nolint:revive // mcp-go's interface names it
	if r != nil {
		if slot, ok := r.Context().Value(issuedKey{}).(*string); ok {
			return issuer{t, slot}
		}
	}
	return t
}

// issuedKey keys the slot in an initialize request's context where the
// session ID generated for it is recorded.
type issuedKey struct{}

// issuer is the table as the session-ID manager of one initialize: it
// records the ID it generates in slot. mcp-go calls Generate at most once
// per request, on the request's goroutine.
type issuer struct {
	*SessionTable
	slot *string
}

// Generate issues a new session ID and records it.
func (i issuer) Generate() string {
	id := i.SessionTable.Generate()
	*i.slot = id
	return id
}

// admit holds a slot for a new session, ending the session idle the
// longest when the table is full. It reports false when every session is
// busy. The caller calls admitted once the initialize is done.
func (t *SessionTable) admit() bool {
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

func (t *SessionTable) admitted() {
	t.mu.Lock()
	t.admitting--
	t.mu.Unlock()
}

// enter marks a request (or, with a non-nil stream, a GET stream) of
// session id as in flight. It returns the session, or nil and the HTTP
// status to refuse the request with. The caller calls leave with the same
// stream when the handler has returned.
func (t *SessionTable) enter(id string, stream *openStream) (*liveSession, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls, ok := t.live[id]
	if !ok {
		return nil, http.StatusNotFound
	}
	if stream != nil {
		switch {
		case ls.streams >= t.perSession:
			return nil, http.StatusTooManyRequests
		case t.streams >= t.maxStreams:
			return nil, http.StatusServiceUnavailable
		}
		ls.streams++
		t.streams++
		if ls.open == nil {
			ls.open = map[*openStream]struct{}{}
		}
		ls.open[stream] = struct{}{}
	}
	ls.busy++
	ls.lastUsed = time.Now()
	return ls, 0
}

// leave ends what enter began. The session may be terminated by then:
// its bookkeeping is updated all the same, and the stream stops counting
// against the limit only now.
func (t *SessionTable) leave(ls *liveSession, stream *openStream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if stream != nil {
		ls.streams--
		t.streams--
		delete(ls.open, stream)
	}
	ls.busy--
	ls.lastUsed = time.Now()
}

// enterListen counts a subscriptions/listen stream, which belongs to no
// session, against the limit of streams. It reports false at the limit;
// otherwise the caller calls leaveListen when the handler has returned.
func (t *SessionTable) enterListen() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.streams >= t.maxStreams {
		return false
	}
	t.streams++
	return true
}

func (t *SessionTable) leaveListen() {
	t.mu.Lock()
	t.streams--
	t.mu.Unlock()
}

// issued ends what Generate began for an initialize: the session no
// longer counts as busy. When the initialize did not succeed, the session
// is forgotten and ended in mcp-go too, so that a failed initialize holds
// no slot and leaves no state.
func (t *SessionTable) issued(id string, ok bool) {
	t.mu.Lock()
	ls, live := t.live[id]
	if live {
		ls.busy--
		ls.lastUsed = time.Now()
		if !ok {
			delete(t.live, id)
		}
	}
	t.mu.Unlock()
	if live && !ok && t.end != nil {
		t.end(id)
	}
}

// postHead is what the table reads of a POSTed message, decoded once.
type postHead struct {
	ID     json.RawMessage `json:"id"`
	Method *string         `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
	Params json.RawMessage `json:"params"`

	// m is params._meta once meta has decoded it; decoded says it has.
	m       *mcp.Meta
	decoded bool
}

// metaKeys are the _meta keys the table reads. Params that hold none of
// them literally, and no escape that could spell one, have neither.
var metaKeys = [][]byte{[]byte(mcp.MetaKeyProtocolVersion), []byte(mcp.MetaKeyLogLevel)}

// meta returns the message's params._meta, or nil when params is not an
// object or has none. It decodes params at most once, and not at all when
// params cannot hold a key the table reads: a key decodes to one of
// metaKeys only from those bytes or through a backslash escape.
func (h *postHead) meta() *mcp.Meta {
	if h.decoded {
		return h.m
	}
	h.decoded = true
	if len(h.Params) == 0 || (bytes.IndexByte(h.Params, '\\') < 0 &&
		!bytes.Contains(h.Params, metaKeys[0]) && !bytes.Contains(h.Params, metaKeys[1])) {
		return nil
	}
	var p struct {
		Meta *mcp.Meta `json:"_meta"`
	}
	if json.Unmarshal(h.Params, &p) != nil {
		return nil
	}
	h.m = p.Meta
	return h.m
}

// Wrap puts the table in front of the streamable HTTP handler: the
// method check, the session-ID check for every method, the bounds, and
// clear errors for messages mcp-go would answer obscurely (a batch, a
// message without a method).
func (t *SessionTable) Wrap(next http.Handler) http.Handler {
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
			var stream *openStream
			if r.Method == http.MethodGet {
				// The stream ends when its session is terminated: DELETE,
				// eviction or the idle sweep cancel this context.
				ctx, cancel := context.WithCancel(r.Context())
				defer cancel()
				stream = &openStream{cancel: cancel}
				r = r.WithContext(ctx)
			}
			ls, status := t.enter(id, stream)
			switch status {
			case http.StatusNotFound:
				t.unknownSession(w, id)
				return
			case http.StatusTooManyRequests:
				t.rejected("capacity")
				httpError(w, http.StatusTooManyRequests, fmt.Sprintf("this session already has %d SSE streams open; close one first", t.perSession))
				return
			case http.StatusServiceUnavailable:
				t.rejected("capacity")
				w.Header().Set("Retry-After", "5")
				httpError(w, http.StatusServiceUnavailable, t.streamsFull())
				return
			}
			defer t.leave(ls, stream)
			next.ServeHTTP(w, r)
		case http.MethodHead:
			// HEAD answers as GET would, without a stream: 404 for a
			// session that is not live.
			if id != "" && !t.isLive(id) {
				t.rejected("session")
				w.WriteHeader(http.StatusNotFound)
				return
			}
			next.ServeHTTP(w, r)
		default:
			t.rejected("method")
			w.Header().Set("Allow", allowedMethods)
			httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, PathMCP, allowedMethods))
		}
	})
}

// isLive reports whether session id is live.
func (t *SessionTable) isLive(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.live[id]
	return ok
}

func (t *SessionTable) unknownSession(w http.ResponseWriter, id string) {
	t.rejected("session")
	httpError(w, http.StatusNotFound, "unknown or terminated MCP session "+strconv.Quote(clip(id, 64))+"; send initialize again")
}

func (t *SessionTable) streamsFull() string {
	return fmt.Sprintf("the server has %d streams open (SSE GET and subscriptions/listen), its limit%s; retry later", t.maxStreams, paren(t.names.MaxStreams))
}

func (t *SessionTable) post(w http.ResponseWriter, r *http.Request, next http.Handler, id string, modern bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		next.ServeHTTP(w, r) // mcp-go names the content type it wants
		return
	}
	body, err := bodyBytes(r)
	if err != nil {
		jsonrpcError(w, http.StatusBadRequest, nil, mcp.PARSE_ERROR, "could not read the request body: "+err.Error())
		return
	}
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
	method := ""
	if head.Method != nil {
		method = *head.Method
	}
	if modern || mcp.IsModernProtocol(head.meta().ProtocolVersion()) {
		// No protocol sessions in this version; a listen stream counts
		// against the limit of streams until its handler returns.
		if method == string(mcp.MethodSubscriptionsListen) && reqID != nil {
			if !t.enterListen() {
				t.rejected("capacity")
				w.Header().Set("Retry-After", "5")
				jsonrpcError(w, http.StatusServiceUnavailable, reqID, mcp.INTERNAL_ERROR, t.streamsFull())
				return
			}
			defer t.leaveListen()
		}
		if head.meta().LogLevel() != "" {
			// The request asked for logs: the response writes them.
			t.serveChecked(w, r, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { withLogQueue(w, r, next) }), "", body)
			return
		}
		t.serveChecked(w, r, next, "", body)
		return
	}
	if method == string(mcp.MethodInitialize) {
		t.initialize(w, r, next, &head, reqID)
		return
	}
	if id == "" {
		next.ServeHTTP(w, r) // mcp-go answers a missing ID with its own error
		return
	}
	ls, status := t.enter(id, nil)
	if status == http.StatusNotFound {
		t.unknownSession(w, id)
		return
	}
	defer t.leave(ls, nil)
	t.serveChecked(w, r, next, id, body)
}

// initialize serves an initialize request: it refuses one that could not
// succeed before anything is created, holds a slot while mcp-go answers,
// and ends the session mcp-go created when the answer is not a success,
// so that no path leaves a session or a slot behind.
func (t *SessionTable) initialize(w http.ResponseWriter, r *http.Request, next http.Handler, head *postHead, reqID any) {
	if reqID == nil {
		t.rejected("message")
		jsonrpcError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST,
			"id: required; initialize is a request and needs an id, it cannot be sent as a notification")
		return
	}
	var req mcp.InitializeRequest
	if p := bytes.TrimLeft(head.Params, " \t\r\n"); len(p) == 0 || p[0] != '{' || json.Unmarshal(head.Params, &req.Params) != nil {
		t.rejected("message")
		jsonrpcError(w, http.StatusBadRequest, reqID, mcp.INVALID_PARAMS,
			"params: must be an object with protocolVersion, capabilities and clientInfo, e.g. {\"protocolVersion\":\""+mcp.LATEST_PROTOCOL_VERSION+"\",\"capabilities\":{},\"clientInfo\":{\"name\":\"my-client\",\"version\":\"1.0\"}}")
		return
	}
	if !t.admit() {
		t.rejected("capacity")
		w.Header().Set("Retry-After", "5")
		jsonrpcError(w, http.StatusServiceUnavailable, reqID, mcp.INTERNAL_ERROR,
			fmt.Sprintf("the server has %d live MCP sessions, its limit%s, and every one is busy; retry later, and end sessions you no longer need with DELETE", t.max, paren(t.names.MaxSessions)))
		return
	}
	defer t.admitted()
	var issued string
	rec := &bufferedResponse{header: http.Header{}}
	next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), issuedKey{}, &issued)))
	ok := rec.succeeded()
	if issued != "" {
		t.issued(issued, ok)
	}
	if !ok {
		rec.header.Del(mcpserver.HeaderKeySessionID)
	}
	rec.send(w)
}

// bufferedResponse holds a whole response until the handler has
// returned. It is not an http.Flusher, so mcp-go answers an initialize
// through it as one JSON message.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header returns the headers to send.
func (b *bufferedResponse) Header() http.Header { return b.header }

// WriteHeader records the status.
func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// Write buffers p.
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// succeeded reports whether the response is a JSON-RPC result.
func (b *bufferedResponse) succeeded() bool {
	if b.status != http.StatusOK {
		return false
	}
	var m struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	return json.Unmarshal(b.body.Bytes(), &m) == nil && len(m.Result) > 0 && len(m.Error) == 0
}

// send writes the buffered response to w.
func (b *bufferedResponse) send(w http.ResponseWriter) {
	maps.Copy(w.Header(), b.header)
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// serveChecked passes a message of session (or, in protocol 2026-07-28,
// of no session: "") on to next, unless the preflight answers it.
func (t *SessionTable) serveChecked(w http.ResponseWriter, r *http.Request, next http.Handler, session string, body []byte) {
	if answer := t.preflight(session, body); answer != nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
		return
	}
	next.ServeHTTP(w, r)
}

// EndSession ends session id in the streamable HTTP server h as a DELETE
// would, which frees every piece of mcp-go state the session holds.
func EndSession(h http.Handler, id string) {
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
