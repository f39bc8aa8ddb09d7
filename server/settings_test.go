package server

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BinarySettingNames are the SettingNames the mcpflow binary passes
// (cmd/mcpflow), which the tests that read what clients see give their
// servers too.
var BinarySettingNames = map[string]string{
	SettingMaxBodyBytes:     "--max-body",
	SettingMaxSessions:      "--max-sessions",
	SettingMaxStreams:       "--max-streams",
	SettingMaxSubscriptions: "--max-subscriptions",
	SettingAllowedHosts:     "--allowed-hosts",
	SettingAllowedOrigins:   "--allowed-origins",
	SettingToken:            "--token or MCPFLOW_TOKEN",
}

func TestCheckBindWrapsErrTokenRequired(t *testing.T) {
	err := CheckBind("0.0.0.0:4242", "")
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorIs(t, err, ErrTokenRequired)
	assert.Equal(t, `server: invalid config: HTTP address "0.0.0.0:4242" listens on 0.0.0.0, which is not loopback, and no token is set`, err.Error())
	assert.NotContains(t, err.Error(), "--", "the server names no flag")

	err = CheckBind("127.0.0.1", "")
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.NotErrorIs(t, err, ErrTokenRequired, "a token would not help an address without a port")
}

func TestListenErrorNamesTheField(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = busy.Close() }()
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-folder", "file")
	for _, c := range []struct {
		field string
		cfg   func(*Config)
		op    string
	}{
		{"HTTPAddr", func(c *Config) { c.HTTPAddr = busy.Addr().String() }, "listen on " + busy.Addr().String()},
		{"AddrFile", func(c *Config) { c.AddrFile = missing }, "write the address file " + missing},
		{"DiscoveryFile", func(c *Config) { c.DiscoveryFile = missing }, "write the discovery file " + missing},
	} {
		t.Run(c.field, func(t *testing.T) {
			cfg := Config{HTTPAddr: "127.0.0.1:0"}
			c.cfg(&cfg)
			s := &Server{cfg: cfg}
			err := s.listen()
			le, ok := errors.AsType[*ListenError](err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, c.field, le.Field)
			assert.Equal(t, c.op, le.Op)
			assert.Equal(t, "server: "+c.op+": "+le.Err.Error(), err.Error())
			assert.NotContains(t, err.Error(), "--", "the server names no flag")
			if c.field != "HTTPAddr" {
				require.ErrorIs(t, err, os.ErrNotExist)
			}
		})
	}
}

// TestListenFallbackTakesAFreePortWhenTheAddressIsBusy: with
// HTTPAddrFallback, a busy address gives way to a free port on the same
// host, logged, and named by the URL, the address file and the discovery
// file; without it, the busy address fails with EADDRINUSE.
func TestListenFallbackTakesAFreePortWhenTheAddressIsBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = busy.Close() }()
	dir := t.TempDir()

	strict := &Server{cfg: Config{HTTPAddr: busy.Addr().String()}, log: slog.New(slog.DiscardHandler)}
	require.ErrorIs(t, strict.listen(), syscall.EADDRINUSE)

	var logs strings.Builder
	cfg := Config{
		HTTPAddr: busy.Addr().String(), HTTPAddrFallback: true,
		AddrFile: filepath.Join(dir, "addr"), DiscoveryFile: filepath.Join(dir, DiscoveryFileName),
	}
	s := &Server{cfg: cfg, log: slog.New(slog.NewTextHandler(&logs, nil))}
	require.NoError(t, s.listen())
	defer func() { _ = s.ln.Close() }()
	got := s.ln.Addr().String()
	assert.NotEqual(t, busy.Addr().String(), got)
	host, _, err := net.SplitHostPort(got)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host, "the fallback stays on the configured host")
	assert.Equal(t, "http://"+got+PathMCP, s.url)
	assert.Contains(t, logs.String(), "busy="+busy.Addr().String())
	assert.Contains(t, logs.String(), "addr="+got)
	addr, err := os.ReadFile(cfg.AddrFile)
	require.NoError(t, err)
	assert.Equal(t, s.url+"\n", string(addr))
	d, err := ReadDiscovery(cfg.DiscoveryFile)
	require.NoError(t, err)
	assert.Equal(t, s.url, d.URL, "server.json names the port taken")

	// A fallback is for a busy port only: any other failure still fails.
	bad := &Server{cfg: Config{HTTPAddr: "127.0.0.1:99999", HTTPAddrFallback: true}, log: slog.New(slog.DiscardHandler)}
	assert.NotErrorIs(t, bad.listen(), syscall.EADDRINUSE)
}
