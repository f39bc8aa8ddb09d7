package filestore_test

import (
	"testing"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
)

func openFileStore(t *testing.T, dir string) *filestore.Store {
	t.Helper()
	s, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestFileStoreContract runs the Store contract suite against Store,
// alone and as two handles on one folder (two processes).
func TestFileStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		t.Helper()
		return openFileStore(t, t.TempDir())
	})
	storetest.RunShared(t, func(t *testing.T) (state.Store, state.Store) {
		t.Helper()
		dir := t.TempDir()
		return openFileStore(t, dir), openFileStore(t, dir)
	})
}
