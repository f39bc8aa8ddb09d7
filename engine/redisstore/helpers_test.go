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

// open opens a store on srv with opts (Addr filled in) and closes it at
// cleanup.
func open(t testing.TB, srv *redistest.Server, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = srv.Addr
	}
	s, err := redisstore.Open(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sharedStore opens a store on the package's shared server under a key
// prefix of its own.
func sharedStore(t testing.TB) *redisstore.Store {
	t.Helper()
	return open(t, redistest.Shared(t), redisstore.Options{Prefix: redistest.Prefix(t)})
}

// raw returns a plain rueidis client (no client-side cache) on srv, for
// tests that look at or change keys behind the store's back.
func raw(t testing.TB, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, ForceSingleClient: true,
		Dialer: netDialer(), ConnWriteTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func netDialer() net.Dialer { return net.Dialer{Timeout: 2 * time.Second, KeepAlive: time.Second} }
