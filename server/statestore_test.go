package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/server"
)

type stateStoreInfo struct {
	StateStore struct {
		Kind      string `json:"kind"`
		Location  string `json:"location"`
		Conflicts struct {
			Retries int64 `json:"retries"`
			GaveUp  int64 `json:"gave_up"`
		} `json:"conflicts"`
		Redis map[string]any `json:"redis"`
	} `json:"state_store"`
}

// TestStateStoreInInfoAndMetrics: get_server_info shows where sessions
// live and the store's counters, and /metrics serves the store's metrics
// and the engine's conflict counters.
func TestStateStoreInInfoAndMetrics(t *testing.T) {
	storeSaves := prometheus.NewCounter(prometheus.CounterOpts{Name: "mcpflow_redis_saves_total", Help: "test"})
	storeSaves.Add(7)
	h := startHarness(t, harnessOpts{http: true, tweak: func(c *server.Config) {
		c.StateStore = server.StateStore{
			Kind: "redis", Location: "redis://127.0.0.1:6379/0",
			Stats:     func() any { return map[string]any{"cas_conflicts": 3, "invalidations": 12} },
			Collector: storeSaves,
		}
	}})
	cs := h.httpClient("store", "")
	got := decode[stateStoreInfo](t, mustOK(t, cs, server.ToolGetServerInfo, nil))
	assert.Equal(t, "redis", got.StateStore.Kind)
	assert.Equal(t, "redis://127.0.0.1:6379/0", got.StateStore.Location)
	assert.InDelta(t, 3, got.StateStore.Redis["cas_conflicts"], 0)
	assert.InDelta(t, 12, got.StateStore.Redis["invalidations"], 0)

	status, _, body := rawHTTP(t, http.MethodGet, strings.TrimSuffix(h.url, server.PathMCP)+server.PathMetrics, nil, nil)
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{
		"mcpflow_redis_saves_total 7",
		"mcpflow_engine_conflict_retries_total 0",
		"mcpflow_engine_conflict_gave_up_total 0",
	} {
		assert.Contains(t, body, want)
	}
}

// TestStateStoreDefaultsToFile: without a StateStore, get_server_info
// names the FileStore and its folder.
func TestStateStoreDefaultsToFile(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, tweak: func(c *server.Config) {
		c.Folders = map[string]string{"state": "/srv/state"}
	}})
	got := decode[stateStoreInfo](t, mustOK(t, h.httpClient("store", ""), server.ToolGetServerInfo, nil))
	assert.Equal(t, "file", got.StateStore.Kind)
	assert.Equal(t, "/srv/state", got.StateStore.Location)
	assert.Nil(t, got.StateStore.Redis)
}

// TestStateStoreCollectorClash: a store collector whose metrics clash with
// the server's is a configuration error, not a panic.
func TestStateStoreCollectorClash(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true})
	clash := prometheus.NewGauge(prometheus.GaugeOpts{Name: "mcpflow_uptime_seconds", Help: "clash"})
	_, err := server.New(server.Config{Engine: h.eng, Index: h.ix, HTTPAddr: "127.0.0.1:0", StateStore: server.StateStore{Collector: clash}})
	require.ErrorIs(t, err, server.ErrInvalidConfig)
}
