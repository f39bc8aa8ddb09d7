//go:build unix

package checkpoint

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func commandGate(t *testing.T, argv, extra string) *Gate {
	t.Helper()
	return gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: command\n    argv: "+argv+"\n"+extra)
}

func TestCommandCheck(t *testing.T) {
	p := newProject(t, true)
	p.write(t, "marker.txt", "in the project folder\n")
	start := p.c.OpenPhase(t.Context(), nil)

	r := p.run1(t, commandGate(t, `[cat, marker.txt]`, ""), nil, start)
	assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
	assert.Equal(t, "in the project folder\n", r.Output, "it runs in the project folder")

	r = p.run1(t, commandGate(t, `[sh, -c, 'echo first; echo "$0" >&2; exit 3', 'not $HOME']`, ""), nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "exited with status 3")
	assert.Equal(t, "first\nnot $HOME\n", r.Output, "arguments reach it unexpanded, with no shell of ours")

	r = p.run1(t, commandGate(t, `[sh, -c, 'yes 0123456789 | head -c 100000; exit 1']`, "    output_tail: 32\n"), nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Equal(t, "...", r.Output[:3])
	assert.LessOrEqual(t, len(r.Output), 3+32, "only the tail is kept")

	r = p.run1(t, commandGate(t, `[no-such-program-mcpflow]`, ""), nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "could not run")
}

func TestCommandCheckDisabledNamesTheFlag(t *testing.T) {
	p := newProject(t, false)
	dir := t.TempDir()
	r := p.run1(t, commandGate(t, "[touch, "+filepath.Join(dir, "ran")+"]", ""), nil, p.c.OpenPhase(t.Context(), nil))
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "--allow-gate-commands")
	assert.Contains(t, r.Remediation, "--allow-gate-commands")
	assert.NoFileExists(t, filepath.Join(dir, "ran"), "the command did not run")
}

// TestCommandTimeoutKillsProcessGroup: a command that forks a child and
// hangs is killed at its timeout with the child.
func TestCommandTimeoutKillsProcessGroup(t *testing.T) {
	p := newProject(t, true)
	start := p.c.OpenPhase(t.Context(), nil)
	r := p.run1(t, commandGate(t, `[sleep, "60"]`, "    timeout: 100ms\n"), nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.True(t, r.TimedOut)
	assert.Contains(t, r.Message, "did not finish within 100ms")

	r = p.run1(t, commandGate(t, `[sh, -c, 'sleep 60 & echo $! > child.pid; wait']`, "    timeout: 300ms\n"), nil, start)
	assert.True(t, r.TimedOut, r.Message)
	b, err := os.ReadFile(filepath.Join(p.dir, "child.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	// The child was killed with its group. SIGKILL is pending at once, but
	// on a loaded machine the child may not have run to its death yet:
	// wait, bounded, until it no longer exists or is a zombie awaiting
	// its reaper (which signal 0 still finds). A child the kill missed
	// sleeps for 60 s and is still running at the deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = syscall.Kill(pid, 0)
		if err != nil || isZombie(pid) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		assert.True(t, isZombie(pid), "the forked child %d still runs", pid)
	} else {
		require.ErrorIs(t, err, syscall.ESRCH)
	}
	stats := p.c.Stats()
	for _, s := range stats {
		if s.Kind == KindCommand {
			assert.Equal(t, int64(2), s.TimedOut)
			assert.Equal(t, int64(2), s.Run)
		}
	}
}

// isZombie reports whether pid is a zombie (state Z in /proc), on Linux;
// elsewhere it reports false.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestTestReportRefusesFIFO(t *testing.T) {
	p := newProject(t, false)
	require.NoError(t, syscall.Mkfifo(filepath.Join(p.dir, "report.fifo"), 0o600))
	r := p.run1(t, gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: test_report\n    path: report.fifo\n"), nil, p.c.OpenPhase(t.Context(), nil))
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "is not a regular file")
}
