//go:build !linux

package bench

import "time"

// ThreadCPU reports false: only Linux reports a thread's CPU time here.
func ThreadCPU() (time.Duration, bool) { return 0, false }
