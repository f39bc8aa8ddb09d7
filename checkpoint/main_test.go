package checkpoint

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type fakeClock = testutil.Clock

func newFakeClock() *fakeClock {
	return testutil.NewClock(time.Unix(1_700_000_000, 0))
}
