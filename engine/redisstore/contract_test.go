package redisstore_test

import (
	"testing"

	"github.com/mcpflow/mcpflow/engine/redisstore"
	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
)

// TestStoreContract runs the state.Store contract, unchanged from the
// FileStore's, against the Redis store.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		t.Helper()
		return sharedStore(t)
	})
}

// TestStoreContractShared runs the two-handle contract with two stores
// (two replicas) on one prefix.
func TestStoreContractShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (state.Store, state.Store) {
		t.Helper()
		srv := redistest.Shared(t)
		p := redistest.Prefix(t)
		return open(t, srv, redisstore.Options{Prefix: p}), open(t, srv, redisstore.Options{Prefix: p})
	})
}
