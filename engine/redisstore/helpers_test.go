package redisstore_test

import (
	"net"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
)

// open opens a store on srv with opts (Addr filled in when empty) and
// closes it at cleanup.
func open(tb testing.TB, srv *redistest.Server, opts redisstore.Options) *redisstore.Store {
	tb.Helper()
	if opts.Addr == "" {
		opts.Addr = srv.Addr
	}
	s, err := redisstore.Open(tb.Context(), opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// sharedStore opens a store on the package's shared server under a key
// prefix of its own.
func sharedStore(tb testing.TB) *redisstore.Store {
	tb.Helper()
	return open(tb, redistest.Shared(tb), redisstore.Options{Prefix: redistest.Prefix(tb)})
}

// raw returns a plain rueidis client (no client-side cache) on addr, for
// tests that look at or change keys behind the store's back.
func raw(tb testing.TB, addr string) rueidis.Client {
	tb.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{addr}, DisableCache: true, ForceSingleClient: true,
		Dialer: net.Dialer{Timeout: 2 * time.Second, KeepAlive: time.Second}, ConnWriteTimeout: 2 * time.Second,
	})
	require.NoError(tb, err)
	tb.Cleanup(c.Close)
	return c
}
