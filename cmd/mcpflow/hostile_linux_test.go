//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// holdInotifyEnv makes the test binary, run as a child, take every inotify
// instance its user may have, say how many on stdout, and hold them until
// its stdin closes.
const holdInotifyEnv = "MCPFLOW_TEST_HOLD_INOTIFY"

// testChild runs the child's part when the test binary was started as
// one, and reports whether it was.
func testChild() (int, bool) {
	if os.Getenv(holdInotifyEnv) == "" {
		return 0, false
	}
	var fds []int
	for range 1 << 16 {
		fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				fmt.Println("error", err)
				return 1, true
			}
			break
		}
		fds = append(fds, fd)
	}
	fmt.Println("held", len(fds))
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, fd := range fds {
		_ = syscall.Close(fd)
	}
	return 0, true
}

// TestBinaryServesWithoutInotify pins the server that would not start when
// the user's inotify instances were used up: run as the user nobody, whose
// every instance a helper holds, serve warns (naming --watch=false), serves
// on 127.0.0.1, reports watching false, and reindex_standards still picks
// up a new file. Needs root (to run both as nobody, so that no other
// process's watchers are touched) and is skipped otherwise.
func TestBinaryServesWithoutInotify(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the server as nobody, whose inotify instances the test uses up")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}} //nolint:gosec // ids fit
	bin := testutil.Binary(t)

	// A folder nobody can use, holding copies of both binaries.
	dir, err := os.MkdirTemp("", "mcpflow-noinotify-") //nolint:usetesting // must be reachable by nobody; t.TempDir's parent is not
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	copyExe := func(src, name string) string {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o755)) //nolint:gosec // an executable
		return p
	}
	server1 := copyExe(bin, "mcpflow")
	self, err := os.Executable()
	require.NoError(t, err)
	holderExe := copyExe(self, "holder.test")
	root := filepath.Join(dir, "project")
	std := filepath.Join(root, ".mcpflow", "standards")
	require.NoError(t, os.MkdirAll(std, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(std, "a.md"), []byte("# Alpha\n\nfirst\n"), 0o644))
	require.NoError(t, filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))

	holder := exec.Command(holderExe, "-test.run", "^$")
	holder.Env = append(os.Environ(), holdInotifyEnv+"=1")
	holder.SysProcAttr = cred
	holdIn, err := holder.StdinPipe()
	require.NoError(t, err)
	holdOut, err := holder.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, holder.Start())
	t.Cleanup(func() {
		_ = holdIn.Close()
		_ = holder.Wait()
	})
	line, err := bufio.NewReader(holdOut).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "held "), "holder: %q", line)

	cmd := exec.Command(server1, "serve", "--transport", "http", "--http", "127.0.0.1:0", "--root", root)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MCPFLOW_LOG_FORMAT=text", "HOME="+root)
	cmd.SysProcAttr = cred
	errs := watchStderr(cmd)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	url := errs.URL(t)
	assert.Contains(t, errs.String(), "live reindex is off")
	assert.Contains(t, errs.String(), "--watch=false")

	web := httpSession(t, url, "2025-06-18", false)
	info := toolJSON[struct {
		Index struct {
			Watching   bool   `json:"watching"`
			WatchError string `json:"watch_error"`
		} `json:"index"`
	}](t, web, server.ToolGetServerInfo, nil)
	assert.False(t, info.Index.Watching)
	assert.NotEmpty(t, info.Index.WatchError)
	require.NoError(t, os.WriteFile(filepath.Join(std, "b.md"), []byte("# Bravo\n\nadded while serving\n"), 0o644))
	toolJSON[map[string]any](t, web, server.ToolReindexStandards, nil)
	hits := toolJSON[struct {
		Results []struct {
			File string `json:"file"`
		} `json:"results"`
	}](t, web, server.ToolSearchStandards, map[string]any{"query": "bravo"})
	require.NotEmpty(t, hits.Results)
	assert.Equal(t, "b.md", hits.Results[0].File)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "stderr:\n%s", errs.close())
}

// TestBinaryServesDespiteFIFOs pins the server that never listened, and
// then needed a kill, with a named pipe in its folders: one among the
// standards and one as a workflow's metadata.json at start, another
// created among the standards while it runs. It serves on 127.0.0.1,
// names the pipes in its log, keeps reindexing, and SIGTERM stops it.
func TestBinaryServesDespiteFIFOs(t *testing.T) {
	bin := testutil.Binary(t)
	root := t.TempDir()
	wf := filepath.Join(root, ".mcpflow", "workflows")
	std := filepath.Join(root, ".mcpflow", "standards")
	require.NoError(t, os.CopyFS(wf, workflows.BuiltinWorkflows()))
	require.NoError(t, os.MkdirAll(filepath.Join(wf, "piped"), 0o755))
	testutil.MakeFIFO(t, filepath.Join(wf, "piped", "metadata.json"))
	require.NoError(t, os.MkdirAll(std, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(std, "a.md"), []byte("# Alpha\n\nfirst\n"), 0o644))
	testutil.MakeFIFO(t, filepath.Join(std, "pipe.md"))

	cmd := exec.Command(bin, "serve", "--transport", "http", "--http", "127.0.0.1:0", "--root", root)
	cmd.Env = append(os.Environ(), "MCPFLOW_LOG_FORMAT=text")
	errs := watchStderr(cmd)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	url := errs.URL(t)
	assert.Contains(t, errs.String(), "pipe.md")

	web := httpSession(t, url, "2025-06-18", false)
	toolJSON[map[string]any](t, web, server.ToolListWorkflows, nil)
	testutil.MakeFIFO(t, filepath.Join(std, "later.md"))
	require.NoError(t, os.WriteFile(filepath.Join(std, "b.md"), []byte("# Bravo\n\nadded while serving\n"), 0o644))
	toolJSON[map[string]any](t, web, server.ToolReindexStandards, nil)
	hits := toolJSON[struct {
		Results []struct {
			File string `json:"file"`
		} `json:"results"`
	}](t, web, server.ToolSearchStandards, map[string]any{"query": "bravo"})
	require.NotEmpty(t, hits.Results)

	begin := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	logs := errs.close()
	require.NoError(t, err, "stderr:\n%s", logs)
	assert.Less(t, time.Since(begin), 5*time.Second, "SIGTERM stops it")
	assert.Contains(t, logs, "later.md")
}
