package server

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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

// refusal sends one request through a guard built with names and returns
// the message of its refusal, from either kind of error body.
func refusal(t *testing.T, names map[string]string, header map[string]string, body string, chunked bool) string {
	t.Helper()
	g := newGuard(&Config{Token: "tok", MaxBodyBytes: 16, SettingNames: names}, "127.0.0.1", func(string) {})
	h := g.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the request was not refused") }), true)
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
	if chunked {
		r.ContentLength = -1
	}
	r.Header.Set("Authorization", "Bearer tok")
	for k, v := range header {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var got struct {
		Error any `json:"error"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got), w.Body.String())
	switch e := got.Error.(type) {
	case string:
		return e
	case map[string]any:
		return e["message"].(string)
	}
	t.Fatalf("no error in %s", w.Body.String())
	return ""
}

// TestRefusalsNameSettingsAsConfigured pins the bytes clients of the
// binary have always read, and the plain words a server without
// SettingNames uses instead.
func TestRefusalsNameSettingsAsConfigured(t *testing.T) {
	small := strings.Repeat("x", 17)
	cases := []struct {
		name        string
		header      map[string]string
		body        string
		chunked     bool
		named, bare string
	}{
		{
			name:   "host",
			header: map[string]string{"Host": "evil.example:4242"},
			named:  `Host header "evil.example:4242" is not allowed (DNS rebinding protection); connect to 127.0.0.1 or localhost, or start the server with --allowed-hosts evil.example`,
			bare:   `Host header "evil.example:4242" is not allowed (DNS rebinding protection); connect to 127.0.0.1 or localhost, or have evil.example added to the server's allowed hosts`,
		},
		{
			name:   "origin",
			header: map[string]string{"Origin": "https://evil.example"},
			named:  `Origin "https://evil.example" is not allowed; only loopback origins are accepted unless the server is started with --allowed-origins https://evil.example`,
			bare:   `Origin "https://evil.example" is not allowed; only loopback origins are accepted unless the server's allowed origins include https://evil.example`,
		},
		{
			name:   "token",
			header: map[string]string{"Authorization": "Bearer guess"},
			named:  `missing or wrong bearer token; send the header "Authorization: Bearer <token>" with the token given to the server by --token or MCPFLOW_TOKEN`,
			bare:   `missing or wrong bearer token; send the header "Authorization: Bearer <token>" with the token the server was given`,
		},
		{
			name:  "body with a length",
			body:  small,
			named: `request body is 17 bytes; the limit is 16 bytes (--max-body)`,
			bare:  `request body is 17 bytes; the limit is 16 bytes`,
		},
		{
			name:    "chunked body",
			body:    small,
			chunked: true,
			named:   `request body exceeds the limit of 16 bytes (--max-body)`,
			bare:    `request body exceeds the limit of 16 bytes`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.named, refusal(t, BinarySettingNames, c.header, c.body, c.chunked))
			assert.Equal(t, c.bare, refusal(t, nil, c.header, c.body, c.chunked))
		})
	}
}

func TestStdioRefusalNamesTheLimitAsConfigured(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":"` + strings.Repeat("x", 300) + `"}}`
	for name, want := range map[string]string{
		"--max-body": "message is over 256 bytes (--max-body); send smaller arguments",
		"":           "message is over 256 bytes; send smaller arguments",
	} {
		out := &lockedBuffer{}
		g := newStdioGate(strings.NewReader(big+"\n"), out, 256, name)
		g.release()
		_, err := io.ReadAll(g)
		require.NoError(t, err)
		lines := out.lines()
		require.Len(t, lines, 1)
		assert.Equal(t, want, lines[0]["error"].(map[string]any)["message"])
	}
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
