package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mcpflow/mcpflow/dashboard"
	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server/internal/telemetry"
	"github.com/mcpflow/mcpflow/server/internal/transport"
)

// Defaults for Config.
const (
	// DefaultStdioWorkers is the number of tool calls served at once on
	// stdio. mcp-go's own default is 5, so a sixth slow call would wait.
	DefaultStdioWorkers = 32
	// MaxStdioWorkers is the most mcp-go allows.
	MaxStdioWorkers = 100
	// DefaultShutdownTimeout bounds a graceful shutdown, after which the
	// remaining connections are closed.
	DefaultShutdownTimeout = 800 * time.Millisecond
	// DefaultSessionIdleTTL ends an HTTP MCP session nobody used for this
	// long.
	DefaultSessionIdleTTL = 30 * time.Minute
)

// StateStore describes where the engine keeps sessions. get_server_info
// shows it under "state_store" with the engine's conflict counters, and
// /metrics serves its Collector.
type StateStore struct {
	// Kind is "file" or "redis"; "" means "file".
	Kind string
	// Location is the state folder or the store's URL (without password).
	Location string
	// Stats, when set, returns the store's own counters (the Redis
	// store's CAS conflicts, retries, invalidations, latency, ...), shown
	// by get_server_info under state_store.redis. It must be safe to call
	// from any goroutine.
	Stats func() any
	// Collector, when set, exports the store's metrics on /metrics.
	Collector prometheus.Collector
}

// ErrInvalidConfig is wrapped by every error New and Listen return for a
// bad Config.
var ErrInvalidConfig = errors.New("server: invalid config")

// ConfigError is the error New, Listen, Serve and CheckBind return for a
// bad Config. It matches ErrInvalidConfig and whatever Problem wraps;
// Problem alone says what is wrong without the sentinel's text, for a
// caller (a command line) that words its own prefix.
type ConfigError struct {
	// Problem says what is wrong, e.g. "Engine is required".
	Problem error
}

// Error returns "server: invalid config: <problem>".
func (e *ConfigError) Error() string { return ErrInvalidConfig.Error() + ": " + e.Problem.Error() }

// Unwrap returns ErrInvalidConfig and Problem.
func (e *ConfigError) Unwrap() []error { return []error{ErrInvalidConfig, e.Problem} }

// configErrorf returns a ConfigError whose Problem is fmt.Errorf(format, a...).
func configErrorf(format string, a ...any) error {
	return &ConfigError{Problem: fmt.Errorf(format, a...)}
}

// Config configures a Server. Engine and Index are required; every other
// field has a working zero value.
type Config struct {
	// Engine runs the workflows. The Server does not close it.
	Engine *engine.Engine
	// Index answers search_standards. The Server does not close it.
	Index *ragcache.Index
	// Version is reported by get_server_info, the MCP initialize result
	// and the mcpflow_build_info metric.
	Version string
	// Logger receives the server's logs; nil discards them. Every tool
	// call is logged at debug level.
	Logger *slog.Logger

	// Stdio serves MCP on the stdin and stdout passed to Serve. mcp-go
	// keeps one stdio session per process, so only one Server at a time
	// may serve stdio.
	Stdio bool
	// HTTPAddr, when set, serves streamable HTTP on this address (port 0
	// picks a free port). A non-loopback address requires Token.
	HTTPAddr string
	// HTTPAddrFallback makes Listen take a free port on HTTPAddr's host
	// when HTTPAddr is already in use, and log a warning naming both
	// addresses; the URL, the address file and the discovery file then
	// name the port taken. The binary sets it for its default address
	// only, so that a second project's server still starts: an address
	// the operator chose fails instead.
	HTTPAddrFallback bool
	// Token, when set, is the bearer token /mcp and /metrics require.
	Token string
	// AllowedHosts are Host header values accepted besides loopback names
	// ("*" accepts any). See docs/transports.md.
	AllowedHosts []string
	// AllowedOrigins are Origin header values (scheme://host[:port])
	// accepted besides loopback origins ("*" accepts any).
	AllowedOrigins []string
	// MaxBodyBytes bounds one HTTP request body and one stdio message;
	// 0 selects DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ReadHeaderTimeout, BodyTimeout and IdleTimeout bound slow HTTP
	// clients; 0 selects the defaults.
	ReadHeaderTimeout, BodyTimeout, IdleTimeout time.Duration
	// StdioWorkers is the number of stdio tool calls served at once, 1 to
	// MaxStdioWorkers; 0 selects DefaultStdioWorkers.
	StdioWorkers int
	// ShutdownTimeout bounds the graceful part of a shutdown; 0 selects
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// DiscoveryFile, when set, is where the Server writes its Discovery
	// once HTTP is listening (mode 0600, atomically), and removes it at
	// shutdown. The binary uses <state>/server.json.
	DiscoveryFile string
	// WorkflowsDir, when set, is the workflows folder the Engine reads.
	// Serve watches it, so that a workflow added, removed or edited
	// updates the prompts and sends notifications/prompts/list_changed at
	// once rather than at the next prompts request.
	WorkflowsDir string
	// AddrFile, when set, receives the /mcp URL once HTTP is listening.
	AddrFile string
	// Folders are shown by get_server_info, e.g. {"workflows": "builtin"}.
	Folders map[string]string
	// StateStore describes the session store for get_server_info and
	// /metrics; the zero value stands for the engine's own FileStore.
	StateStore StateStore
	// ApproveCommand is the command line a human runs to approve a phase
	// that awaits approval, without its SESSION and PHASE arguments (for
	// example "mcpflow approve --state /p/.mcpflow/state"); complete_phase
	// names it in its "awaiting approval" answer. Empty: the answer names
	// "mcpflow approve".
	ApproveCommand string
	// ElicitTimeout bounds how long complete_phase waits for the human's
	// answer when it asks through MCP elicitation; 0 selects
	// DefaultElicitTimeout.
	ElicitTimeout time.Duration

	// MaxSessions bounds the live MCP protocol sessions over HTTP; at the
	// bound, a new session ends the one idle the longest, or gets a 503
	// when every one is busy. 0 selects DefaultMaxSessions.
	MaxSessions int
	// MaxStreams bounds the streams open at once: the SSE GET streams of
	// all sessions (each session may open StreamsPerSession) and the
	// subscriptions/listen streams of protocol 2026-07-28. 0 selects
	// DefaultMaxStreams.
	MaxStreams int
	// MaxSubscriptions bounds the resource subscriptions of one MCP
	// session; 0 selects DefaultMaxSubscriptions.
	MaxSubscriptions int
	// WriteTimeout bounds the writing of one HTTP response, and of each
	// event on a stream: a client that stops reading is disconnected
	// after it, so that it cannot hold the reply in memory. 0 selects
	// DefaultWriteTimeout.
	WriteTimeout time.Duration

	// SettingNames says how the operator sets a Config field, keyed by the
	// field's name (the Setting constants), for the refusals that tell a
	// client what to ask the operator for. The binary names its flags:
	// with MaxBodyBytes named "--max-body", a body over the limit is
	// refused with "... the limit is 1048576 bytes (--max-body)". A field
	// without a name is described in plain words instead.
	SettingNames map[string]string

	// ValidateOutput makes mcp-go check every structured result against
	// its tool's output schema, turning a mismatch into a tool error. It
	// costs time on every call: tests turn it on.
	ValidateOutput bool
}

// Server serves the mcpflow MCP tools over stdio and streamable HTTP at
// once, with one MCPServer and one engine behind both.
//
// A Server is safe for concurrent use. Listen and Serve are each called at
// most once, in that order (Serve calls Listen itself if needed); the
// other methods may be called at any time from any goroutine.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	mcp     *mcpserver.MCPServer
	tel     *telemetry.Telemetry

	// Set by New; read-only afterwards.
	streamable *mcpserver.StreamableHTTPServer
	httpSrv    *http.Server
	// dash is the dashboard served at / over HTTP.
	dash    *dashboard.Dashboard
	handler http.Handler

	// Set by Listen before it closes ready; read-only afterwards.
	ln  net.Listener
	url string

	listenOnce sync.Once
	listenErr  error
	ready      chan struct{} // closed when Listen succeeded

	mu   sync.Mutex
	gate *transport.StdioGate // guarded by mu; set by Serve when serving stdio

	closeOnce sync.Once
	closeErr  error

	// The primitives besides tools (primitives.go).
	subs          subscriptions
	listeners     listeners
	live          liveSessions
	prompts       promptSet
	handlers      toolHandlers // every tool's handler, built on first use (handler.go)
	dropIndexHook func()       // set by New; removes onIndexChange from the index
}

// New checks cfg and builds the MCP server with its tools. It starts no
// goroutine and opens no socket: Listen and Serve do.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Engine == nil:
		return nil, configErrorf("Engine is required")
	case cfg.Index == nil:
		return nil, configErrorf("Index is required")
	case cfg.StdioWorkers < 0 || cfg.StdioWorkers > MaxStdioWorkers:
		return nil, configErrorf("stdio workers must be 1 to %d, got %d", MaxStdioWorkers, cfg.StdioWorkers)
	case cfg.MaxSessions < 0 || cfg.MaxStreams < 0:
		return nil, configErrorf("max sessions and max streams must be positive, got %d and %d", cfg.MaxSessions, cfg.MaxStreams)
	case cfg.MaxSubscriptions < 0:
		return nil, configErrorf("max subscriptions must be positive, got %d", cfg.MaxSubscriptions)
	case cfg.WriteTimeout < 0:
		return nil, configErrorf("write timeout must be positive, got %v", cfg.WriteTimeout)
	case cfg.MaxBodyBytes < 0:
		return nil, configErrorf("max body bytes must be positive, got %d", cfg.MaxBodyBytes)
	case !cfg.Stdio && cfg.HTTPAddr == "":
		return nil, configErrorf("no transport: serve stdio, HTTP or both")
	case cfg.ElicitTimeout < 0:
		return nil, configErrorf("approval (elicitation) timeout must be positive, got %v", cfg.ElicitTimeout)
	}
	if cfg.HTTPAddr != "" {
		if err := CheckBind(cfg.HTTPAddr, cfg.Token); err != nil {
			return nil, err
		}
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.MaxSubscriptions == 0 {
		cfg.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.StdioWorkers == 0 {
		cfg.StdioWorkers = DefaultStdioWorkers
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.ElicitTimeout == 0 {
		cfg.ElicitTimeout = DefaultElicitTimeout
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		started: time.Now(),
		ready:   make(chan struct{}),
	}
	opts := []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(false),
		// mcp-go logs every request at info; this server logs every call
		// itself at debug, so only mcp-go's warnings and errors pass.
		mcpserver.WithLogger(slog.New(telemetry.MinLevel{Handler: cfg.Logger.Handler(), Min: slog.LevelWarn})),
		mcpserver.WithInstructions(instructions),
	}
	if cfg.ValidateOutput {
		opts = append(opts, mcpserver.WithOutputSchemaValidation())
	}
	opts = append(opts, s.primitiveOptions(&mcpserver.Hooks{})...)
	s.mcp = mcpserver.NewMCPServer("mcpflow", cfg.Version, opts...)
	tools := append(s.tools(), s.praxisTools()...)
	tools = append(tools, s.recoveryTools()...)
	tools = append(tools, s.reindexTool())
	if err := portableSchemas(tools); err != nil {
		return nil, err
	}
	names := make([]string, len(tools))
	for i := range tools {
		names[i] = tools[i].Tool.Name
	}
	s.tel = telemetry.New(cfg.Version, s.started, names, s.cacheMetrics, s.stdioPending)
	s.tel.Registry().MustRegister(telemetry.EngineCollectors(cfg.Engine)...)
	if c := cfg.StateStore.Collector; c != nil {
		if err := s.tel.Registry().Register(c); err != nil {
			return nil, configErrorf("state store metrics: %w", err)
		}
	}
	// Middleware runs in the order added, outermost first. The
	// instrumenting middleware goes first, so that it counts and logs the
	// error WithRecovery makes of a panic; WithRecovery is applied after it
	// rather than passed to NewMCPServer, which would put it outside.
	s.mcp.Use(s.tel.Instrument(s.log))
	mcpserver.WithRecovery()(s.mcp)
	s.mcp.AddTools(tools...)
	dash, err := dashboard.New(dashboard.Config{
		Engine: cfg.Engine, Index: cfg.Index, Metrics: s.cacheMetrics, Token: cfg.Token,
		ApproveCommand: cfg.ApproveCommand, Logger: s.log.With("component", "dashboard"),
	})
	if err != nil {
		return nil, err
	}
	s.dash = dash
	s.handler = s.buildHandler()
	s.registerPrimitives()
	return s, nil
}

// instructions is the MCP initialize result's guidance for the agent.
const instructions = `mcpflow gives you phase-gated workflows and search over this project's standards.
Start with list_workflows, then start_workflow(workflow_type, target_file). Work through the phase's tasks
(get_task), then submit evidence with complete_phase; the gate says what is missing if it does not pass.
Use search_standards to look up the project's conventions before you write code.
prAxIs OS names work too: pos_workflow(action=start|get_phase|get_task|complete_phase|get_state|...) and current_date.`

// MCPServer returns the underlying mcp-go server, for adding tools or
// hooks before Serve (the end-to-end benchmark adds a trivial tool).
func (s *Server) MCPServer() *mcpserver.MCPServer { return s.mcp }

// cacheMetrics gathers every cache's snapshot under one name each.
func (s *Server) cacheMetrics() map[string]metrics.Snapshot {
	out := map[string]metrics.Snapshot{}
	maps.Copy(out, s.cfg.Engine.Metrics())
	out["search_queries"] = s.cfg.Index.Metrics()
	out["standards_files"] = s.cfg.Index.FileMetrics()
	return out
}

func (s *Server) stdioPending() float64 {
	s.mu.Lock()
	g := s.gate
	s.mu.Unlock()
	if g == nil {
		return 0
	}
	return float64(g.Pending())
}

// Listen opens the HTTP listener when Config.HTTPAddr is set, writes the
// address file and the discovery file, and returns. Errors name the
// address or file at fault; a failure to listen or to write a file is a
// *ListenError. Calling it again returns the first result.
func (s *Server) Listen() error {
	s.listenOnce.Do(func() {
		s.listenErr = s.listen()
		if s.listenErr == nil {
			close(s.ready)
		}
	})
	return s.listenErr
}

func (s *Server) listen() error {
	if s.cfg.HTTPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil && s.cfg.HTTPAddrFallback && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(s.cfg.HTTPAddr) // CheckBind parsed it in New
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err == nil {
			s.log.Warn("HTTP address in use (another project's server?); listening on a free port instead",
				"busy", s.cfg.HTTPAddr, "addr", ln.Addr().String())
		}
	}
	if err != nil {
		return &ListenError{Field: "HTTPAddr", Op: "listen on " + s.cfg.HTTPAddr, Err: err}
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String() + PathMCP
	if s.cfg.AddrFile != "" {
		if err := transport.WriteFileAtomic(s.cfg.AddrFile, []byte(s.url+"\n")); err != nil {
			_ = ln.Close()
			return &ListenError{Field: "AddrFile", Op: "write the address file " + s.cfg.AddrFile, Err: err}
		}
	}
	if s.cfg.DiscoveryFile != "" {
		d := Discovery{
			URL:           s.url,
			PID:           os.Getpid(),
			StartedAt:     s.started.UTC(),
			Transports:    s.transports(),
			Version:       s.cfg.Version,
			TokenRequired: s.cfg.Token != "",
		}
		if err := transport.WriteDiscovery(s.cfg.DiscoveryFile, d); err != nil {
			_ = ln.Close()
			return &ListenError{Field: "DiscoveryFile", Op: "write the discovery file " + s.cfg.DiscoveryFile, Err: err}
		}
	}
	return nil
}

// buildHandler assembles the HTTP routes behind the guard. The
// streamable HTTP server gets its own http.Server so that its Shutdown
// also closes the MCP sessions.
func (s *Server) buildHandler() http.Handler {
	bindHost := ""
	if s.cfg.HTTPAddr != "" {
		bindHost, _, _ = net.SplitHostPort(s.cfg.HTTPAddr)
	}
	names := s.transportNames()
	g := transport.NewGuard(transport.GuardOptions{
		BindHost: bindHost, AllowedHosts: s.cfg.AllowedHosts, AllowedOrigins: s.cfg.AllowedOrigins, Token: s.cfg.Token,
		MaxBodyBytes: s.cfg.MaxBodyBytes, BodyTimeout: s.cfg.BodyTimeout, Rejected: s.tel.Rejected, Names: names,
	})
	sessions := transport.NewSessionTable(transport.SessionOptions{
		MaxSessions: s.cfg.MaxSessions, MaxStreams: s.cfg.MaxStreams, PerSession: StreamsPerSession,
		Preflight: s.preflight, Rejected: s.tel.Rejected, Names: names,
	})
	s.httpSrv = &http.Server{
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	opts := []mcpserver.StreamableHTTPOption{
		mcpserver.WithEndpointPath(PathMCP),
		mcpserver.WithStreamableHTTPServer(s.httpSrv),
		mcpserver.WithHTTPContextFunc(telemetry.HTTPContext),
		mcpserver.WithStreamableHTTPLogger(slog.New(telemetry.MinLevel{Handler: s.log.Handler(), Min: slog.LevelWarn})),
		mcpserver.WithHeartbeatInterval(30 * time.Second),
		mcpserver.WithSessionIdManagerResolver(sessions),
	}
	if s.cfg.HTTPAddr != "" {
		// The idle-session sweeper is a goroutine that only the
		// streamable server's Shutdown stops, which Serve calls; without
		// an HTTP address nobody would.
		opts = append(opts, mcpserver.WithSessionIdleTTL(DefaultSessionIdleTTL))
	}
	s.streamable = mcpserver.NewStreamableHTTPServer(s.mcp, opts...)
	// Its event streams never go idle: they end when shutdown starts.
	s.httpSrv.RegisterOnShutdown(s.dash.Close)
	sessions.SetEnd(func(id string) { transport.EndSession(s.streamable, id) })
	h := transport.Handler(g, transport.Routes{
		MCP: sessions.Wrap(s.streamable),
		Metrics: promhttp.HandlerFor(s.tel.Registry(), promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}),
		// The dashboard answers every other path (its own 404 names /mcp);
		// it checks the token itself, so that a browser can log in.
		Other: s.dash,
	}, s.cfg.WriteTimeout)
	s.httpSrv.Handler = h
	return h
}

// transportNames are Config.SettingNames as the transport's refusals
// read them.
func (s *Server) transportNames() transport.Names {
	n := s.cfg.SettingNames
	return transport.Names{
		MaxBodyBytes: n[SettingMaxBodyBytes], MaxSessions: n[SettingMaxSessions], MaxStreams: n[SettingMaxStreams],
		AllowedHosts: n[SettingAllowedHosts], AllowedOrigins: n[SettingAllowedOrigins], Token: n[SettingToken],
	}
}

// Handler returns the HTTP handler (/mcp, /metrics, /healthz) with its
// hardening, for serving from another http.Server or from
// httptest.Server. Serve uses the same handler. Without Serve, call Close
// when done.
func (s *Server) Handler() http.Handler { return s.handler }

// URL returns the streamable HTTP endpoint once Listen succeeded, or "".
func (s *Server) URL() string {
	select {
	case <-s.ready:
		return s.url
	default:
		return ""
	}
}

func (s *Server) transports() []string {
	var t []string
	if s.cfg.Stdio {
		t = append(t, TransportStdio)
	}
	if s.cfg.HTTPAddr != "" {
		t = append(t, TransportHTTP)
	}
	return t
}

// Serve serves until ctx ends, stdin reaches EOF (when serving stdio) or a
// transport fails, then shuts down gracefully: new requests are refused,
// calls in flight finish, HTTP sessions are closed, and whatever is left
// after Config.ShutdownTimeout is closed. It returns nil after a clean
// shutdown. stdin and stdout are used only with Config.Stdio; stdout then
// carries nothing but JSON-RPC.
func (s *Server) Serve(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	if err := s.Listen(); err != nil {
		return err
	}
	if s.cfg.Stdio && (stdin == nil || stdout == nil) {
		return configErrorf("stdio needs stdin and stdout")
	}
	defer func() {
		if s.cfg.DiscoveryFile != "" {
			if err := transport.RemoveDiscovery(s.cfg.DiscoveryFile, os.Getpid()); err != nil {
				s.log.Warn("could not remove the discovery file", "file", s.cfg.DiscoveryFile, "err", err)
			}
		}
	}()

	if s.cfg.WorkflowsDir != "" {
		stop, err := s.watchWorkflows()
		if err != nil {
			s.log.Warn("prompts follow the workflows folder only at each prompts request: it cannot be watched", "folder", s.cfg.WorkflowsDir, "err", err)
		} else {
			defer stop()
		}
	}

	httpErr := make(chan error, 1)
	if s.ln != nil {
		go func() {
			err := s.httpSrv.Serve(s.ln)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			httpErr <- err
		}()
		s.log.Info("serving MCP over streamable HTTP", "url", s.url, "token", s.cfg.Token != "")
	}

	stdioCtx, stopStdio := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStdio()
	stdioErr := make(chan error, 1)
	var gate *transport.StdioGate
	if s.cfg.Stdio {
		gate = transport.NewStdioGate(stdin, stdout, int(s.cfg.MaxBodyBytes), s.cfg.SettingNames[SettingMaxBodyBytes], s.preflight)
		s.mu.Lock()
		s.gate = gate
		s.mu.Unlock()
		errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
		stdio := mcpserver.NewStdioServer(s.mcp)
		for _, o := range []mcpserver.StdioOption{
			mcpserver.WithErrorLogger(errLog),
			mcpserver.WithWorkerPoolSize(s.cfg.StdioWorkers),
			mcpserver.WithQueueSize(4 * s.cfg.StdioWorkers),
			mcpserver.WithStdioContextFunc(telemetry.StdioContext),
		} {
			o(stdio)
		}
		go func() { stdioErr <- stdio.Listen(stdioCtx, gate, gate) }()
		s.log.Info("serving MCP over stdio", "workers", s.cfg.StdioWorkers)
	}
	var eof <-chan struct{}
	if gate != nil {
		eof = gate.EOF()
	}

	var runErr error
	httpDone, stdioDone := s.ln == nil, gate == nil
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "cause", context.Cause(ctx))
	case <-eof:
		s.log.Info("shutting down", "cause", "stdin closed")
	case err := <-httpErr:
		httpDone = true
		runErr = err
		s.log.Error("HTTP server stopped", "err", err)
	case err := <-stdioErr:
		stdioDone = true
		if err != nil && !errors.Is(err, context.Canceled) {
			runErr = fmt.Errorf("server: stdio: %w", err)
		}
		s.log.Info("shutting down", "cause", "stdio ended", "err", err)
	}

	deadline := time.Now().Add(s.cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	var wg sync.WaitGroup
	if !httpDone {
		wg.Go(func() {
			// Shutdown closes the MCP sessions (CloseSessions), stops
			// accepting, and waits for requests in flight; past the
			// deadline, Close drops what is left.
			if err := s.shutdownHTTP(shutdownCtx); err != nil {
				s.log.Warn("HTTP shutdown incomplete; closing connections", "err", err)
				_ = s.httpSrv.Close()
			}
			if err := <-httpErr; err != nil {
				s.log.Warn("HTTP server", "err", err)
			}
		})
	} else if err := s.shutdownHTTP(shutdownCtx); err != nil {
		s.log.Warn("HTTP sessions", "err", err)
	}
	if !stdioDone {
		wg.Go(func() {
			gate.Drain()
			stop := context.AfterFunc(shutdownCtx, gate.Release)
			defer stop()
			gate.WaitIdle()
			stopStdio()
			select {
			case err := <-stdioErr:
				if err != nil && !errors.Is(err, context.Canceled) {
					s.log.Warn("stdio", "err", err)
				}
			case <-shutdownCtx.Done():
				s.log.Warn("stdio calls still running at the shutdown deadline")
			}
		})
	}
	wg.Wait()
	s.log.Info("stopped", "uptime", time.Since(s.started).Round(time.Millisecond))
	return runErr
}

// Close stops what New started, the sweeper of idle HTTP sessions, and
// closes the HTTP MCP sessions, within Config.ShutdownTimeout. Serve does
// this itself on its way out: call Close only when the Server is used
// through Handler without Serve. It closes neither the engine nor the
// index. Calling it again does nothing.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return s.shutdownHTTP(ctx)
}

// shutdownHTTP runs the streamable HTTP server's Shutdown once: it stops
// the session sweeper, closes the MCP sessions and shuts down httpSrv,
// which is a no-op when httpSrv never served.
func (s *Server) shutdownHTTP(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.dash.Close()
		s.stopPrimitives()
		s.closeErr = s.streamable.Shutdown(ctx)
	})
	return s.closeErr
}
