package transport

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

// lockedBuffer collects what the gate writes.
type lockedBuffer struct{ testutil.Buffer }

func (l *lockedBuffer) lines() []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

const (
	reqLine   = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`
	notifLine = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	respLine  = `{"jsonrpc":"2.0","id":1,"result":{}}`
)

// TestStdioGateHoldsEOFUntilAnswered: the end of stdin reaches mcp-go only
// once every request read has been answered.
func TestStdioGateHoldsEOFUntilAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &lockedBuffer{}
		g := NewStdioGate(strings.NewReader(reqLine+"\n"+notifLine+"\n"), out, 1<<20, "", pass)
		got := make(chan []byte, 1)
		go func() {
			b, err := io.ReadAll(g) // ReadAll stops at EOF
			assert.NoError(t, err)
			got <- b
		}()
		synctest.Wait()
		assert.Equal(t, 1, g.Pending(), "one request, the notification does not count")
		select {
		case <-got:
			t.Fatal("EOF passed on while a request was unanswered")
		default:
		}
		select {
		case <-g.EOF():
		default:
			t.Fatal("the gate must report stdin EOF at once")
		}
		// A notification written by the server does not answer anything.
		_, err := g.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/progress"}` + "\n"))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, 1, g.Pending())
		_, err = g.Write([]byte(respLine + "\n"))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, []string{reqLine, notifLine, ""}, strings.Split(string(<-got), "\n"))
		assert.Equal(t, 0, g.Pending())
	})
}

// TestStdioGateCountsAWrongVersionWithAResult: mcp-go answers a message
// of a wrong jsonrpc version with its ID even when it carries a result, so
// the gate counts it; that answer must not end the wait for another
// request still running.
func TestStdioGateCountsAWrongVersionWithAResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewStdioGate(strings.NewReader(wrongVersionResultLine+"\n"+reqLine+"\n"), io.Discard, 1<<20, "", pass)
		got := make(chan struct{})
		go func() {
			_, err := io.ReadAll(g)
			assert.NoError(t, err)
			close(got)
		}()
		synctest.Wait()
		assert.Equal(t, 2, g.Pending())
		// mcp-go's answer to the wrong version.
		_, err := g.Write([]byte(`{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid JSON-RPC version"}}` + "\n"))
		require.NoError(t, err)
		synctest.Wait()
		assert.Equal(t, 1, g.Pending())
		select {
		case <-got:
			t.Fatal("EOF passed on while request 1 was unanswered")
		default:
		}
		_, err = g.Write([]byte(respLine + "\n"))
		require.NoError(t, err)
		<-got
		assert.Equal(t, 0, g.Pending())
	})
}

// TestStdioGateReleaseEndsTheWait: past the shutdown deadline, release
// lets EOF through even with requests unanswered.
func TestStdioGateReleaseEndsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewStdioGate(strings.NewReader(reqLine+"\n"), io.Discard, 1<<20, "", pass)
		done := make(chan error, 1)
		go func() {
			_, err := io.ReadAll(g)
			done <- err
		}()
		synctest.Wait()
		g.Release()
		synctest.Wait()
		require.NoError(t, <-done)
		assert.Equal(t, 1, g.Pending())
	})
}

// TestStdioGateOversizeLine: a line over the limit never reaches mcp-go;
// it is answered with an error carrying its ID, and the next line passes.
func TestStdioGateOversizeLine(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":"big-1","method":"tools/call","params":{"arguments":{"q":"` + strings.Repeat("x", 200<<10) + `"}}}`
	out := &lockedBuffer{}
	g := NewStdioGate(strings.NewReader(big+"\n"+reqLine+"\n"), out, 64<<10, binaryNames.MaxBodyBytes, pass)
	g.Release() // do not wait for answers at EOF
	b, err := io.ReadAll(g)
	require.NoError(t, err)
	assert.Equal(t, []string{reqLine, ""}, strings.Split(string(b), "\n"))
	lines := out.lines()
	require.Len(t, lines, 1)
	assert.Equal(t, "big-1", lines[0]["id"])
	assert.Contains(t, lines[0]["error"].(map[string]any)["message"], "--max-body")
}

// TestStdioGateLastLineWithoutNewline: a final message without a newline
// is still passed on, with one added.
func TestStdioGateLastLineWithoutNewline(t *testing.T) {
	g := NewStdioGate(strings.NewReader(notifLine), io.Discard, 1<<20, "", pass)
	b, err := io.ReadAll(g)
	require.NoError(t, err)
	assert.Equal(t, []string{notifLine, ""}, strings.Split(string(b), "\n"), "a newline is added")
}

// TestStdioGateDraining: once draining, requests are answered with an
// error and not passed on; notifications are dropped.
func TestStdioGateDraining(t *testing.T) {
	out := &lockedBuffer{}
	g := NewStdioGate(strings.NewReader(reqLine+"\n"+notifLine+"\n"), out, 1<<20, "", pass)
	g.Drain()
	b, err := io.ReadAll(g)
	require.NoError(t, err)
	assert.Empty(t, b)
	lines := out.lines()
	require.Len(t, lines, 1)
	assert.InDelta(t, 1, lines[0]["id"], 0)
	assert.Contains(t, lines[0]["error"].(map[string]any)["message"], "shutting down")
	assert.Equal(t, 0, g.Pending())
}

// TestStdioGateConcurrentWriters: answers written from many goroutines
// (mcp-go's workers) are counted exactly and never interleave.
func TestStdioGateConcurrentWriters(t *testing.T) {
	const n = 200
	var in strings.Builder
	for i := range n {
		in.WriteString(`{"jsonrpc":"2.0","id":` + itoa(i) + `,"method":"ping"}` + "\n")
	}
	out := &lockedBuffer{}
	g := NewStdioGate(strings.NewReader(in.String()), out, 1<<20, "", pass)
	// Read every line but the EOF: pass each request on.
	buf := make([]byte, 1<<16)
	read := 0
	for read < len(in.String()) {
		k, err := g.Read(buf)
		require.NoError(t, err)
		read += k
	}
	require.Equal(t, n, g.Pending())
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-release
			_, err := g.Write([]byte(`{"jsonrpc":"2.0","id":` + itoa(i) + `,"result":{}}` + "\n"))
			assert.NoError(t, err)
		})
	}
	close(release)
	wg.Wait()
	assert.Equal(t, 0, g.Pending())
	assert.Len(t, out.lines(), n, "every answer is one whole line")
	_, err := g.Read(buf)
	assert.ErrorIs(t, err, io.EOF)
}

func TestStdioRefusalNamesTheLimitAsConfigured(t *testing.T) {
	big := `{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":"` + strings.Repeat("x", 300) + `"}}`
	for name, want := range map[string]string{
		"--max-body": "message is over 256 bytes (--max-body); send smaller arguments",
		"":           "message is over 256 bytes; send smaller arguments",
	} {
		out := &lockedBuffer{}
		g := NewStdioGate(strings.NewReader(big+"\n"), out, 256, name, pass)
		g.Release()
		_, err := io.ReadAll(g)
		require.NoError(t, err)
		lines := out.lines()
		require.Len(t, lines, 1)
		assert.Equal(t, want, lines[0]["error"].(map[string]any)["message"])
	}
}

// pass is a preflight that answers nothing: every message goes on.
func pass(string, []byte) []byte { return nil }

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
