//go:build unix

package ragcache

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per operation since start, as
// "cpu-ns/op". On a shared machine whose cores other processes also use,
// wall time per operation swings with their load; CPU time much less.
func reportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	if b.N > 0 {
		b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
