package transport

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binaryNames are the names the mcpflow binary gives its settings
// (cmd/mcpflow), which the refusals that clients of the binary read carry.
var binaryNames = Names{
	MaxBodyBytes: "--max-body", MaxSessions: "--max-sessions", MaxStreams: "--max-streams",
	AllowedHosts: "--allowed-hosts", AllowedOrigins: "--allowed-origins", Token: "--token or MCPFLOW_TOKEN",
}

func TestGuardHostAndOrigin(t *testing.T) {
	loop := NewGuard(GuardOptions{BindHost: "127.0.0.1"})
	for host, ok := range map[string]bool{
		"127.0.0.1:4242": true, "localhost:4242": true, "LOCALHOST": true, "[::1]:4242": true,
		"app.localhost:80": true, "127.9.9.9": true,
		"evil.example": false, "evil.example:4242": false, "127.0.0.1.evil.example": false,
		"": false, "0.0.0.0:4242": false, "localhost.evil.example": false,
	} {
		assert.Equal(t, ok, loop.hostAllowed(host), "Host %q", host)
	}
	for origin, ok := range map[string]bool{
		"http://localhost:3000": true, "http://127.0.0.1": true, "https://[::1]:8443": true,
		"https://evil.example": false, "null": false, "file://": false, "http://localhost.evil.example": false,
		"chrome-extension://abc": false, "garbage": false,
	} {
		assert.Equal(t, ok, loop.originAllowed(origin), "Origin %q", origin)
	}

	named := NewGuard(GuardOptions{BindHost: "10.0.0.5", AllowedHosts: []string{"mcp.internal:4242"}, AllowedOrigins: []string{"https://ide.example/"}})
	assert.True(t, named.hostAllowed("mcp.internal"))
	assert.True(t, named.hostAllowed("10.0.0.5:4242"), "the bound address is its own name")
	assert.False(t, named.hostAllowed("evil.example"))
	assert.True(t, named.originAllowed("https://IDE.example"))
	assert.False(t, named.originAllowed("https://other.example"))

	wildcard := NewGuard(GuardOptions{BindHost: "0.0.0.0"})
	assert.True(t, wildcard.hostAllowed("anything.example"), "a wildcard bind (token required) takes any Host")
}

func TestGuardTokenAndBody(t *testing.T) {
	var reasons []string
	g := NewGuard(GuardOptions{BindHost: "127.0.0.1", Token: "tok", MaxBodyBytes: 16, Names: binaryNames, Rejected: func(r string) { reasons = append(reasons, r) }})
	var seen string
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		seen = string(b[:n])
	}), true)
	do := func(auth, body string, chunked bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
		if chunked {
			r.ContentLength = -1
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	assert.Equal(t, http.StatusUnauthorized, do("", "{}", false).Code)
	assert.Equal(t, http.StatusUnauthorized, do("Bearer tok2", "{}", false).Code)
	assert.Equal(t, http.StatusUnauthorized, do("Bearer to", "{}", false).Code)
	assert.Equal(t, http.StatusUnauthorized, do("Basic tok", "{}", false).Code)
	w := do("bearer  tok ", `{"a":1}`, false)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"a":1}`, seen, "the body reaches the handler whole")
	assert.Equal(t, http.StatusRequestEntityTooLarge, do("Bearer tok", strings.Repeat("x", 17), false).Code)
	w = do("Bearer tok", strings.Repeat("x", 17), true)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, "a chunked body over the limit")
	assert.Contains(t, w.Body.String(), "--max-body")
	assert.Equal(t, []string{"token", "token", "token", "token", "body", "body"}, reasons)
}

// refusal sends one request through a guard built with names and returns
// the message of its refusal, from either kind of error body.
func refusal(t *testing.T, names Names, header map[string]string, body string, chunked bool) string {
	t.Helper()
	g := NewGuard(GuardOptions{BindHost: "127.0.0.1", Token: "tok", MaxBodyBytes: 16, Names: names})
	h := g.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("the request was not refused") }), true)
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
			assert.Equal(t, c.named, refusal(t, binaryNames, c.header, c.body, c.chunked))
			assert.Equal(t, c.bare, refusal(t, Names{}, c.header, c.body, c.chunked))
		})
	}
}
