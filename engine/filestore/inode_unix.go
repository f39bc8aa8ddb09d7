//go:build unix

package filestore

import (
	"io/fs"
	"syscall"
)

// inodeOf returns the file's inode number, or 0 when unknown.
func inodeOf(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Ino) //nolint:gosec // inode numbers fit; only equality matters
	}
	return 0
}
