//go:build unix

package testutil

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// MakeFIFO creates a named pipe at path. When the test ends it unblocks any
// reader stuck opening or reading the pipe (the hang the calling test looks
// for) by opening the pipe for writing without blocking and closing it,
// until no reader is left; so a test that fails on a hang still ends.
func MakeFIFO(tb testing.TB, path string) {
	tb.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		tb.Fatalf("mkfifo %s: %v", path, err)
	}
	tb.Cleanup(func() {
		for range 1000 {
			w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				// ENXIO: no reader has it open; anything else: gone.
				return
			}
			_ = w.Close()
		}
	})
}

// Returns runs f on its own goroutine and fails the test if f has not
// returned within a generous watchdog of 20 seconds: for operations that
// must not hang, whose hang would otherwise stop the whole test binary.
// It reports whether f returned.
func Returns(tb testing.TB, what string, f func()) bool {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		tb.Errorf("%s did not return: it hangs", what)
		return false
	}
}
