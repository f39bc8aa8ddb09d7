package shard

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newFakeClock() *testutil.Clock {
	return testutil.NewClock(time.Unix(1_700_000_000, 0))
}
