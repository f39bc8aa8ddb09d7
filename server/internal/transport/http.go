package transport

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Paths served over HTTP.
const (
	// PathMCP is the streamable HTTP endpoint.
	PathMCP = "/mcp"
	// PathHealth answers 200 "ok" while the server runs.
	PathHealth = "/healthz"
	// PathMetrics serves Prometheus metrics.
	PathMetrics = "/metrics"
)

// GuardOptions configure a Guard. The zero value accepts loopback Hosts
// and Origins only, requires no token and reads no body (MaxBodyBytes 0
// refuses every non-empty body): set MaxBodyBytes.
type GuardOptions struct {
	// BindHost is the host (no port) the server listens on: a specific
	// non-loopback address is accepted as Host, and "" or a wildcard
	// (0.0.0.0, ::) accepts every Host unless AllowedHosts names some.
	BindHost string
	// AllowedHosts are Host header values accepted besides loopback names
	// ("*" accepts any); a port is ignored.
	AllowedHosts []string
	// AllowedOrigins are Origin header values (scheme://host[:port])
	// accepted besides loopback origins ("*" accepts any).
	AllowedOrigins []string
	// Token, when set, is the bearer token the routes wrapped with auth
	// require.
	Token string
	// MaxBodyBytes bounds one request body.
	MaxBodyBytes int64
	// BodyTimeout bounds the reading of one request body; 0 sets no
	// deadline.
	BodyTimeout time.Duration
	// Rejected is called with the reason of every refusal ("host",
	// "origin", "token", "body"); nil counts nothing.
	Rejected func(reason string)
	// Names say how the operator sets the limits the refusals name.
	Names Names
}

// Guard is the hardening in front of every HTTP handler: Host and Origin
// checks against DNS rebinding and cross-site requests, the bearer token,
// and the request body limit, which it reads whole so that a handler
// behind it gets the body in memory (see Body).
//
// A Guard is read-only after NewGuard and so safe for concurrent use by
// multiple goroutines.
type Guard struct {
	// hosts are the Host header values (without port, lower case) accepted
	// besides the loopback names; anyHost accepts every Host.
	hosts   map[string]bool
	anyHost bool
	// origins are the Origin header values (scheme://host[:port], lower
	// case) accepted besides loopback origins.
	origins map[string]bool
	// tokenSum is the SHA-256 of the bearer token, nil when none is set;
	// comparing fixed-size digests keeps the comparison constant-time
	// whatever the length of the presented token.
	tokenSum    []byte
	maxBody     int64
	bodyTimeout time.Duration
	rejected    func(reason string)
	names       Names
}

// NewGuard builds the guard that o describes.
func NewGuard(o GuardOptions) *Guard {
	g := &Guard{
		hosts:       map[string]bool{},
		origins:     map[string]bool{},
		maxBody:     o.MaxBodyBytes,
		bodyTimeout: o.BodyTimeout,
		rejected:    orNop(o.Rejected),
		names:       o.Names,
	}
	for _, h := range o.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			g.anyHost = true
			continue
		}
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		g.hosts[strings.Trim(h, "[]")] = true
	}
	// A server bound to a specific non-loopback address answers to that
	// address as Host; a wildcard bind (0.0.0.0, ::) has no name of its own
	// and accepts every Host unless AllowedHosts names some: the token,
	// which a non-loopback bind requires, is what protects it.
	switch {
	case o.BindHost == "" || isUnspecified(o.BindHost):
		if len(o.AllowedHosts) == 0 {
			g.anyHost = true
		}
	case !IsLoopbackName(o.BindHost):
		g.hosts[strings.ToLower(strings.Trim(o.BindHost, "[]"))] = true
	}
	for _, origin := range o.AllowedOrigins {
		g.origins[strings.TrimRight(strings.ToLower(strings.TrimSpace(origin)), "/")] = true
	}
	if o.Token != "" {
		sum := sha256.Sum256([]byte(o.Token))
		g.tokenSum = sum[:]
	}
	return g
}

// orNop returns f, or a function that does nothing when f is nil.
func orNop(f func(string)) func(string) {
	if f == nil {
		return func(string) {}
	}
	return f
}

// Wrap returns h behind the Host and Origin checks, and, when auth is
// true, behind the bearer token and the body limit.
func (g *Guard) Wrap(h http.Handler, auth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostAllowed(r.Host) {
			g.reject(w, http.StatusForbidden, "host", g.hostRefused(r.Host))
			return
		}
		// Every Origin header is checked, not only the first: a request
		// that carries a loopback Origin and a foreign one is refused.
		for _, origin := range r.Header.Values("Origin") {
			if origin != "" && !g.originAllowed(origin) {
				g.reject(w, http.StatusForbidden, "origin", g.originRefused(origin))
				return
			}
		}
		if auth && g.tokenSum != nil && !g.tokenOK(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcpflow"`)
			g.reject(w, http.StatusUnauthorized, "token", g.tokenRefused())
			return
		}
		// Every body is read here, under the body deadline: one left
		// unread would be drained by net/http after the handler, with no
		// deadline at all.
		if ((auth && r.Method == http.MethodPost) || r.ContentLength != 0) && !g.readBody(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hostRefused tells the client why its Host is refused and what to do,
// naming the allowed hosts as the operator sets them when Names says
// how.
func (g *Guard) hostRefused(hostport string) string {
	msg := fmt.Sprintf("Host header %q is not allowed (DNS rebinding protection); connect to 127.0.0.1 or localhost, ", hostport)
	if name := g.names.AllowedHosts; name != "" {
		return msg + "or start the server with " + name + " " + HostOnly(hostport)
	}
	return msg + "or have " + HostOnly(hostport) + " added to the server's allowed hosts"
}

// originRefused is hostRefused for an Origin and the allowed origins.
func (g *Guard) originRefused(origin string) string {
	msg := fmt.Sprintf("Origin %q is not allowed; only loopback origins are accepted unless ", origin)
	if name := g.names.AllowedOrigins; name != "" {
		return msg + "the server is started with " + name + " " + origin
	}
	return msg + "the server's allowed origins include " + origin
}

// tokenRefused is what a request without the right bearer token gets.
func (g *Guard) tokenRefused() string {
	const msg = "missing or wrong bearer token; send the header \"Authorization: Bearer <token>\" with the token "
	if name := g.names.Token; name != "" {
		return msg + "given to the server by " + name
	}
	return msg + "the server was given"
}

// readBody reads the request body up to the limit and replaces r.Body with
// the bytes read (a *readBody, which the session table takes without
// reading it again), so that a body over the limit gets a 413 with a clear
// message instead of a parse error deep in the transport. It reports
// whether the request may proceed.
func (g *Guard) readBody(w http.ResponseWriter, r *http.Request) bool {
	rc := http.NewResponseController(w)
	if r.ContentLength > g.maxBody {
		// net/http may read up to 256 KiB of the refused body after the
		// handler, so that a client still sending it sees the 413 rather
		// than a reset; that read too ends at the body deadline.
		if g.bodyTimeout > 0 {
			_ = rc.SetReadDeadline(time.Now().Add(g.bodyTimeout))
		}
		g.rejectJSONRPC(w, http.StatusRequestEntityTooLarge, "body",
			fmt.Sprintf("request body is %d bytes; the limit is %d bytes%s", r.ContentLength, g.maxBody, paren(g.names.MaxBodyBytes)))
		return false
	}
	if g.bodyTimeout > 0 {
		// No ReadTimeout on the http.Server: it would also end the long-lived
		// SSE streams. The body alone gets a deadline, lifted once it is read.
		_ = rc.SetReadDeadline(time.Now().Add(g.bodyTimeout))
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, g.maxBody))
	if err != nil {
		// The deadline must not be lifted here: after the handler,
		// net/http reads what is left of the body (up to 256 KiB) to reuse
		// the connection, and a client that stalls or trickles would hold
		// it open for ever. A deadline in the past makes that read fail at
		// once, and the connection is closed.
		cutOff(rc)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			g.rejectJSONRPC(w, http.StatusRequestEntityTooLarge, "body",
				fmt.Sprintf("request body exceeds the limit of %d bytes%s", g.maxBody, paren(g.names.MaxBodyBytes)))
			return false
		}
		g.rejectJSONRPC(w, http.StatusBadRequest, "body", "could not read the request body: "+err.Error())
		return false
	}
	if g.bodyTimeout > 0 {
		_ = rc.SetReadDeadline(time.Time{})
	}
	rb := &readBody{b: buf.Bytes()}
	rb.Reset(rb.b)
	r.Body = rb
	r.ContentLength = int64(len(rb.b))
	return true
}

// readBody is a request body the guard has read whole: the handlers behind
// it read it as any body, and the session table takes its bytes at once.
type readBody struct {
	bytes.Reader
	b []byte
}

// Close does nothing: the body is in memory.
func (*readBody) Close() error { return nil }

// bodyBytes returns the body of r whole, and r with a body that reads it
// from the start. A body the guard read is taken as it is, without a copy;
// any other is read here.
func bodyBytes(r *http.Request) ([]byte, error) {
	if rb, ok := r.Body.(*readBody); ok && rb.Len() == len(rb.b) {
		return rb.b, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	rb := &readBody{b: b}
	rb.Reset(b)
	r.Body = rb
	return b, nil
}

// WithWriteDeadline gives every response a write deadline of d from the
// start of the request, and moves it d ahead before each write and flush,
// so that a stream's next event gets d of its own. A client that stops
// reading makes a write fail after d: the handler returns and what it held
// is freed, instead of waiting as long as the client keeps the socket
// open. The http.Server has no WriteTimeout, which would end every
// stream after d whatever it writes.
func WithWriteDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		dw.extend()
		h.ServeHTTP(dw, r)
		// net/http writes what is left of the response after the handler
		// returns: that write gets d too, and a deadline left on the
		// connection never reaches the next request on it.
		dw.extend()
	})
}

// deadlineWriter is the ResponseWriter of WithWriteDeadline. It is used
// by one handler goroutine at a time, as a ResponseWriter is.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (dw *deadlineWriter) extend() { _ = dw.rc.SetWriteDeadline(time.Now().Add(dw.d)) }

// Write writes p with the deadline moved d ahead.
func (dw *deadlineWriter) Write(p []byte) (int, error) {
	dw.extend()
	return dw.ResponseWriter.Write(p)
}

// Flush sends what is buffered with the deadline moved d ahead.
func (dw *deadlineWriter) Flush() {
	dw.extend()
	_ = dw.rc.Flush()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (dw *deadlineWriter) Unwrap() http.ResponseWriter { return dw.ResponseWriter }

// cutOff makes every further read of the connection fail at once, so that
// net/http closes it after the response instead of draining the rest of a
// body that is not coming.
func cutOff(rc *http.ResponseController) {
	_ = rc.SetReadDeadline(time.Unix(1, 0))
}

func (g *Guard) tokenOK(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], g.tokenSum) == 1
}

func (g *Guard) hostAllowed(hostport string) bool {
	if g.anyHost {
		return true
	}
	h := strings.ToLower(HostOnly(hostport))
	return IsLoopbackName(h) || g.hosts[h]
}

func (g *Guard) originAllowed(origin string) bool {
	o := strings.TrimRight(strings.ToLower(origin), "/")
	if g.origins[o] || g.origins["*"] {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false // "null", file://, garbage
	}
	return IsLoopbackName(u.Hostname())
}

func (g *Guard) reject(w http.ResponseWriter, status int, reason, msg string) {
	g.rejected(reason)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// rejectJSONRPC answers a POST to /mcp with a JSON-RPC error object, which
// MCP clients know how to show, and the given HTTP status.
func (g *Guard) rejectJSONRPC(w http.ResponseWriter, status int, reason, msg string) {
	g.rejected(reason)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": -32600, "message": msg},
	})
}

// HostOnly strips the port from a Host header value and the brackets from
// an IPv6 literal.
func HostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// IsLoopbackName reports whether host (no port) names the loopback
// interface: "localhost", a name under ".localhost" (RFC 6761), or a
// loopback IP literal.
func IsLoopbackName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func isUnspecified(host string) bool {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsUnspecified()
}

// Routes are the handlers served over HTTP besides PathHealth, which
// answers 200 "ok" itself.
type Routes struct {
	// MCP serves PathMCP, behind the token and the body limit: the
	// SessionTable in front of mcp-go's streamable HTTP server.
	MCP http.Handler
	// Metrics serves GET PathMetrics, behind the token.
	Metrics http.Handler
	// Other serves every other path, behind the Host and Origin checks
	// only: it checks a token itself if it needs one.
	Other http.Handler
}

// Handler returns the routes behind g, every response under a write
// deadline of writeTimeout (see WithWriteDeadline).
func Handler(g *Guard, rt Routes, writeTimeout time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathMCP, g.Wrap(rt.MCP, true))
	mux.Handle("GET "+PathMetrics, g.Wrap(rt.Metrics, true))
	mux.Handle("GET "+PathHealth, g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	}), false))
	mux.Handle("/", g.Wrap(rt.Other, false))
	return WithWriteDeadline(mux, writeTimeout)
}
