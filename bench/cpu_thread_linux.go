package bench

import (
	"syscall"
	"time"
)

// rusageThread is Linux's RUSAGE_THREAD, which the syscall package does not
// name.
const rusageThread = 1

// ThreadCPU returns the CPU time, user and system, that the calling OS
// thread has used so far, and true. Call it from a goroutine locked to its
// thread (runtime.LockOSThread): the difference between two calls is then
// the CPU that goroutine used, whatever the other goroutines did.
func ThreadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
