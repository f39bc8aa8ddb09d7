package transport

import (
	"io"
	"testing"
)

// BenchmarkStdioGate measures the gate per message: one line read through
// it (classification, preflight, listen tracking) and, for a request, its
// response written back through it. The cases are a tools/call of protocol
// 2025-06-18, one of protocol 2026-07-28 (its _meta makes the gate follow
// the revision, so responses are checked against listen requests too),
// and a notification. Run with:
//
//	go test -run '^$' -bench StdioGate -benchmem ./server/internal/transport/
func BenchmarkStdioGate(b *testing.B) {
	const (
		call   = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search_standards","arguments":{"query":"error handling","n_results":3}}}` + "\n"
		modern = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"search_standards","arguments":{"query":"error handling","n_results":3}}}` + "\n"
		notif  = `{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"
		answer = `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"three results for error handling"}],"isError":false}}` + "\n"
	)
	for _, c := range []struct{ name, line string }{{"call", call}, {"modern", modern}, {"notification", notif}} {
		b.Run(c.name, func(b *testing.B) {
			in := &repeatReader{line: []byte(c.line)}
			g := NewStdioGate(in, io.Discard, 1<<20, "", pass)
			buf := make([]byte, 4096)
			isRequest := c.name != "notification"
			b.ReportAllocs()
			for b.Loop() {
				n, err := g.Read(buf)
				if err != nil || n != len(c.line) {
					b.Fatalf("read %d bytes, %v; want %d", n, err, len(c.line))
				}
				if isRequest {
					if _, err := g.Write([]byte(answer)); err != nil {
						b.Fatal(err)
					}
				}
			}
			if g.Pending() != 0 {
				b.Fatalf("%d requests pending", g.Pending())
			}
		})
	}
}

// repeatReader returns line again and again, one whole line per Read.
type repeatReader struct{ line []byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	if len(p) < len(r.line) {
		return 0, io.ErrShortBuffer
	}
	return copy(p, r.line), nil
}
