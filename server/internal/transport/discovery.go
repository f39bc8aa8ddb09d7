package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpflow/mcpflow/internal/regfile"
)

// DiscoveryFileName is the name of the discovery file in the state folder.
const DiscoveryFileName = "server.json"

// Discovery is the content of the discovery file, <state>/server.json,
// which tells sub-agents where the running server listens. It is written
// when the HTTP transport is up and removed at shutdown.
type Discovery struct {
	// URL is the streamable HTTP endpoint, e.g. http://127.0.0.1:4242/mcp.
	URL string `json:"url"`
	// PID is the server's process ID.
	PID int `json:"pid"`
	// StartedAt is when the server started, in RFC 3339 with nanoseconds.
	StartedAt time.Time `json:"started_at"`
	// Transports lists the transports served: "stdio", "http" or both.
	Transports []string `json:"transports"`
	// Version is the server's version.
	Version string `json:"version"`
	// TokenRequired reports whether /mcp needs a bearer token. The token
	// itself is never written to the file.
	TokenRequired bool `json:"token_required"`
}

// maxDiscoveryBytes bounds the discovery file read back; the server writes
// a few hundred bytes.
const maxDiscoveryBytes = 64 << 10

// ReadDiscovery reads and decodes a discovery file. Its errors start
// "server:": package server returns them as its own.
func ReadDiscovery(path string) (Discovery, error) {
	var d Discovery
	// A named pipe in the file's place is refused, not waited on: the
	// server reads this file at shutdown.
	f, err := regfile.OpenPath(path)
	if err != nil {
		return d, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxDiscoveryBytes+1))
	if err != nil {
		return d, err
	}
	if len(b) > maxDiscoveryBytes {
		return d, fmt.Errorf("server: discovery file %s is larger than %d bytes", path, maxDiscoveryBytes)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("server: discovery file %s: %w", path, err)
	}
	return d, nil
}

// WriteFileAtomic writes data to path with mode 0600 so that a reader sees
// either the old file or the whole new one, never a torn one: it writes a
// temporary file in the same folder, syncs it, and renames it over path.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	// CreateTemp already uses 0600; Chmod states it whatever the umask.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	// Make the rename itself durable; a folder that cannot be synced (some
	// file systems) is not an error worth failing the start for.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// WriteDiscovery writes d to path atomically with mode 0600.
func WriteDiscovery(path string, d Discovery) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// RemoveDiscovery removes the discovery file at path if it still names
// this process: a second server started meanwhile owns the file now.
func RemoveDiscovery(path string, pid int) error {
	d, err := ReadDiscovery(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil && d.PID != pid {
		return nil
	}
	// A file that does not decode was ours or is garbage: remove it.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
