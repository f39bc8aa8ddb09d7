//go:build !unix

package filestore

import "io/fs"

// inodeOf returns 0: this platform's FileInfo carries no inode, so stamps
// rely on size and modification time alone.
func inodeOf(fs.FileInfo) int64 { return 0 }
