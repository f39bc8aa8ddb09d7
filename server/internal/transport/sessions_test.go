package transport

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// front is a guard and a session table in front of next, with a preflight
// that records what it is given and answers nothing.
type front struct {
	h        http.Handler
	table    *SessionTable
	sessions []string
	msgs     [][]byte
}

func newFront(next http.Handler) *front {
	f := &front{}
	g := NewGuard(GuardOptions{BindHost: "127.0.0.1", MaxBodyBytes: 1 << 20})
	f.table = NewSessionTable(SessionOptions{MaxSessions: 4, MaxStreams: 4, PerSession: 2, Preflight: func(session string, msg []byte) []byte {
		f.sessions = append(f.sessions, session)
		f.msgs = append(f.msgs, msg)
		return nil
	}})
	f.h = g.Wrap(f.table.Wrap(next), true)
	return f
}

func post(h http.Handler, header map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestPostBodyReadOnce: the session table checks the bytes the guard read,
// without reading or copying the body again, and the handler behind it
// still reads the body whole.
func TestPostBodyReadOnce(t *testing.T) {
	const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`
	var handed []byte
	var seen string
	f := newFront(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		rb, ok := r.Body.(*readBody)
		if !ok {
			t.Errorf("the body behind the table is a %T, not the guard's", r.Body)
			return
		}
		handed = rb.b
		var b strings.Builder
		_, _ = rb.WriteTo(&b)
		seen = b.String()
	}))
	sid := f.table.Generate()
	f.table.issued(sid, true)
	w := post(f.h, map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-06-18"}, body)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Len(t, f.msgs, 1)
	assert.JSONEq(t, body, seen, "the handler reads the body whole")
	assert.Equal(t, unsafe.SliceData(f.msgs[0]), unsafe.SliceData(handed), "the preflight got the guard's bytes, not a copy")
}

// TestMetaKeySpelledWithAnEscapeIsRead: params._meta is decoded only when
// the params could name a key the table reads; a key spelled with an
// escape still counts, so a message that declares protocol 2026-07-28 that
// way is served as one (without a session) as before.
func TestMetaKeySpelledWithAnEscapeIsRead(t *testing.T) {
	f := newFront(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, key := range []string{`io.modelcontextprotocol/protocolVersion`, `io.modelcontextprotocol\/protocolVersion`, `io.modelcontextprotocol\u002fprotocolVersion`} {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"` + key + `":"2026-07-28"},"name":"x"}}`
		w := post(f.h, nil, body)
		require.Equal(t, http.StatusOK, w.Code, key)
	}
	assert.Equal(t, []string{"", "", ""}, f.sessions, "each went through the modern path: preflight without a session")

	// Without the key the message is of a session, and without an
	// Mcp-Session-Id it goes to mcp-go unchecked, which refuses it.
	f.sessions = nil
	w := post(f.h, nil, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"other":"2026-07-28"},"name":"x"}}`)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, f.sessions)
}
