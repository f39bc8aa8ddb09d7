package ragcache

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestMain(m *testing.M) {
	// bleve starts its analysis workers when the package is initialised;
	// they live for the whole process and are not ours to stop.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// syncBuffer is a buffer safe for concurrent writes, for logs.
type syncBuffer = testutil.Buffer

// testLogger returns a logger that writes to the returned buffer.
func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// openTest opens an index with hooks and closes it at the end of the test.
func openTest(t *testing.T, cfg Config, h hooks) *Index {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger, _ = testLogger()
	}
	ix, err := open(context.Background(), cfg, h)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ix.Close() })
	return ix
}
