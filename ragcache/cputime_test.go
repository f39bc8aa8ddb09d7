package ragcache

import "github.com/mcpflow/mcpflow/internal/testutil"

// processCPU and reportCPU are testutil's CPU-time helpers under the names
// this package's benchmarks use.
var (
	processCPU = testutil.CPUTime
	reportCPU  = testutil.ReportCPU
)
