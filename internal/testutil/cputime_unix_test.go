//go:build unix

package testutil

import "testing"

func TestCPUTimeCountsWorkDone(t *testing.T) {
	start := CPUTime()
	// Spin until the kernel's accounting moves; the bound keeps a broken
	// reading from hanging the test.
	sum := 0
	for i := 0; i < 1<<30 && CPUTime() == start; i++ {
		sum += i
	}
	if got := CPUTime(); got <= start {
		t.Fatalf("CPUTime did not move: %v then %v (sum %d)", start, got, sum)
	}
}
