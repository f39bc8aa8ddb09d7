package engine

import "github.com/mcpflow/mcpflow/internal/testutil"

// cpuTime is testutil.CPUTime under the name this package's benchmarks use.
var cpuTime = testutil.CPUTime
