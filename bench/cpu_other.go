//go:build !unix

package bench

import "time"

// ProcessCPU reports false: this platform has no getrusage.
func ProcessCPU() (time.Duration, bool) { return 0, false }
