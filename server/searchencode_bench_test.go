package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/ragcache"
)

// preencoded is structured content encoded once, handed to mcp-go as a
// json.Marshaler: the "keep the encoded result on the cached value" design.
type preencoded []byte

func (p preencoded) MarshalJSON() ([]byte, error) { return p, nil }

// preencodedText is a text content block encoded once. It embeds
// mcp.TextContent only to be an mcp.Content.
type preencodedText struct {
	mcp.TextContent
	raw []byte
}

func (p preencodedText) MarshalJSON() ([]byte, error) { return p.raw, nil }

// BenchmarkSearchEncode measures what a search_standards cache hit costs
// between the index's answer and the bytes on the wire: building the tool
// result and encoding the JSON-RPC response as mcp-go v1.2.1's streamable
// HTTP transport does (json.NewEncoder(w).Encode of the response, whose
// result is the *mcp.CallToolResult). Every case writes the same bytes
// (checked before timing), so one run compares the designs:
//
//   - floor: the trivial tool's "ok" result;
//   - fresh: the answer built from the chunks on every call (a result
//     without a Memo);
//   - memo: the shipped hit path, sections and markdown built once per
//     cache entry and kept in its ragcache.Memo;
//   - preencoded: the structured content encoded once and returned by a
//     json.Marshaler; preencoded_all: the text block too;
//   - raw_field: the structured content encoded once, in mcp-go's
//     RawStructuredContent;
//   - rescan_only: json.Compact of the encoded result alone, the pass that
//     encoding/json makes over the output of CallToolResult.MarshalJSON on
//     every call, whatever the result holds.
//
// The pre-encoded cases get their bytes for free here (a real cache would
// also splice in query_time_ms per call), so they are a lower bound of
// that design. Run with:
//
//	go test -run '^$' -bench SearchEncode -benchmem -count 10 ./server/ > enc.txt
//	benchstat -col /case enc.txt
func BenchmarkSearchEncode(b *testing.B) {
	ix, err := ragcache.Open(b.Context(), ragcache.Config{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	b.Cleanup(func() { _ = ix.Close() })
	queries := []string{"error handling", "regression test", "code review", "naming conventions"}
	hits := make([]ragcache.Result, len(queries))
	for i, q := range queries {
		_, err := ix.Search(b.Context(), ragcache.Query{Text: q})
		require.NoError(b, err)
		hits[i], err = ix.Search(b.Context(), ragcache.Query{Text: q})
		require.NoError(b, err)
		require.True(b, hits[i].CacheHit)
		require.NotNil(b, hits[i].Memo)
	}

	type encoded struct {
		structured, block []byte // the encoded structured content and text block
		text              string
	}
	pre := make([]encoded, len(hits))
	for i, r := range hits {
		res, _ := searchResult(r).toolResult()
		s, err := json.Marshal(res.StructuredContent)
		require.NoError(b, err)
		t, err := json.Marshal(res.Content[0])
		require.NoError(b, err)
		pre[i] = encoded{s, t, res.Content[0].(mcp.TextContent).Text}
	}

	cases := []struct {
		name   string
		result func(i int) *mcp.CallToolResult
	}{
		{"floor", func(int) *mcp.CallToolResult { return mcp.NewToolResultText("ok") }},
		{"fresh", func(i int) *mcp.CallToolResult {
			r := hits[i]
			r.Memo = nil
			res, _ := searchResult(r).toolResult()
			return res
		}},
		{"memo", func(i int) *mcp.CallToolResult {
			res, _ := searchResult(hits[i]).toolResult()
			return res
		}},
		{"preencoded", func(i int) *mcp.CallToolResult {
			return mcp.NewToolResultStructured(preencoded(pre[i].structured), pre[i].text)
		}},
		{"preencoded_all", func(i int) *mcp.CallToolResult {
			return &mcp.CallToolResult{
				Content:           []mcp.Content{preencodedText{TextContent: mcp.NewTextContent(pre[i].text), raw: pre[i].block}},
				StructuredContent: preencoded(pre[i].structured),
			}
		}},
		{"raw_field", func(i int) *mcp.CallToolResult {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(pre[i].text)}, RawStructuredContent: pre[i].structured}
		}},
	}
	encode := func(w io.Writer, id int64, res *mcp.CallToolResult) error {
		return json.NewEncoder(w).Encode(mcp.NewJSONRPCResultResponse(mcp.NewRequestId(id), res))
	}
	want := make([][]byte, len(hits))
	for i := range hits {
		var buf bytes.Buffer
		require.NoError(b, encode(&buf, 1, cases[2].result(i)))
		want[i] = buf.Bytes()
	}
	for _, c := range cases {
		if c.name != "floor" {
			for i := range hits {
				var buf bytes.Buffer
				require.NoError(b, encode(&buf, 1, c.result(i)))
				require.Equal(b, string(want[i]), buf.String(), "%s writes other bytes than memo", c.name)
			}
		}
		b.Run("case="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := encode(io.Discard, int64(n), c.result(n%len(hits))); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
	b.Run("case=rescan_only", func(b *testing.B) {
		bodies := make([][]byte, len(hits))
		for i := range hits {
			var err error
			bodies[i], err = json.Marshal(cases[2].result(i))
			require.NoError(b, err)
		}
		var dst bytes.Buffer
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			dst.Reset()
			if err := json.Compact(&dst, bodies[n%len(bodies)]); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
