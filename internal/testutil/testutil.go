// Package testutil holds what mcpflow's tests share: a barrier that
// releases goroutines together, a clock that moves only when told, a buffer
// safe for concurrent writes, the process CPU time for benchmarks, the
// mcpflow binary built once per test process, the folder of real prAxIs OS
// data (PraxisData) and the check that a state file is what prAxIs OS's
// from_dict reads (CheckPraxisState), and (on Unix) named pipes with a watchdog for
// the hangs they used to cause. Only tests import it.
package testutil

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
)

// Release starts n goroutines, waits until every one of them is running,
// then releases them together to run f(i), and returns when all have
// returned. Report failures from f with t.Errorf, never t.Fatal.
func Release(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// Clock is a clock for tests: it stands still until Advance moves it. It is
// safe for concurrent use and satisfies shard.Clock.
type Clock struct{ now atomic.Int64 }

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.now.Store(t.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.now.Load()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// Buffer is a bytes.Buffer safe for concurrent writes, such as a logger's
// from many goroutines. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
