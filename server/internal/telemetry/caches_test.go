package telemetry

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
)

// TestFileCacheCountersOnMetrics: the file caches' parse counts and the
// state-file store's two caches are on /metrics, under the names
// docs/ARCHITECTURE.md's cache table gives, with the counts of what the
// engine did: two starts of one workflow parse its metadata.json and its
// first gate once each; each start's save creates a file, so no stamp is
// checked, and the store knows both stamps; the engine's list of the
// folder's sessions when it opens is served from the summary index.
func TestFileCacheCountersOnMetrics(t *testing.T) {
	e, err := engine.New(engine.Config{StateDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	for _, target := range []string{"a.go", "b.go"} {
		_, err := e.Start(t.Context(), engine.MustParseWorkflowName("bug_fix"), target, nil)
		require.NoError(t, err)
	}

	tel := New("v", time.Now(), nil, e.Metrics, func() float64 { return 0 })
	tel.Registry().MustRegister(EngineCollectors(e)...)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(tel.Registry(), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", http.NoBody))
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	for _, want := range []string{
		"\nmcpflow_cache_parses_total{cache=\"metadata\"} 1\n",
		"\nmcpflow_cache_parses_total{cache=\"gates\"} 1\n",
		"\nmcpflow_cache_parses_total{cache=\"example_specs\"} 0\n",
		"\nmcpflow_cache_hits_total{cache=\"state_stamps\"} 0\n",
		"\nmcpflow_cache_misses_total{cache=\"state_stamps\"} 0\n",
		"\nmcpflow_cache_entries{cache=\"state_stamps\"} 2\n",
		"\nmcpflow_cache_hits_total{cache=\"session_summaries\"} 1\n",
		"\nmcpflow_cache_misses_total{cache=\"session_summaries\"} 0\n",
		"\nmcpflow_cache_loads_total{cache=\"session_summaries\"} 0\n",
		"\nmcpflow_cache_entries{cache=\"session_summaries\"} 2\n",
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, `mcpflow_cache_parses_total{cache="sessions"}`, "only file caches parse")
}
