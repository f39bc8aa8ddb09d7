package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// recorder is an http.RoundTripper that keeps the body of every response
// it carries, as the client read it off the wire. It is safe for
// concurrent use.
type recorder struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies [][]byte // guarded by mu, in the order the bodies were closed
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost {
		return resp, err
	}
	resp.Body = &recordedBody{ReadCloser: resp.Body, r: r}
	return resp, nil
}

// take returns the bodies recorded so far and forgets them.
func (r *recorder) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bodies
	r.bodies = nil
	return b
}

type recordedBody struct {
	io.ReadCloser
	r    *recorder
	buf  bytes.Buffer
	once sync.Once
}

func (b *recordedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.buf.Write(p[:n])
	return n, err
}

func (b *recordedBody) Close() error {
	b.once.Do(func() {
		b.r.mu.Lock()
		b.r.bodies = append(b.r.bodies, bytes.Clone(b.buf.Bytes()))
		b.r.mu.Unlock()
	})
	return b.ReadCloser.Close()
}

// wireResult is a tools/call answer as the server encoded it: the
// content blocks byte for byte, and the structured content field by field.
type wireResult struct {
	Content    json.RawMessage
	Structured map[string]json.RawMessage
}

// toolAnswer finds the one tools/call answer among bodies (a JSON body or
// an SSE stream, whose data lines are JSON-RPC messages).
func toolAnswer(t *testing.T, bodies [][]byte) wireResult {
	t.Helper()
	var found []wireResult
	for _, body := range bodies {
		msgs := [][]byte{body}
		if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			msgs = nil
			for line := range bytes.SplitSeq(body, []byte("\n")) {
				if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
					msgs = append(msgs, d)
				}
			}
		}
		for _, m := range msgs {
			var msg struct {
				Result *struct {
					Content           json.RawMessage            `json:"content"`
					StructuredContent map[string]json.RawMessage `json:"structuredContent"`
				} `json:"result"`
			}
			require.NoError(t, json.Unmarshal(m, &msg), "%s", m)
			if msg.Result != nil && msg.Result.StructuredContent != nil {
				found = append(found, wireResult{Content: msg.Result.Content, Structured: msg.Result.StructuredContent})
			}
		}
	}
	require.Len(t, found, 1, "want exactly one tools/call answer in %q", bodies)
	return found[0]
}

// TestSearchHitIsByteIdenticalToFreshAnswer pins the memoized hit path: a
// search_standards answer served from the query cache, whose sections and
// markdown were built once by an earlier call and kept on the cache entry,
// carries on the wire exactly the bytes of the answer that searched the
// index and built them, over streamable HTTP with the Go SDK client. Only
// query_time_ms and cache_hit, which describe the call, may differ.
func TestSearchHitIsByteIdenticalToFreshAnswer(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	tr := &http.Transport{IdleConnTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	rec := &recorder{base: tr}
	c := mcp.NewClient(&mcp.Implementation{Name: "bytes", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:             h.url,
		HTTPClient:           &http.Client{Transport: rec},
		MaxRetries:           -1,
		DisableStandaloneSSE: true,
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })

	queries := []map[string]any{
		{"query": "error handling"},
		{"query": "regression test", "n_results": 3},
		{"query": "code review", "tags": []any{}},
		{"query": "zzqx vvqq"}, // no match: the fallback text
	}
	for _, args := range queries {
		t.Run(args["query"].(string), func(t *testing.T) {
			call := func() (wireResult, *mcp.CallToolResult) {
				rec.take()
				res := mustOK(t, cs, server.ToolSearchStandards, args)
				return toolAnswer(t, rec.take()), res
			}
			fresh, freshRes := call()
			require.JSONEq(t, `false`, string(fresh.Structured["cache_hit"]), "the first call must search the index")
			for i := range 2 { // the first hit keeps nothing new; the second reads what the first kept
				hit, hitRes := call()
				require.JSONEq(t, `true`, string(hit.Structured["cache_hit"]), "call %d must be a cache hit", i+2)
				assert.Equal(t, string(fresh.Content), string(hit.Content), "content blocks of hit %d", i+1)
				assert.Len(t, hit.Structured, len(fresh.Structured))
				for k, v := range fresh.Structured {
					if k == "query_time_ms" || k == "cache_hit" {
						assert.Contains(t, hit.Structured, k)
						continue
					}
					assert.Equal(t, string(v), string(hit.Structured[k]), "structuredContent.%s of hit %d", k, i+1)
				}
				assert.Equal(t, textOf(freshRes), textOf(hitRes), "the SDK's view of the text")
			}
			if strings.Contains(args["query"].(string), "zzqx") {
				assert.JSONEq(t, `[]`, string(fresh.Structured["results"]))
			} else {
				assert.NotEqual(t, `[]`, string(fresh.Structured["results"]), "the query must match sections")
			}
		})
	}
}
