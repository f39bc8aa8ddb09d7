//go:build !unix

package testutil

import "time"

// CPUTime returns 0: the process CPU time is not read on this system, so
// cpu-ns/op reads 0.
func CPUTime() time.Duration { return 0 }
