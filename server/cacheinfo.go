package server

import "github.com/mcpflow/mcpflow/metrics"

// cacheOut is one cache in get_server_info's caches: its counters and,
// for a file cache, how many times it parsed a file.
type cacheOut struct {
	metrics.Snapshot
	Parses *int64 `json:"parses,omitempty" jsonschema:"files parsed, one per version of a file (file caches only)"`
}

// cachesInfo is get_server_info's caches: every cache's counters, with
// the file caches' parse counts.
func (s *Server) cachesInfo() map[string]cacheOut {
	snaps := s.cacheMetrics()
	parses := s.cfg.Engine.Parses()
	out := make(map[string]cacheOut, len(snaps))
	for name, snap := range snaps {
		c := cacheOut{Snapshot: snap}
		if n, ok := parses[name]; ok {
			c.Parses = &n
		}
		out[name] = c
	}
	return out
}
