package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

// benchServer builds a server with a trivial "noop" tool and returns its
// HTTP handler and an MCP session ID. Calls go through the whole handler
// (guard, mcp-go, middleware, tool) without a network in between, so the
// numbers are the server's own cost per call.
func benchServer(b *testing.B) (http.Handler, string) {
	b.Helper()
	quiet := slog.New(slog.DiscardHandler)
	eng, err := engine.New(engine.Config{StateDir: b.TempDir(), Logger: quiet})
	require.NoError(b, err)
	b.Cleanup(func() { _ = eng.Close() })
	ix, err := ragcache.Open(b.Context(), ragcache.Config{Logger: quiet})
	require.NoError(b, err)
	b.Cleanup(func() { _ = ix.Close() })
	srv, err := server.New(server.Config{Engine: eng, Index: ix, Logger: quiet, HTTPAddr: "127.0.0.1:0"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = srv.Close() })
	srv.MCPServer().AddTool(mcpgo.NewTool("noop"), func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		return mcpgo.NewToolResultText("ok"), nil
	})
	h := srv.Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, benchRequest("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	require.Equal(b, http.StatusOK, w.Code, w.Body.String())
	sid := w.Header().Get("Mcp-Session-Id")
	require.NotEmpty(b, sid)
	return h, sid
}

func benchRequest(session, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:4242/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if session != "" {
		r.Header.Set("Mcp-Session-Id", session)
	}
	return r
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkToolCall measures one tools/call through the HTTP handler, in
// parallel, for the trivial floor tool and for search_standards answered
// from the query cache. Run with:
//
//	go test -run '^$' -bench ToolCall -benchmem ./server/
func BenchmarkToolCall(b *testing.B) {
	h, sid := benchServer(b)
	queries := []string{"error handling", "regression test", "code review", "naming conventions"}
	for _, q := range queries { // fill the query cache
		w := httptest.NewRecorder()
		h.ServeHTTP(w, benchRequest(sid, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_standards","arguments":{"query":"`+q+`"}}}`))
		require.NotContains(b, w.Body.String(), `"isError":true`)
	}
	cases := []struct {
		name string
		body func(i int64) string
	}{
		{"floor", func(i int64) string {
			return `{"jsonrpc":"2.0","id":` + strconv.FormatInt(i, 10) + `,"method":"tools/call","params":{"name":"noop","arguments":{}}}`
		}},
		{"search_hit", func(i int64) string {
			return `{"jsonrpc":"2.0","id":` + strconv.FormatInt(i, 10) + `,"method":"tools/call","params":{"name":"search_standards","arguments":{"query":"` + queries[i%int64(len(queries))] + `"}}}`
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var seq atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					h.ServeHTTP(w, benchRequest(sid, c.body(seq.Add(1))))
				}
			})
		})
	}
}
