// Package regfile opens files whose content is about to be read, and only
// regular files: a named pipe, a socket or a device node in a folder that
// mcpflow reads (standards, workflows, session state) is refused with an
// error naming the path, never opened in a way that can block.
//
// Opening a named pipe for reading blocks until a writer opens it, so
// "open, then check the type" hangs forever on a pipe nobody writes. Open
// therefore stats the name first and refuses anything but a regular file
// or a folder without opening it; then it opens non-blocking (on Unix) and
// checks the type again on the open file, so a name swapped for a pipe
// between the two steps is refused too, not waited on.
//
// The package imports nothing of ours; its functions are safe for
// concurrent use.
package regfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error for a name that is neither a
// regular file nor a folder.
var ErrNotRegular = errors.New("regfile: not a regular file")

// Open opens name inside root for reading. A regular file or a folder is
// opened; anything else yields an *fs.PathError wrapping ErrNotRegular
// that says what the name is. The file is never opened in a mode that can
// block: on Unix it is opened with O_NONBLOCK and O_NOCTTY, which changes
// nothing for reading a regular file.
func Open(root *os.Root, name string) (*os.File, error) {
	fi, err := root.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := check(name, fi); err != nil {
		return nil, err
	}
	f, err := root.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	return recheck(f, name)
}

// OpenPath is Open for a path outside any os.Root.
func OpenPath(name string) (*os.File, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := check(name, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDONLY|openFlags, 0) //nolint:gosec // the caller's own path
	if err != nil {
		return nil, err
	}
	return recheck(f, name)
}

// recheck closes f and fails unless the open file is a regular file or a
// folder.
func recheck(f *os.File, name string) (*os.File, error) {
	fi, err := f.Stat()
	if err == nil {
		err = check(name, fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// check fails unless fi is a regular file or a folder.
func check(name string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() || m.IsDir() {
		return nil
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it is %s", ErrNotRegular, kind(m))}
}

// CheckRegular fails unless fi, the FileInfo of name, is a regular file:
// the error is an *fs.PathError wrapping ErrNotRegular that says what the
// name is (a folder, a named pipe, ...).
func CheckRegular(name string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it is %s", ErrNotRegular, kind(fi.Mode()))}
}

// kind names a file type that is not regular.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file"
}

// FS returns the file system of root, as root.FS does, except that Open
// is regfile's Open: only regular files and folders are ever opened, and
// never in a way that blocks. The result implements fs.StatFS and
// fs.ReadLinkFS.
func FS(root *os.Root) fs.FS { return rootFS{root} }

type rootFS struct{ root *os.Root }

// Open opens a regular file or a folder; see the package's Open.
func (r rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := Open(r.root, name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat returns the FileInfo of name, following symbolic links inside the
// root, without opening it.
func (r rootFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.Stat(name)
}

// Lstat returns the FileInfo of name without following a final symbolic
// link.
func (r rootFS) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.Lstat(name)
}

// ReadLink returns the destination of the symbolic link name.
func (r rootFS) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.Readlink(name)
}
