package redisstore_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestMain runs the tests against the package's shared redis-server (see
// redistest), stops it, and then checks that no goroutine was left
// behind: every store is closed by its test. It removes the binary the
// end-to-end tests built.
func TestMain(m *testing.M) {
	code := redistest.Main(m)
	testutil.RemoveBinary()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
