//go:build unix

package regfile_test

import (
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// TestOpenRefusesFIFOWithoutBlocking: a named pipe nobody writes is
// refused at once, by name, through Open, OpenPath and FS alike.
func TestOpenRefusesFIFOWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	testutil.MakeFIFO(t, filepath.Join(dir, "pipe.md"))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })

	opens := map[string]func() error{
		"Open":     func() error { _, err := regfile.Open(root, "pipe.md"); return err },
		"OpenPath": func() error { _, err := regfile.OpenPath(filepath.Join(dir, "pipe.md")); return err },
		"FS":       func() error { _, err := fs.ReadFile(regfile.FS(root), "pipe.md"); return err },
	}
	for name, open := range opens {
		var err error
		if testutil.Returns(t, name, func() { err = open() }) {
			require.ErrorIs(t, err, regfile.ErrNotRegular, name)
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe, name)
			assert.Contains(t, err.Error(), "pipe.md", name)
			assert.Contains(t, err.Error(), "named pipe", name)
		}
	}
}

// TestOpenRefusesSocket: a Unix socket is refused too.
func TestOpenRefusesSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "rf") //nolint:usetesting // short: t.TempDir's path is too long for a socket
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	_, err = regfile.OpenPath(filepath.Join(dir, "s"))
	require.ErrorIs(t, err, regfile.ErrNotRegular)
	assert.Contains(t, err.Error(), "socket")
}

// TestOpenReadsRegularFilesAndFolders: what is allowed works as os does,
// and a missing name is fs.ErrNotExist.
func TestOpenReadsRegularFilesAndFolders(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "a.md"), []byte("hello"), 0o600))
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	fsys := regfile.FS(root)

	b, err := fs.ReadFile(fsys, "sub/a.md")
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	f, err := regfile.Open(root, "sub/a.md")
	require.NoError(t, err)
	b, err = io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	require.NoError(t, f.Close())

	entries, err := fs.ReadDir(fsys, "sub")
	require.NoError(t, err)
	require.Len(t, entries, 1)
	fi, err := fs.Stat(fsys, "sub/a.md")
	require.NoError(t, err)
	assert.Equal(t, int64(5), fi.Size())

	_, err = fsys.Open("missing.md")
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fsys.Open("../x")
	require.ErrorIs(t, err, fs.ErrInvalid)
	assert.NotErrorIs(t, err, regfile.ErrNotRegular)
}
