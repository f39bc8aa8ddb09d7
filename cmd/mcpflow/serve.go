package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

const serveDetails = `
Serves the MCP tools to the IDE's agent over stdio and to sub-agents over
streamable HTTP at http://ADDR/mcp, from one process with one engine.
/healthz answers "ok"; /metrics serves Prometheus metrics (token required
when one is set). Once HTTP listens, <state>/server.json tells sub-agents
the URL; it is removed at shutdown.

Folders: --root (default: the current folder) holds .mcpflow/workflows,
.mcpflow/standards and .mcpflow/state; a prAxIs OS project without .mcpflow
is served from .praxis-os/workflows and .praxis-os/standards as it is, with
sessions in prAxIs OS's own .praxis-os/.cache/state (the startup log says
which layout it found; sessions an older mcpflow kept in .praxis-os/state
are moved there at start, with a log line). Missing workflows or standards folders mean
the built-in samples; the state folder is created. --workflows, --standards
and --state override each one. Dynamic workflows (spec_execution_v1) find
options.spec_path inside --root. One server per state folder: a second serve
on the same folder refuses to start, naming the PID that holds it (an flock,
released when that process ends, even by kill -9).

Replicas: --state redis://HOST:PORT/DB[?prefix=NAME] keeps sessions in Redis
instead, so that several "serve --transport http" processes behind one URL
share them (no sticky sessions needed). Other URL parameters: timeout,
conn_timeout, session_ttl (0: never expire), cache_ttl, cache_size. The
discovery file is not written in this mode. See docs/DEPLOYMENT.md.

HTTP binds to loopback unless --http says otherwise; any other address needs
--token (prefer MCPFLOW_TOKEN: the command line is visible to other users).
Projects side by side: in dual mode, when --http is not given and its
default port is busy (another project's server), HTTP takes a free loopback
port instead; the log says so and server.json names it. A --http address
that is busy fails.

Shutdown: SIGINT, SIGTERM, or the end of stdin when serving stdio: the IDE
that started the server is gone. In dual mode, a stdin that is /dev/null
(nohup, a container without -i, a service manager) or an empty file has no
IDE behind it: the server warns and serves HTTP only.`

type serveFlags struct {
	transport       choiceFlag
	http            string
	addrFile        string
	folders         folderFlags
	token           string
	stdioWorkers    int
	maxBody         byteSize
	maxEvidence     byteSize
	maxSessions     int
	maxStreams      int
	maxSubs         int
	writeTimeout    time.Duration
	sessionTTL      time.Duration
	cacheTTL        time.Duration
	cacheEntries    int
	watch           bool
	gateCommands    bool
	allowedHosts    listFlag
	allowedOrigins  listFlag
	shutdownTimeout time.Duration
	approvalTimeout time.Duration
	log             *logFlags
}

func newServeCommand() (*command, *serveFlags) {
	c := newCommand("serve", "", "Serve the mcpflow MCP tools over stdio and streamable HTTP.", serveDetails)
	f := &serveFlags{
		transport:   choiceFlag{v: "dual", choices: []string{"stdio", "http", "dual"}},
		maxBody:     server.DefaultMaxBodyBytes,
		maxEvidence: 512 << 10,
	}
	fs := c.fs
	fs.Var(&f.transport, "transport", "`mode`: stdio, http, or dual (both at once)")
	fs.StringVar(&f.http, "http", "127.0.0.1:4242", "HTTP listen `address` (port 0 picks a free port)")
	fs.StringVar(&f.addrFile, "addr-file", "", "write the /mcp URL to `file` once listening")
	fs.StringVar(&f.folders.root, "root", ".", "project `folder` holding .mcpflow/{workflows,standards,state} (or a prAxIs OS project's .praxis-os/)")
	fs.StringVar(&f.folders.workflows, "workflows", "", "workflows `folder` (default <root>/.mcpflow/workflows, else built-in samples)")
	fs.StringVar(&f.folders.standards, "standards", "", "standards `folder` (default <root>/.mcpflow/standards, else built-in samples)")
	fs.StringVar(&f.folders.state, "state", "", "session state `folder` (default <root>/.mcpflow/state, or .praxis-os/.cache/state in a prAxIs OS project; created), or redis://HOST:PORT/DB to share sessions between replicas")
	fs.StringVar(&f.token, "token", "", "bearer `token` that /mcp and /metrics require; needed off loopback")
	fs.IntVar(&f.stdioWorkers, "stdio-workers", server.DefaultStdioWorkers, fmt.Sprintf("stdio tool calls served at once, 1 to %d", server.MaxStdioWorkers))
	fs.Var(&f.maxBody, "max-body", "largest HTTP request body or stdio message, in `bytes` (units: KiB, MiB)")
	fs.Var(&f.maxEvidence, "max-evidence", "largest complete_phase evidence, JSON-encoded, in `bytes`")
	fs.IntVar(&f.maxSessions, "max-sessions", server.DefaultMaxSessions, "most live MCP sessions over HTTP; at the limit the one idle longest ends, or initialize gets 503")
	fs.IntVar(&f.maxStreams, "max-streams", server.DefaultMaxStreams, fmt.Sprintf("most streams open at once: SSE GET streams (%d per session) and subscriptions/listen streams", server.StreamsPerSession))
	fs.IntVar(&f.maxSubs, "max-subscriptions", server.DefaultMaxSubscriptions, "most resource subscriptions of one MCP session")
	fs.DurationVar(&f.writeTimeout, "write-timeout", server.DefaultWriteTimeout, "`time` one HTTP response, or one event on a stream, may take to write before a client that does not read is disconnected")
	fs.DurationVar(&f.sessionTTL, "session-ttl", engine.DefaultSessionTTL, "idle `time` before a session leaves memory (it stays on disk)")
	fs.DurationVar(&f.cacheTTL, "cache-ttl", ragcache.DefaultCacheTTL, "`time` a search result stays cached")
	fs.IntVar(&f.cacheEntries, "cache-entries", ragcache.DefaultCacheMaxEntries, "most search results cached")
	fs.BoolVar(&f.watch, "watch", true, "reindex the standards folder when its files change")
	fs.BoolVar(&f.gateCommands, "allow-gate-commands", false, "let gates run the commands their checks name, in the project folder (off by default: such a check then fails naming this flag)")
	fs.Var(&f.allowedHosts, "allowed-hosts", "extra Host header `names` accepted over HTTP (comma-separated)")
	fs.Var(&f.allowedOrigins, "allowed-origins", "extra browser `origins` accepted over HTTP, e.g. https://app.example")
	fs.DurationVar(&f.approvalTimeout, "approval-timeout", server.DefaultElicitTimeout, "`time` complete_phase waits for the human's answer when it asks the IDE to approve a phase (MCP elicitation); the phase stays pending after it")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "`time` in-flight calls get to finish at shutdown")
	f.log = addLogFlags(fs, "info")
	return c, f
}

func serveCmd(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) (*command, error) {
	c, f := newServeCommand()
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("unexpected argument %q; serve takes only flags", pos[0])
	}
	stdio := f.transport.v != "http"
	useHTTP := f.transport.v != "stdio"
	n := c.flagName
	switch {
	case f.stdioWorkers < 1 || f.stdioWorkers > server.MaxStdioWorkers:
		return c, usagef("%s %d: must be 1 to %d", n("stdio-workers"), f.stdioWorkers, server.MaxStdioWorkers)
	case f.maxBody < 1024:
		return c, usagef("%s %d: must be at least 1024 bytes", n("max-body"), f.maxBody)
	case f.maxEvidence < 1 || int64(f.maxEvidence) > int64(f.maxBody):
		return c, usagef("%s %d: must be positive and at most %s (%d)", n("max-evidence"), f.maxEvidence, n("max-body"), f.maxBody)
	case f.maxSessions < 1:
		return c, usagef("%s %d: must be at least 1", n("max-sessions"), f.maxSessions)
	case f.maxStreams < 1:
		return c, usagef("%s %d: must be at least 1", n("max-streams"), f.maxStreams)
	case f.maxSubs < 1:
		return c, usagef("%s %d: must be at least 1", n("max-subscriptions"), f.maxSubs)
	case f.writeTimeout <= 0:
		return c, usagef("%s %v: must be positive", n("write-timeout"), f.writeTimeout)
	case f.sessionTTL <= 0:
		return c, usagef("%s %v: must be positive", n("session-ttl"), f.sessionTTL)
	case f.cacheTTL <= 0:
		return c, usagef("%s %v: must be positive", n("cache-ttl"), f.cacheTTL)
	case f.cacheEntries < 1:
		return c, usagef("%s %d: must be at least 1", n("cache-entries"), f.cacheEntries)
	case f.approvalTimeout <= 0:
		return c, usagef("%s %v: must be positive", n("approval-timeout"), f.approvalTimeout)
	case f.shutdownTimeout <= 0:
		return c, usagef("%s %v: must be positive", n("shutdown-timeout"), f.shutdownTimeout)
	}
	if useHTTP {
		if err := server.CheckBind(f.http, f.token); err != nil {
			return c, usagef("%s %s: %v", n("http"), f.http, withFlagRemedy(configProblem(err), n))
		}
	}
	var redisOpts *redisstore.Options
	if redisstore.IsURL(f.folders.state) {
		o, err := redisstore.ParseURL(f.folders.state)
		if err != nil {
			return c, usagef("%s: %v", n("state"), err)
		}
		redisOpts, f.folders.state = &o, ""
	}
	log := f.log.logger(stderr)
	transports := f.transport.v
	if f.transport.v == "dual" {
		if why := stdinAbsent(stdin); why != "" {
			log.Warn("stdin is "+why+", so no IDE can talk over stdio; serving HTTP only", "hint", n("transport")+" http says so without this warning")
			stdio, transports = false, "http"
		}
	}

	dirs, err := f.folders.resolve(redisOpts == nil)
	if err != nil {
		return c, err
	}
	if redisOpts == nil {
		// One server per state folder: a second one would create
		// duplicate sessions (docs/DEPLOYMENT.md).
		lock, err := filestore.LockStateDir(dirs.state)
		if err != nil {
			return c, withFlagRemedy(fmt.Errorf("%s: %w", n("state"), err), n)
		}
		defer func() { _ = lock.Close() }()
		dirs.moveLegacySessions(log)
	}
	var stateStore server.StateStore
	var store state.Store
	if redisOpts != nil {
		redisOpts.Logger = log.With("component", "redis")
		rs, err := redisstore.Open(ctx, *redisOpts)
		if err != nil {
			return c, fmt.Errorf("%s %s: %w", n("state"), redisOpts, err)
		}
		defer func() { _ = rs.Close() }()
		store, dirs.state = rs, rs.String()
		stateStore = server.StateStore{Kind: "redis", Location: rs.String(), Stats: func() any { return rs.Stats() }, Collector: rs}
	}
	eng, err := engine.New(engine.Config{
		WorkflowsDir:      dirs.workflows,
		ProjectDir:        dirs.root,
		StateDir:          dirs.state,
		Store:             store,
		SessionTTL:        f.sessionTTL,
		MaxEvidenceBytes:  int(f.maxEvidence),
		AllowGateCommands: f.gateCommands,
		Logger:            log.With("component", "engine"),
	})
	if err != nil {
		return c, fmt.Errorf("workflows %s, state %s: %w", show(dirs.workflows), dirs.state, err)
	}
	defer func() {
		if err := eng.Close(); err != nil {
			log.Warn("closing the engine", "err", err)
		}
	}()
	logBrokenWorkflows(log, dirs.workflows)
	ix, err := ragcache.Open(ctx, ragcache.Config{
		Dir:             dirs.standards,
		CacheTTL:        f.cacheTTL,
		CacheMaxEntries: f.cacheEntries,
		Watch:           f.watch && dirs.standards != "",
		Logger:          log.With("component", "search"),
		Progress:        stderr,
	})
	if err != nil {
		return c, fmt.Errorf("--standards %s: %w", show(dirs.standards), err)
	}
	if err := ix.WatchErr(); err != nil {
		log.Warn("live reindex is off: the standards folder cannot be watched (are the user's inotify instances or watches used up?); "+
			"serving anyway: reindex_standards rebuilds the index on demand, and --watch=false starts without trying", "err", err)
	}
	defer func() {
		if err := ix.Close(); err != nil {
			log.Warn("closing the standards index", "err", err)
		}
	}()

	cfg := server.Config{
		Engine:           eng,
		Index:            ix,
		Version:          versionString(),
		Logger:           log,
		Stdio:            stdio,
		Token:            f.token,
		AllowedHosts:     f.allowedHosts,
		AllowedOrigins:   f.allowedOrigins,
		MaxBodyBytes:     int64(f.maxBody),
		StdioWorkers:     f.stdioWorkers,
		MaxSessions:      f.maxSessions,
		MaxStreams:       f.maxStreams,
		MaxSubscriptions: f.maxSubs,
		WorkflowsDir:     dirs.workflows,
		WriteTimeout:     f.writeTimeout,
		ShutdownTimeout:  f.shutdownTimeout,
		Folders: map[string]string{
			"root": dirs.root, "workflows": show(dirs.workflows), "standards": show(dirs.standards), "state": dirs.state,
			"layout": dirs.layout,
		},
		StateStore:     stateStore,
		SettingNames:   serverSettingNames,
		ApproveCommand: "mcpflow approve --state " + shellWord(dirs.state),
		ElicitTimeout:  f.approvalTimeout,
	}
	if useHTTP {
		cfg.HTTPAddr = f.http
		// Only the default address gives way to a free port: a second
		// project's server on the same machine still starts.
		cfg.HTTPAddrFallback = f.transport.v == "dual" && !c.isSet("http")
		cfg.AddrFile = f.addrFile
		if redisOpts == nil {
			cfg.DiscoveryFile = filepath.Join(dirs.state, server.DiscoveryFileName)
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		return c, configProblem(err)
	}
	if err := srv.Listen(); err != nil {
		// Close stops what New started, as Serve would have.
		_ = srv.Close()
		return c, withFlagRemedy(err, n) // names the flag: --http, --addr-file or --state
	}
	log.Info("mcpflow started", "version", versionString(), "transports", transports, "layout", dirs.layout,
		"workflows", show(dirs.workflows), "standards", show(dirs.standards), "state", dirs.state)

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, the default action returns: a second ^C
	// ends the process at once.
	go func() {
		<-sigCtx.Done()
		stop()
	}()
	var in io.Reader
	var out io.Writer
	if stdio {
		in, out = stdin, stdout
	}
	return c, srv.Serve(sigCtx, in, out)
}

// configProblem returns the Problem of server's ConfigError, whose
// "server: invalid config: " says nothing to a person at a shell, or err
// itself when it is no ConfigError.
func configProblem(err error) error {
	if ce, ok := errors.AsType[*server.ConfigError](err); ok {
		return ce.Problem
	}
	return err
}

// stdinAbsent says why stdin cannot carry an IDE's requests (it is
// /dev/null, an empty file, or unreadable), or returns "" when it may: a
// terminal, a pipe or a socket. A pipe that reaches EOF later means the
// IDE is gone, and that ends the server; one that is already at EOF when
// the server starts cannot be told apart from it without waiting, so it
// ends the server too.
func stdinAbsent(stdin io.Reader) string {
	f, ok := stdin.(*os.File)
	if !ok {
		return ""
	}
	fi, err := f.Stat()
	if err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	if fi.Mode()&os.ModeCharDevice != 0 {
		if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
			return os.DevNull
		}
	}
	if fi.Mode().IsRegular() && fi.Size() == 0 {
		return "an empty file"
	}
	return ""
}

// shellWord quotes s for a POSIX shell when it needs quoting.
func shellWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]#~!{}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
