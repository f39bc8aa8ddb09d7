//go:build unix

package bench

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time, user and system, that this process has
// used so far, and true. On a shared machine the CPU time an operation
// costs is a steadier measure than the wall time it takes: time spent
// waiting for a core that another process holds is not counted.
func ProcessCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
