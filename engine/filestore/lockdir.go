package filestore

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/engine/state"
)

// ServeLockFileName is the file in a state folder that the server holding
// the folder locks for its whole life (see LockStateDir). It is not the
// Store's own .mcpflow.lock, which is locked only around each save.
const ServeLockFileName = ".mcpflow.serve.lock"

// ErrFolderInUse is wrapped by LockStateDir's error when another process
// holds the state folder. It is a *state.Error without a Kind, so its
// text, "engine: state folder in use", is the state package's prefix and
// the problem, as every other error of the store's (the store moved out of
// package engine; its words stay, since clients and tests match them), and
// state.Message shows the problem alone.
var ErrFolderInUse error = &state.Error{Detail: errors.New("state folder in use")}

// FolderLock is an exclusive claim on a state folder by one process, so
// that two servers never run on one Store folder: each would keep its
// own index of active sessions and both would create a session for the
// same workflow and target. The claim is an flock on ServeLockFileName,
// which the kernel releases when the process ends, however it ends: a
// server killed with SIGKILL leaves the file behind but not the lock, and
// the next server starts without any clean-up. (On platforms without
// flock the claim excludes nothing.)
//
// A FolderLock is not safe for concurrent Close calls; Close it once.
type FolderLock struct {
	f   *os.File
	dir string
}

// LockStateDir claims the folder dir (creating it with mode 0700 if
// needed) for this process and writes the process ID into the lock file.
// When another process holds it, the error wraps ErrFolderInUse and names
// the folder and that process's ID.
func LockStateDir(dir string) (*FolderLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, state.Errorf(nil, "state folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, ServeLockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, state.Errorf(nil, "state folder %s: lock file: %w", dir, err)
	}
	held, err := tryFlock(f)
	if err != nil {
		_ = f.Close()
		return nil, state.Errorf(nil, "state folder %s: lock %s: %w", dir, path, err)
	}
	if held {
		pid := readPID(f)
		_ = f.Close()
		return nil, state.Errorf(ErrFolderInUse, "%s is used by another mcpflow server (pid %s, see %s)", dir, pid, path)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &FolderLock{f: f, dir: dir}, nil
}

// readPID returns the process ID the holder wrote, or "unknown".
func readPID(f *os.File) string {
	b, err := io.ReadAll(io.LimitReader(f, 32))
	if err != nil {
		return "unknown"
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		if _, err := strconv.Atoi(s); err == nil {
			return s
		}
	}
	return "unknown"
}

// Dir returns the folder claimed.
func (l *FolderLock) Dir() string { return l.dir }

// Close releases the folder. The lock file stays, empty of meaning until
// the next claim.
func (l *FolderLock) Close() error {
	return l.f.Close()
}
