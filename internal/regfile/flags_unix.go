//go:build unix

package regfile

import "syscall"

// openFlags keeps an open from blocking on a file that is not regular and
// from making a terminal the process's controlling terminal.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
