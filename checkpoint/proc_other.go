//go:build !unix

package checkpoint

import "os/exec"

// setGroup does nothing where there are no process groups.
func setGroup(*exec.Cmd) {}

// killGroup kills the process itself: without process groups, children
// it forked may survive it.
func killGroup(cmd *exec.Cmd) error {
	return cmd.Process.Kill()
}
