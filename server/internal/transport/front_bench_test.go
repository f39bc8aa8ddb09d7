package transport

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkFront measures the /mcp front alone: guard and session table in
// front of a handler that drains the body, for a tools/call of a live
// session and one of protocol 2026-07-28 (which carries its _meta). Run
// with:
//
//	go test -run '^$' -bench Front -benchmem ./server/internal/transport/
func BenchmarkFront(b *testing.B) {
	g := NewGuard(GuardOptions{BindHost: "127.0.0.1", MaxBodyBytes: 1 << 20, BodyTimeout: 30 * time.Second})
	t := NewSessionTable(SessionOptions{MaxSessions: 16, MaxStreams: 16, PerSession: 2, Preflight: pass})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [512]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				return
			}
		}
	})
	h := g.Wrap(t.Wrap(next), true)
	sid := t.Generate()
	t.issued(sid, true)
	const (
		call   = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search_standards","arguments":{"query":"error handling","n_results":3}}}`
		modern = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"search_standards","arguments":{"query":"error handling","n_results":3}}}`
	)
	for _, c := range []struct{ name, version, body string }{{"session", "2025-06-18", call}, {"modern", "2026-07-28", modern}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4242/mcp", strings.NewReader(c.body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Mcp-Protocol-Version", c.version)
				if c.name == "session" {
					r.Header.Set("Mcp-Session-Id", sid)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
			}
		})
	}
}
