package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
)

// callsMetric returns mcpflow_tool_calls_total for tool, transport and
// outcome as gathered from t's registry, and whether it was there.
func callsMetric(t *testing.T, tel *Telemetry, tool, tr, outcome string) (float64, bool) {
	t.Helper()
	mfs, err := tel.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "mcpflow_tool_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got [3]string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "tool":
					got[0] = l.GetValue()
				case "transport":
					got[1] = l.GetValue()
				case "outcome":
					got[2] = l.GetValue()
				}
			}
			if got == [3]string{tool, tr, outcome} {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestInstrumentCountsEachOutcomeByTransport(t *testing.T) {
	tel := New("v-test", time.Now(), []string{"a", "b"}, nil, func() float64 { return 0 })
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen engine.Caller
	mw := tel.Instrument(log)
	ok := mw(func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		seen, _ = engine.CallerFrom(ctx)
		return mcp.NewToolResultText("fine"), nil
	})
	toolErr := mw(func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultError("bad argument"), nil
	})
	protoErr := mw(func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return nil, errors.New("boom")
	})
	req := func(name string) mcp.CallToolRequest {
		var r mcp.CallToolRequest
		r.Params.Name = name
		return r
	}
	stdio := StdioContext(context.Background())
	httpCtx := HTTPContext(context.Background(), httptest.NewRequest(http.MethodPost, "/mcp", http.NoBody))

	for range 3 {
		_, err := ok(stdio, req("a"))
		require.NoError(t, err)
	}
	_, err := toolErr(httpCtx, req("a"))
	require.NoError(t, err)
	_, err = protoErr(httpCtx, req("b"))
	require.Error(t, err)
	_, err = ok(stdio, req("unknown")) // not counted, not a panic
	require.NoError(t, err)

	assert.Equal(t, map[string]map[string]ToolCounts{
		"a": {NameStdio: {Calls: 3}, NameHTTP: {Calls: 1, ToolErrors: 1}},
		"b": {NameHTTP: {Calls: 1, ProtocolErrors: 1}},
	}, tel.Counts())
	for _, c := range []struct {
		tool, tr, outcome string
		want              float64
	}{
		{"a", NameStdio, "ok", 3},
		{"a", NameHTTP, "tool_error", 1},
		{"b", NameHTTP, "protocol_error", 1},
		{"b", NameStdio, "ok", 0},
	} {
		got, found := callsMetric(t, tel, c.tool, c.tr, c.outcome)
		assert.True(t, found, "%+v exported", c)
		assert.InDelta(t, c.want, got, 0, "%+v", c)
	}
	assert.Equal(t, NameStdio, seen.Transport, "the engine learns the transport")
	assert.Contains(t, logs.String(), `outcome=protocol_error err=boom`)
	assert.Contains(t, logs.String(), `tool=a transport=http`)
}

func TestTransportOfAndCaller(t *testing.T) {
	assert.Equal(t, Stdio, TransportOf(context.Background()), "unmarked is stdio")
	r := httptest.NewRequest(http.MethodPost, "/mcp", http.NoBody)
	r.RemoteAddr = "127.0.0.1:5555"
	ctx := HTTPContext(context.Background(), r)
	assert.Equal(t, HTTP, TransportOf(ctx))
	tr, client, session := Caller(ctx)
	assert.Equal(t, HTTP, tr)
	assert.Empty(t, client)
	assert.Equal(t, "127.0.0.1:5555", session, "without an MCP session the remote address names the caller")
	assert.Equal(t, NameStdio, Stdio.String())
	assert.Equal(t, NameHTTP, HTTP.String())
}

func TestRejectedExportsZerosThenCounts(t *testing.T) {
	tel := New("v", time.Now(), nil, nil, func() float64 { return 0 })
	tel.Rejected("origin")
	tel.Rejected("origin")
	mfs, err := tel.Registry().Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "mcpflow_http_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	assert.InDelta(t, 2.0, got["origin"], 0)
	assert.Contains(t, got, "host")
	assert.InDelta(t, 0.0, got["host"], 0)
}

func TestMinLevelDropsBelowMin(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(MinLevel{Handler: slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}), Min: slog.LevelWarn})
	log.Info("quiet")
	log.With("k", "v").WithGroup("g").Warn("loud")
	assert.NotContains(t, b.String(), "quiet")
	assert.Contains(t, b.String(), "loud")
	assert.Contains(t, b.String(), "k=v")
}
