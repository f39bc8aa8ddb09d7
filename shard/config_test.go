package shard

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/metrics"
)

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		cfg   Config
		field string
	}{
		{Config{TTL: -time.Second}, "Config.TTL"},
		{Config{MaxEntries: -1}, "Config.MaxEntries"},
		{Config{Shards: -2}, "Config.Shards"},
		{Config{Shards: 3}, "Config.Shards"},
		{Config{Shards: 1 << 20}, "Config.Shards"},
		{Config{SweepInterval: -1}, "Config.SweepInterval"},
		{Config{SizeHint: -1}, "Config.SizeHint"},
		{Config{SweepInterval: time.Second}, "Config.SweepInterval"},
	}
	for _, tc := range cases {
		_, err := New[string, int](tc.cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, "%+v", tc.cfg)
		require.ErrorContains(t, err, tc.field)
	}
}

func TestZeroConfigIsValid(t *testing.T) {
	c, err := New[string, int](Config{})
	require.NoError(t, err)
	require.Len(t, c.shards, DefaultShards)
	c.Set("a", 1)
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
}

func TestShardCount(t *testing.T) {
	require.Equal(t, DefaultShards, Config{}.shardCount())
	require.Equal(t, DefaultBoundedShards, Config{MaxEntries: 1000}.shardCount())
	require.Equal(t, 4, Config{MaxEntries: 5}.shardCount(), "lowered to fit the bound")
	require.Equal(t, 1, Config{MaxEntries: 1, Shards: 64}.shardCount())
	require.Equal(t, 32, Config{Shards: 32}.shardCount())
	c := newTestCache[int, int](Config{MaxEntries: 10, Shards: 4}, nil)
	var sum int64
	for i := range c.shards {
		sum += c.shards[i].bound
	}
	require.EqualValues(t, 10, sum, "the shares add up to the bound exactly")
}

func TestNoOpRecorder(t *testing.T) {
	c := newTestCache[string, int](Config{Recorder: metrics.NoOp{}}, nil)
	c.Set("a", 1)
	_, _ = c.Get("a")
	m := c.Metrics()
	require.Zero(t, m.Hits)
	require.EqualValues(t, 1, m.Entries)
}
