//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filestore

import "os"

// flock does nothing here: Stores on one folder exclude each other
// only within a process.
func flock(*os.File) error { return nil }

// funlock does nothing here.
func funlock(*os.File) error { return nil }
