package server

import (
	"fmt"
	"net"
	"time"

	"github.com/mcpflow/mcpflow/server/internal/transport"
)

// HTTP defaults. Each can be changed in Config.
const (
	// DefaultMaxBodyBytes bounds the body of one HTTP request.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultReadHeaderTimeout bounds the time to read a request's headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultBodyTimeout bounds the time to read a request's body.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultIdleTimeout closes keep-alive connections idle this long.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultWriteTimeout bounds the writing of one response, or of one
	// event on a stream, to a client that does not read.
	DefaultWriteTimeout = 30 * time.Second
)

// Limits on the streamable HTTP transport's protocol sessions (the
// Mcp-Session-Id ones, not workflow sessions). Each can be changed in
// Config.
const (
	// DefaultMaxSessions bounds the live MCP sessions over HTTP. Each
	// costs about 13 KB; measured, a flood of 60,000 never closed leaves
	// the process at about 120 MB RSS, against 29 MB idle.
	DefaultMaxSessions = 4096
	// DefaultMaxStreams bounds the streams open at once: the SSE GET
	// streams of every session and, in protocol 2026-07-28, the
	// subscriptions/listen streams. Each holds a connection and a few
	// goroutines.
	DefaultMaxStreams = 256
	// StreamsPerSession bounds the SSE GET streams of one session.
	StreamsPerSession = 2
)

// Paths served over HTTP.
const (
	// PathMCP is the streamable HTTP endpoint.
	PathMCP = transport.PathMCP
	// PathHealth answers 200 "ok" while the server runs.
	PathHealth = transport.PathHealth
	// PathMetrics serves Prometheus metrics.
	PathMetrics = transport.PathMetrics
)

// DiscoveryFileName is the name of the discovery file in the state folder.
const DiscoveryFileName = transport.DiscoveryFileName

// Discovery is the content of the discovery file, <state>/server.json,
// which tells sub-agents where the running server listens. It is written
// when the HTTP transport is up and removed at shutdown.
type Discovery = transport.Discovery

// ReadDiscovery reads and decodes a discovery file.
func ReadDiscovery(path string) (Discovery, error) { return transport.ReadDiscovery(path) }

// CheckBind validates an HTTP listen address against the token rule: an
// address that is not loopback (a wildcard included) needs a token. The
// error is a *ConfigError (it matches ErrInvalidConfig), and matches
// ErrTokenRequired too when a token would make the address acceptable.
func CheckBind(addr, token string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return configErrorf("HTTP address %q: %w; use HOST:PORT such as 127.0.0.1:4242", addr, err)
	}
	if port == "" {
		return configErrorf("HTTP address %q has no port; use HOST:PORT such as 127.0.0.1:4242 (port 0 picks a free port)", addr)
	}
	if host != "" && transport.IsLoopbackName(host) {
		return nil
	}
	if token == "" {
		shown := host
		if shown == "" {
			shown = "every interface"
		}
		return &ConfigError{Problem: &tokenRequiredError{addr: addr, shown: shown}}
	}
	return nil
}

// tokenRequiredError is the Problem of CheckBind's ConfigError for an
// address that needs a token: it matches ErrTokenRequired.
type tokenRequiredError struct{ addr, shown string }

func (e *tokenRequiredError) Error() string {
	return fmt.Sprintf("HTTP address %q listens on %s, which is not loopback, and no token is set", e.addr, e.shown)
}

func (e *tokenRequiredError) Unwrap() error { return ErrTokenRequired }
