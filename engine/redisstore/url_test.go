package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/state"
)

func TestParseURL(t *testing.T) {
	o, err := redisstore.ParseURL("redis://127.0.0.1:6380/2?prefix=team-a&timeout=1500ms&session_ttl=48h&cache_ttl=5s&cache_size=4MiB&conn_timeout=3s")
	require.NoError(t, err)
	assert.Equal(t, redisstore.Options{
		Addr: "127.0.0.1:6380", DB: 2, Prefix: "team-a:", Timeout: 1500 * time.Millisecond, ConnTimeout: 3 * time.Second,
		SessionTTL: 48 * time.Hour, CacheTTL: 5 * time.Second, CacheBytes: 4 << 20,
	}, o)

	o, err = redisstore.ParseURL("rediss://user:s3cret@redis.internal")
	require.NoError(t, err)
	assert.Equal(t, redisstore.Options{Addr: "redis.internal:6379", Username: "user", Password: "s3cret", TLS: true}, o)
	assert.Equal(t, "rediss://user:xxxxx@redis.internal:6379/0", o.String(), "String hides the password")

	o, err = redisstore.ParseURL("redis://[::1]:7000/0?session_ttl=0")
	require.NoError(t, err)
	assert.Equal(t, "[::1]:7000", o.Addr)
	assert.Equal(t, redisstore.NoExpiry, o.SessionTTL)
}

func TestParseURLErrorsNameTheField(t *testing.T) {
	tests := []struct{ url, field string }{
		{"http://localhost:6379/0", "scheme"},
		{"localhost:6379", "scheme"},
		{"redis://", "host"},
		{"redis:///0", "host"},
		{"redis://localhost:/0", "port"},
		{"redis://localhost:99999/0", "port"},
		{"redis://localhost:6379/x", "db"},
		{"redis://localhost:6379/-1", "db"},
		{"redis://localhost:6379/0?prefix=a{b}", "prefix"},
		{"redis://localhost:6379/0?prefix=" + string(make([]byte, 0)) + "a%20b", "prefix"},
		{"redis://localhost:6379/0?timeout=soon", "timeout"},
		{"redis://localhost:6379/0?timeout=-1s", "timeout"},
		{"redis://localhost:6379/0?session_ttl=forever", "session_ttl"},
		{"redis://localhost:6379/0?cache_ttl=0", "cache_ttl"},
		{"redis://localhost:6379/0?cache_size=lots", "cache_size"},
		{"redis://localhost:6379/0?prefix=a&prefix=b", "prefix"},
		{"redis://localhost:6379/0?colour=blue", "colour"},
		{"redis://localhost:6379/0#frag", "fragment"},
		{"redis://u:p%zz@localhost/0", "URL"},
	}
	for _, tt := range tests {
		_, err := redisstore.ParseURL(tt.url)
		require.Error(t, err, tt.url)
		require.ErrorIs(t, err, state.ErrInvalidArgument, tt.url)
		require.ErrorIs(t, err, redisstore.ErrInvalidURL, tt.url)
		assert.Contains(t, err.Error(), tt.field, tt.url)
	}
}

// TestParseURLNeverShowsThePassword: whatever is wrong, the error hides
// the password.
func TestParseURLNeverShowsThePassword(t *testing.T) {
	for _, u := range []string{
		"redis://admin:hunter2@localhost:6379/x",
		"redis://admin:hunter2@localhost:6379/0?colour=blue",
		"redis://admin:hunter2@localhost:bad/0",
		"redis://admin:hunter2%zz@localhost/0",
		"redis://:hunter2@localhost:6379/0?timeout=x",
	} {
		_, err := redisstore.ParseURL(u)
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), "hunter2", u)
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	for _, o := range []redisstore.Options{
		{},
		{Addr: "localhost:6379", Prefix: "{x}"},
		{Addr: "localhost:6379", Timeout: -time.Second},
		{Addr: "localhost:6379", CacheBytes: -1},
		{Addr: "localhost:6379", DB: -1},
	} {
		_, err := redisstore.Open(t.Context(), o)
		require.ErrorIs(t, err, redisstore.ErrInvalidURL, "%+v", o)
	}
}

// TestOpenUnreachable: a server that is not there gives ErrUnavailable
// naming the address, within the timeout.
func TestOpenUnreachable(t *testing.T) {
	began := time.Now()
	_, err := redisstore.Open(t.Context(), redisstore.Options{Addr: "127.0.0.1:1", Timeout: 300 * time.Millisecond})
	require.ErrorIs(t, err, redisstore.ErrUnavailable)
	assert.Contains(t, err.Error(), "127.0.0.1:1")
	assert.Less(t, time.Since(began), 2*time.Second)
}

func TestIsURL(t *testing.T) {
	assert.True(t, redisstore.IsURL("redis://x:1/0"))
	assert.True(t, redisstore.IsURL("rediss://x"))
	assert.False(t, redisstore.IsURL(".mcpflow/state"))
	assert.False(t, redisstore.IsURL("/var/lib/redis://x"))
}

// ExampleParseURL reads the --state value that selects the Redis store.
func ExampleParseURL() {
	o, err := redisstore.ParseURL("redis://10.0.0.5:6379/1?prefix=staging&session_ttl=168h")
	if err != nil {
		panic(err)
	}
	fmt.Println(o.Addr, o.DB, o.Prefix, o.SessionTTL)
	fmt.Println(o)

	_, err = redisstore.ParseURL("redis://10.0.0.5:6379/one")
	fmt.Println(err)
	// Output:
	// 10.0.0.5:6379 1 staging: 168h0m0s
	// redis://10.0.0.5:6379/1?prefix=staging:
	// redisstore: invalid Redis URL: redis://10.0.0.5:6379/one: db must be a database number such as 0, got "one"
}
