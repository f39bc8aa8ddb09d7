package redistest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary run TestChildStart as the child of
// TestMissingServer.
const childEnv = "REDISTEST_CHILD"

// TestChildStart only does something as TestMissingServer's child: it asks
// for a server.
func TestChildStart(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestMissingServer")
	}
	Start(t)
	t.Log("started")
}

// TestMissingServer: without redis-server on the PATH, a test that asks
// for one is skipped, or fails with an install hint when REDIS_REQUIRED=1.
func TestMissingServer(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, required := range []bool{false, true} {
		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestChildStart$", "-test.v")
		env := []string{childEnv + "=1", "PATH=" + t.TempDir()}
		if required {
			env = append(env, RequiredEnv+"=1")
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if required {
			require.Error(t, err, "%s", out)
			assert.Contains(t, string(out), "apt-get install -y redis-server")
			assert.Contains(t, string(out), "--- FAIL: TestChildStart")
		} else {
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "--- SKIP: TestChildStart")
			assert.Contains(t, string(out), RequiredEnv+"=1")
		}
	}
}

// TestServerLifecycle: Start answers PING; Pause stops answers until
// Resume; Restart keeps the address; Stop ends it.
func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	require.NoError(t, s.Ping())
	addr := s.Addr
	assert.True(t, strings.HasPrefix(addr, "127.0.0.1:"))
	s.Restart(t)
	assert.Equal(t, addr, s.Addr)
	require.NoError(t, s.Ping())
	s.Pause(t)
	assert.True(t, s.Paused())
	s.Resume(t)
	assert.False(t, s.Paused())
	require.NoError(t, s.Ping())
	s.Stop()
	require.ErrorIs(t, s.Ping(), ErrStopped)
	s.Stop() // twice is fine
}
