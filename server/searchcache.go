package server

import (
	"github.com/mcpflow/mcpflow/ragcache"
)

// A search_standards answer is mostly its sections, about 4 KB for five,
// carried twice: as structured content and as the markdown text. Building
// both on every call is wasted on a cached answer, whose sections never
// change: searchParts is that part of the answer, built once per query
// cache entry and kept in the entry's ragcache.Memo, so that a hit only
// fills in its own query_time_ms and cache_hit.
//
// This is no cache of the server's: the query cache is ragcache's, and a
// Memo lives and dies with its entry (the entry's bound, TTL and
// generation, its search_queries counters). What server owns is only
// what goes in the slot, its wire form, which depends on the entry's
// result alone, as Memo requires.
//
// The parts are kept as Go values, not as encoded JSON: mcp-go encodes a
// tool result with encoding/json, which re-validates (compacts) every
// pre-encoded json.RawMessage byte by byte, and that costs more than
// encoding the strings afresh. Bytes handed to mcp-go pre-encoded are
// scanned twice (in CallToolResult.MarshalJSON and again by the outer
// Encoder), Go values are encoded once and scanned once;
// BenchmarkSearchEncode measures both designs side by side.

// searchParts is the per-result part of a search_standards answer. It is
// read-only once built.
type searchParts struct {
	hits []searchHit
	text string
}

func buildSearchParts(r *ragcache.Result) *searchParts {
	hits := make([]searchHit, len(r.Chunks))
	return &searchParts{hits: hits, text: searchText(r.Chunks, hits)}
}

// searchResult turns r into the tool result, reusing the parts kept in
// r.Memo when an earlier call on the same cache entry built them.
func searchResult(r ragcache.Result) reply[searchOut] {
	var p *searchParts
	if r.Memo != nil {
		p, _ = r.Memo.Load().(*searchParts)
	}
	if p == nil {
		p = buildSearchParts(&r)
		if r.Memo != nil {
			r.Memo.Store(p)
		}
	}
	out := searchOut{
		Results:         p.hits,
		TotalTokens:     r.TotalTokens,
		RetrievalMethod: r.Method,
		QueryTimeMS:     float64(r.Took.Microseconds()) / 1000,
		CacheHit:        r.CacheHit,
	}
	return textReply(out, p.text)
}
