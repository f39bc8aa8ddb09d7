package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

// cachesInfo returns get_server_info's caches, every number as it was
// written.
func cachesInfo(t *testing.T, cs *mcp.ClientSession) map[string]map[string]json.Number {
	t.Helper()
	raw, err := json.Marshal(mustOK(t, cs, server.ToolGetServerInfo, nil).StructuredContent)
	require.NoError(t, err)
	var v struct {
		Caches map[string]map[string]json.Number `json:"caches"`
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	return v.Caches
}

// TestCacheCountersExported: the standards file cache and the file
// caches' parse counts are in get_server_info's caches and on /metrics.
// Two reads of one standards file are one miss and one hit; a start
// parses the workflow's first gate once and no metadata.json (the server
// had parsed every workflow's already, once each); only the file caches
// carry parses.
func TestCacheCountersExported(t *testing.T) {
	dir := writeStandards(t, map[string]string{"rules.md": "# Rules\n\nAlways wrap errors with %w.\n"})
	h, cs, _ := primHarness(t, "http", harnessOpts{standards: dir})
	for range 2 {
		readText(t, cs, server.StandardsURI("rules.md"))
	}
	before := cachesInfo(t, cs)
	mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": "a.go"})
	caches := cachesInfo(t, cs)

	files := caches["standards_files"]
	assert.Equal(t, json.Number("1"), files["hits"])
	assert.Equal(t, json.Number("1"), files["misses"])
	assert.Equal(t, json.Number("1"), files["entries"])
	assert.Equal(t, json.Number("0"), before["gates"]["parses"])
	assert.Equal(t, json.Number("1"), caches["gates"]["parses"])
	require.NotEmpty(t, before["metadata"]["parses"])
	assert.Equal(t, before["metadata"]["parses"], caches["metadata"]["parses"], "metadata.json is parsed once per version")
	assert.Equal(t, caches["metadata"]["entries"], caches["metadata"]["parses"], "one parse per workflow")
	for _, name := range []string{"sessions", "search_queries", "standards_files", "state_stamps", "session_summaries"} {
		require.Contains(t, caches, name)
		assert.NotContains(t, caches[name], "parses", "%s parses nothing", name)
	}

	status, _, body := rawHTTP(t, http.MethodGet, strings.TrimSuffix(h.url, server.PathMCP)+server.PathMetrics, nil, nil)
	require.Equal(t, http.StatusOK, status)
	var lines []string
	for l := range strings.Lines(body) {
		if strings.HasPrefix(l, "mcpflow_cache_") {
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	for _, want := range []string{
		`mcpflow_cache_hits_total{cache="standards_files"} 1`,
		`mcpflow_cache_misses_total{cache="standards_files"} 1`,
		`mcpflow_cache_parses_total{cache="gates"} 1`,
		`mcpflow_cache_parses_total{cache="metadata"} ` + caches["metadata"]["parses"].String(),
		`mcpflow_cache_entries{cache="state_stamps"} 1`,
		`mcpflow_cache_entries{cache="session_summaries"} 1`,
	} {
		assert.Contains(t, lines, want)
	}
}
