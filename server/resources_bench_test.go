package server_test

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

// BenchmarkResourcesListPage is one resources/list page through the HTTP
// handler, the first and one from the middle, with the standards folder
// holding files files. A page must cost the page, not the folder (issue 20:
// 0.5 s a page with 50,000 files). Run with:
//
//	go test -run '^$' -bench ResourcesListPage -benchmem ./server/
func BenchmarkResourcesListPage(b *testing.B) {
	for _, files := range []int{1000, 50000} {
		b.Run("files="+strconv.Itoa(files), func(b *testing.B) {
			dir := b.TempDir()
			for i := range files {
				name := filepath.Join(dir, fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%05d.md", i))
				if i < 100 {
					require.NoError(b, os.MkdirAll(filepath.Dir(name), 0o755))
				}
				require.NoError(b, os.WriteFile(name, []byte("# T\n\nx\n"), 0o600))
			}
			quiet := slog.New(slog.DiscardHandler)
			eng, err := engine.New(engine.Config{StateDir: b.TempDir(), Logger: quiet})
			require.NoError(b, err)
			b.Cleanup(func() { _ = eng.Close() })
			ix, err := ragcache.Open(b.Context(), ragcache.Config{Dir: dir, Logger: quiet})
			require.NoError(b, err)
			b.Cleanup(func() { _ = ix.Close() })
			srv, err := server.New(server.Config{Engine: eng, Index: ix, Logger: quiet, HTTPAddr: "127.0.0.1:0"})
			require.NoError(b, err)
			b.Cleanup(func() { _ = srv.Close() })
			h := srv.Handler()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, benchRequest("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
			require.Equal(b, http.StatusOK, w.Code, w.Body.String())
			sid := w.Header().Get("Mcp-Session-Id")
			// The cursor of the page after the middle file, as mcp-go and
			// this server write it: base64 of the last name listed.
			mid := ix.Files()[files/2].Path
			for _, page := range []struct{ name, params string }{
				{"first", `{}`},
				{"middle", `{"cursor":"` + base64.StdEncoding.EncodeToString([]byte(mid)) + `"}`},
			} {
				b.Run(page.name, func(b *testing.B) {
					body := `{"jsonrpc":"2.0","id":2,"method":"resources/list","params":` + page.params + `}`
					w := httptest.NewRecorder()
					h.ServeHTTP(w, benchRequest(sid, body))
					require.Equal(b, http.StatusOK, w.Code)
					require.Contains(b, w.Body.String(), `"nextCursor"`, w.Body.String()[:min(300, w.Body.Len())])
					require.Contains(b, w.Body.String(), `"size":7`)
					b.ReportAllocs()
					dw := &discardWriter{h: http.Header{}}
					for b.Loop() {
						clear(dw.h)
						h.ServeHTTP(dw, benchRequest(sid, body))
					}
				})
			}
		})
	}
}
