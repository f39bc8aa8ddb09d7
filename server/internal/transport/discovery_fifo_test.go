//go:build unix

package transport_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server/internal/transport"
)

// TestReadDiscoveryRefusesFIFO: the discovery file, read back at shutdown,
// is refused when a named pipe has taken its place, not waited on.
func TestReadDiscoveryRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "server.json")
	testutil.MakeFIFO(t, p)
	var err error
	if testutil.Returns(t, "ReadDiscovery", func() { _, err = transport.ReadDiscovery(p) }) {
		require.ErrorIs(t, err, regfile.ErrNotRegular)
	}
}
