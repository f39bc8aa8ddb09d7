package redistest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequiredEnv is the environment variable that turns a missing
// redis-server from a skip into a failure.
const RequiredEnv = "REDIS_REQUIRED"

// startTimeout bounds how long a redis-server may take to accept
// connections.
const startTimeout = 10 * time.Second

// Server is one redis-server child process listening on 127.0.0.1.
//
// A Server is safe for concurrent use by multiple goroutines: Restart,
// Pause, Resume and Stop are serialized by a mutex. It must not be copied.
type Server struct {
	// Addr is host:port of the server; it stays the same across Restart.
	Addr string
	bin  string
	port int
	dir  string

	mu     sync.Mutex
	proc   *os.Process // guarded by mu; nil once stopped
	exited chan struct{}
	paused bool
}

// Binary returns the path of redis-server, or "" when it is not
// installed.
func Binary() string {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return p
}

// skipOrFail skips tb when redis-server is missing, or fails it when
// REDIS_REQUIRED=1.
func skipOrFail(tb testing.TB) string {
	tb.Helper()
	bin := Binary()
	if bin != "" {
		return bin
	}
	if os.Getenv(RequiredEnv) == "1" {
		tb.Fatalf("redis-server is not installed and %s=1; install it (apt-get install -y redis-server)", RequiredEnv)
	}
	tb.Skipf("redis-server is not installed; install it or set %s=1 to make this a failure", RequiredEnv)
	return ""
}

// Start starts a redis-server for tb alone and kills it at tb's cleanup.
// It skips tb when redis-server is missing (see RequiredEnv).
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := skipOrFail(tb)
	s, err := start(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var shared struct {
	once sync.Once
	srv  *Server
	dir  string
	err  error
}

// Shared returns the redis-server shared by every test of the package,
// starting it on first use. Tests keep apart with their own key prefix
// (Prefix). Main stops it when the tests end. It skips tb when
// redis-server is missing (see RequiredEnv).
func Shared(tb testing.TB) *Server {
	tb.Helper()
	bin := skipOrFail(tb)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "redistest-*") //nolint:usetesting // outlives the test that starts it; removed by Main
		if shared.err == nil {
			shared.srv, shared.err = start(bin, shared.dir)
		}
	})
	if shared.err != nil {
		tb.Fatalf("redistest: shared server: %v", shared.err)
	}
	return shared.srv
}

// Main runs the tests of a package and then stops the shared server, if
// one was started. Call it from TestMain: os.Exit(redistest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	return code
}

// Prefix returns a key prefix unique to this call, for tests that share a
// server: "t<hex>:".
func Prefix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

// URL returns the redis:// URL of database db, with ?prefix= when prefix
// is not empty.
func (s *Server) URL(db int, prefix string) string {
	u := "redis://" + s.Addr + "/" + strconv.Itoa(db)
	if prefix != "" {
		u += "?prefix=" + prefix
	}
	return u
}

// start picks a free port and starts redis-server on it, trying a few
// ports in case another process takes the one picked.
func start(bin, dir string) (*Server, error) {
	var last error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, port: port, dir: dir}
		if last = s.launch(); last == nil {
			return s, nil
		}
	}
	return nil, last
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch runs redis-server on s.port and waits until it answers PING.
// It reads the server's log from a pipe until "Ready to accept
// connections", so no polling is needed.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--loglevel", "notice",
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	ready := make(chan struct{})
	var logMu sync.Mutex
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			if log.Len() < 16<<10 {
				log.WriteString(line + "\n")
			}
			logMu.Unlock()
			if !signalled && strings.Contains(line, "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
	case <-exited:
		logMu.Lock()
		defer logMu.Unlock()
		return fmt.Errorf("redis-server on port %d exited: %s", s.port, strings.TrimSpace(log.String()))
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("redis-server on port %d not ready after %v", s.port, startTimeout)
	}
	if err := ping(s.Addr); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return err
	}
	s.proc, s.exited, s.paused = cmd.Process, exited, false
	return nil
}

// ping sends one PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, startTimeout)
	if err != nil {
		return fmt.Errorf("redis-server at %s: %w", addr, err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(startTimeout))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return fmt.Errorf("redis-server at %s: PING: %w", addr, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("redis-server at %s: PING: %w", addr, err)
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("redis-server at %s: PING answered %q", addr, line)
	}
	return nil
}

// Stop kills the server and waits for it to exit. It is safe to call
// more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Kill() // SIGKILL also ends a stopped process
	<-s.exited
	s.proc = nil
}

// Restart kills the server and starts a new one on the same port. Nothing
// is persisted, so every key is lost, as in a Redis restart without RDB or
// AOF; scripts loaded with SCRIPT LOAD are gone too.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	if err := s.launch(); err != nil {
		tb.Fatalf("redistest: restart: %v", err)
	}
}

// Pause stops the server with SIGSTOP: it keeps its connections but
// answers nothing until Resume.
func (s *Server) Pause(tb testing.TB) {
	tb.Helper()
	s.signal(tb, syscall.SIGSTOP, true)
}

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	s.signal(tb, syscall.SIGCONT, false)
}

func (s *Server) signal(tb testing.TB, sig syscall.Signal, paused bool) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		tb.Fatalf("redistest: %v: the server is stopped", sig)
		return
	}
	if err := s.proc.Signal(sig); err != nil {
		tb.Fatalf("redistest: %v: %v", sig, err)
	}
	s.paused = paused
}

// Paused reports whether the server is paused.
func (s *Server) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// ErrStopped is returned by Ping when the server is not running.
var ErrStopped = errors.New("redistest: server stopped")

// Ping checks that the server answers PING.
func (s *Server) Ping() error {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if !running {
		return ErrStopped
	}
	return ping(s.Addr)
}
