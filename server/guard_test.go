package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckBind(t *testing.T) {
	cases := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:4242", "", true},
		{"127.0.0.1:0", "", true},
		{"localhost:4242", "", true},
		{"[::1]:4242", "", true},
		{"127.1.2.3:80", "", true},
		{"0.0.0.0:4242", "", false},
		{":4242", "", false},
		{"[::]:4242", "", false},
		{"192.168.1.5:4242", "", false},
		{"example.com:4242", "", false},
		{"0.0.0.0:4242", "tok", true},
		{"192.168.1.5:4242", "tok", true},
		{"127.0.0.1", "", false},
		{"127.0.0.1:", "", false},
		{"not an address", "", false},
	}
	for _, c := range cases {
		err := CheckBind(c.addr, c.token)
		if c.ok {
			require.NoError(t, err, c.addr)
			continue
		}
		require.Error(t, err, c.addr)
		require.ErrorIs(t, err, ErrInvalidConfig)
		assert.Contains(t, err.Error(), c.addr)
	}
}

func TestGuardHostAndOrigin(t *testing.T) {
	loop := newGuard(&Config{}, "127.0.0.1", func(string) {})
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

	named := newGuard(&Config{AllowedHosts: []string{"mcp.internal:4242"}, AllowedOrigins: []string{"https://ide.example/"}}, "10.0.0.5", func(string) {})
	assert.True(t, named.hostAllowed("mcp.internal"))
	assert.True(t, named.hostAllowed("10.0.0.5:4242"), "the bound address is its own name")
	assert.False(t, named.hostAllowed("evil.example"))
	assert.True(t, named.originAllowed("https://IDE.example"))
	assert.False(t, named.originAllowed("https://other.example"))

	wildcard := newGuard(&Config{}, "0.0.0.0", func(string) {})
	assert.True(t, wildcard.hostAllowed("anything.example"), "a wildcard bind (token required) takes any Host")
}

func TestGuardTokenAndBody(t *testing.T) {
	var reasons []string
	g := newGuard(&Config{Token: "tok", MaxBodyBytes: 16, SettingNames: BinarySettingNames}, "127.0.0.1", func(r string) { reasons = append(reasons, r) })
	var seen string
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
