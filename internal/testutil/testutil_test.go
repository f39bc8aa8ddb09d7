package testutil

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestReleaseRunsEveryGoroutineOnce(t *testing.T) {
	var seen [64]atomic.Int32
	var running, maxRunning atomic.Int32
	Release(len(seen), func(i int) {
		if r := running.Add(1); r > maxRunning.Load() {
			maxRunning.Store(r)
		}
		seen[i].Add(1)
		running.Add(-1)
	})
	for i := range seen {
		if got := seen[i].Load(); got != 1 {
			t.Errorf("goroutine %d ran %d times", i, got)
		}
	}
}

func TestClock(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	c := NewClock(base)
	if !c.Now().Equal(base) {
		t.Fatalf("Now = %v, want %v", c.Now(), base)
	}
	c.Advance(time.Minute)
	if got := c.Now().Sub(base); got != time.Minute {
		t.Fatalf("after Advance(1m) the clock moved %v", got)
	}
}
