package checkpoint

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"time"
)

// gitTimeout bounds each git call of a check or a phase start.
const gitTimeout = 10 * time.Second

// maxGitOutput is the most output of one git call that is read.
const maxGitOutput = 16 << 20

// procResult is how a process ended.
type procResult struct {
	out      []byte // the tail of stdout and stderr together
	cut      bool   // the output was longer than the tail
	exitCode int    // -1 when it did not exit by itself
	timedOut bool
	err      error // start failure, or the wait error
}

// runProc runs argv in dir with a timeout, no shell and no input, keeping
// the last tail bytes of its output. At the timeout the whole process
// group is killed (killGroup), so children it forked die with it.
func runProc(ctx context.Context, dir string, argv []string, env []string, timeout time.Duration, tail int) procResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	buf := &tailBuffer{max: tail}
	cmd.Stdout, cmd.Stderr = buf, buf
	setGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }
	// Output pipes a surviving grandchild still holds are closed this
	// long after the kill, so Wait returns.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	res := procResult{exitCode: -1, err: err}
	res.out, res.cut = buf.bytes()
	if cmd.ProcessState != nil {
		res.exitCode = cmd.ProcessState.ExitCode()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		res.timedOut = true
	}
	return res
}

// tailBuffer keeps the last max bytes written to it. It is safe for the
// concurrent writes of a process's stdout and stderr copiers.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool
}

// Write keeps the tail of p.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.max {
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		b.cut = true
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.cut = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) bytes() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...), b.cut
}
