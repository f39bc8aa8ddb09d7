package checkpoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// project is a project folder with a Checker on it.
type project struct {
	dir string
	c   *Checker
}

func newProject(t *testing.T, allowCommands bool) *project {
	t.Helper()
	dir := t.TempDir()
	c, err := NewChecker(CheckerConfig{Dir: dir, AllowCommands: allowCommands})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &project{dir: dir, c: c}
}

func (p *project) write(t *testing.T, name, content string) {
	t.Helper()
	f := filepath.Join(p.dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
	require.NoError(t, os.WriteFile(f, []byte(content), 0o644))
}

// age sets name's modification time to an hour ago, before any phase of
// the test opened.
func (p *project) age(t *testing.T, name string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(p.dir, filepath.FromSlash(name)), old, old))
}

// fresh sets name's modification time a minute ahead: a file written
// just after a phase opened may carry an earlier time, as the file
// system's clock can lag the wall clock by a tick.
func (p *project) fresh(t *testing.T, name string) {
	t.Helper()
	later := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(filepath.Join(p.dir, filepath.FromSlash(name)), later, later))
}

func (p *project) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+p.dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// gitProject is a project in a git repository with one commit.
func gitProject(t *testing.T) *project {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	p := newProject(t, false)
	p.git(t, "init", "-q", "-b", "main")
	p.write(t, "main.go", "package main\n")
	p.write(t, "lib/util.go", "package lib\n")
	p.git(t, "add", ".")
	p.git(t, "commit", "-q", "-m", "first")
	return p
}

// gate parses a gate made of checks.
func gate(t *testing.T, yaml string) *Gate {
	t.Helper()
	g, err := ParseGate([]byte(yaml), "g.yaml")
	require.NoError(t, err)
	return g
}

// run1 runs a gate's single check.
func (p *project) run1(t *testing.T, g *Gate, ev map[string]any, start PhaseStart) CheckResult {
	t.Helper()
	rs := p.c.Run(t.Context(), g, ev, start)
	require.Len(t, rs, 1)
	return rs[0]
}

func TestFilesExist(t *testing.T) {
	p := newProject(t, false)
	p.write(t, "go.mod", "module x\n")
	p.write(t, "internal/a/b.go", "package a\n")
	start := p.c.OpenPhase(t.Context(), nil)
	strict := "checkpoint: {strict: true}\nchecks:\n  - kind: files_exist\n"
	for name, tc := range map[string]struct {
		yaml    string
		ev      map[string]any
		verdict Verdict
		msg     string
	}{
		"literal":            {strict + "    paths: [go.mod]\n", nil, VerdictPassed, "1 file(s) found"},
		"glob":               {strict + "    paths: ['*.mod']\n", nil, VerdictPassed, "1 file(s) found"},
		"double star":        {strict + "    paths: ['**/*.go']\n", nil, VerdictPassed, "1 file(s) found"},
		"missing":            {strict + "    paths: [nope.go]\n", nil, VerdictFailed, "nope.go does not exist"},
		"glob matching none": {strict + "    paths: ['**/*.rs']\n", nil, VerdictFailed, "no file in the project folder matches **/*.rs"},
		"evidence list":      {strict + "    path_field: files\n", map[string]any{"files": []any{"go.mod", "internal/a/b.go"}}, VerdictPassed, "2 file(s) found"},
		"evidence absolute":  {strict + "    path_field: files\n", map[string]any{"files": []any{"go.mod", "/etc/passwd"}}, VerdictFailed, "evidence field files[1]: \"/etc/passwd\" is absolute"},
		"evidence dot dot":   {strict + "    path_field: files\n", map[string]any{"files": "../outside"}, VerdictFailed, "evidence field files: \"../outside\" climbs out"},
		"evidence missing":   {strict + "    path_field: files\n", map[string]any{}, VerdictFailed, "evidence field files is missing"},
		"lenient override":   {strict + "    paths: [nope.go]\n    strict: false\n", nil, VerdictWarned, "nope.go does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			r := p.run1(t, gate(t, tc.yaml), tc.ev, start)
			assert.Equal(t, tc.verdict, r.Verdict, r.Message)
			assert.Contains(t, r.Message, tc.msg)
			if tc.verdict != VerdictPassed {
				assert.NotEmpty(t, r.Remediation)
			}
		})
	}
}

func TestFilesExistRefusesSymlinkLeadingOut(t *testing.T) {
	p := newProject(t, false)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(outside, []byte("x"), 0o600))
	require.NoError(t, os.Symlink(outside, filepath.Join(p.dir, "link.txt")))
	require.NoError(t, os.Symlink(filepath.Dir(outside), filepath.Join(p.dir, "linkdir")))
	for _, paths := range []string{"[link.txt]", "['link*']", "[linkdir/secret.txt]"} {
		r := p.run1(t, gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: files_exist\n    paths: "+paths+"\n"), nil, p.c.OpenPhase(t.Context(), nil))
		assert.Equal(t, VerdictFailed, r.Verdict, paths)
		assert.Contains(t, r.Message, "leads out of the project folder", paths)
	}
}

func TestPhaseStartRecordsGit(t *testing.T) {
	p := gitProject(t)
	head := p.git(t, "rev-parse", "HEAD")
	ps := p.c.OpenPhase(t.Context(), nil)
	assert.True(t, ps.Git)
	assert.Equal(t, head, ps.Head)
	assert.False(t, ps.Dirty)
	p.write(t, "new.txt", "x")
	ps = p.c.OpenPhase(t.Context(), nil)
	assert.True(t, ps.Dirty, "an untracked file makes the tree dirty")

	plain := newProject(t, false)
	ps = plain.c.OpenPhase(t.Context(), nil)
	assert.False(t, ps.Git, "a folder outside git records the time only")
	assert.WithinDuration(t, time.Now(), ps.OpenedAt, time.Minute)
}

func TestFilesChangedGit(t *testing.T) {
	anything := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: files_changed\n")
	lib := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: files_changed\n    paths: ['lib/**/*.go']\n")

	t.Run("unchanged", func(t *testing.T) {
		p := gitProject(t)
		start := p.c.OpenPhase(t.Context(), nil)
		r := p.run1(t, anything, nil, start)
		assert.Equal(t, VerdictFailed, r.Verdict)
		assert.Equal(t, "git", r.Method)
		assert.Contains(t, r.Message, "nothing in the project changed since the phase opened")
	})
	t.Run("edited, committed and untracked", func(t *testing.T) {
		p := gitProject(t)
		start := p.c.OpenPhase(t.Context(), nil)
		p.write(t, "main.go", "package main // edited\n")
		r := p.run1(t, anything, nil, start)
		assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
		r = p.run1(t, lib, nil, start)
		assert.Equal(t, VerdictFailed, r.Verdict)
		assert.Contains(t, r.Message, "not changed since the phase opened (asked git): lib/**/*.go")
		p.write(t, "lib/util.go", "package lib // edited\n")
		p.git(t, "commit", "-qam", "second")
		r = p.run1(t, lib, nil, start)
		assert.Equal(t, VerdictPassed, r.Verdict, "a committed change counts: %s", r.Message)
		p.write(t, "lib/sub/new.go", "package sub\n")
		r = p.run1(t, gate(t, "checks:\n  - kind: files_changed\n    paths: [lib/sub]\n"), nil, start)
		assert.Equal(t, VerdictPassed, r.Verdict, "an untracked file counts, a folder matches what is under it: %s", r.Message)
	})
	t.Run("dirty when opened", func(t *testing.T) {
		p := gitProject(t)
		p.write(t, "main.go", "package main // dirty before\n")
		p.age(t, "main.go")
		start := p.c.OpenPhase(t.Context(), nil)
		require.True(t, start.Dirty)
		r := p.run1(t, anything, nil, start)
		assert.Equal(t, VerdictFailed, r.Verdict, "a file dirty before the phase opened and untouched since is no change: %s", r.Message)
		assert.Equal(t, "git+mtime", r.Method)
		p.write(t, "main.go", "package main // edited during the phase\n")
		p.fresh(t, "main.go")
		r = p.run1(t, anything, nil, start)
		assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
		assert.Equal(t, "git+mtime", r.Method)
	})
}

func TestFilesChangedWithoutGitUsesModificationTimes(t *testing.T) {
	p := newProject(t, false)
	p.write(t, "a.txt", "a")
	p.age(t, "a.txt")
	start := p.c.OpenPhase(t.Context(), nil)
	g := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: files_changed\n    paths: [a.txt]\n")
	r := p.run1(t, g, nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Equal(t, "mtime", r.Method)
	p.write(t, "a.txt", "b")
	p.fresh(t, "a.txt")
	r = p.run1(t, g, nil, start)
	assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
	assert.Equal(t, "mtime", r.Method)
}

func TestBypassDetection(t *testing.T) {
	for _, tc := range []struct {
		yaml    string
		verdict Verdict
	}{
		{"checkpoint: {strict: true, changes_code: true}\n", VerdictFailed},
		{"checkpoint: {strict: true, changes_code: true, on_bypass: warn}\n", VerdictWarned},
		{"checkpoint: {strict: false, changes_code: true, on_bypass: fail}\n", VerdictFailed},
	} {
		p := gitProject(t)
		start := p.c.OpenPhase(t.Context(), nil)
		r := p.run1(t, gate(t, tc.yaml), nil, start)
		assert.Equal(t, tc.verdict, r.Verdict, tc.yaml)
		assert.Contains(t, r.Message, "the phase looks bypassed")
		p.write(t, "main.go", "package main // work\n")
		r = p.run1(t, gate(t, tc.yaml), nil, start)
		assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
	}
}

func TestGitState(t *testing.T) {
	p := gitProject(t)
	start := p.c.OpenPhase(t.Context(), nil)
	committed := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: git\n    paths: [lib]\n")
	since := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: git\n    require: commit_since_start\n")

	assert.Equal(t, VerdictPassed, p.run1(t, committed, nil, start).Verdict)
	r := p.run1(t, since, nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "no commit since the phase opened")

	p.write(t, "main.go", "package main // elsewhere\n")
	assert.Equal(t, VerdictPassed, p.run1(t, committed, nil, start).Verdict, "a change outside the paths")
	p.write(t, "lib/util.go", "package lib // uncommitted\n")
	r = p.run1(t, committed, nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Equal(t, "uncommitted changes: lib/util.go", r.Message)

	p.git(t, "commit", "-qam", "work")
	assert.Equal(t, VerdictPassed, p.run1(t, committed, nil, start).Verdict)
	r = p.run1(t, since, nil, start)
	assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
	assert.Contains(t, r.Message, "HEAD moved from")

	plain := newProject(t, false)
	r = plain.run1(t, committed, nil, plain.c.OpenPhase(t.Context(), nil))
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "not in a git work tree")
}

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"**/*.go", "a.go", true},
		{"**/*.go", "x/y/a.go", true},
		{"x/**", "x/y/z", true},
		{"x/**/z", "x/z", true},
		{"*.go", "x/a.go", false},
		{"lib", "lib/a.go", true},
		{"lib", "library/a.go", false},
		{"lib/*.go", "lib/sub/a.go", false},
	} {
		assert.Equal(t, tc.want, matchGlob(tc.pattern, tc.name), "%s ~ %s", tc.pattern, tc.name)
	}
}

func TestChecklessChecker(t *testing.T) {
	var c *Checker
	g := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: git\n")
	rs := c.Run(t.Context(), g, nil, PhaseStart{})
	require.Len(t, rs, 1)
	assert.Equal(t, VerdictFailed, rs[0].Verdict)
	assert.Contains(t, rs[0].Remediation, "--root")
	c2, err := NewChecker(CheckerConfig{})
	require.NoError(t, err)
	rs = c2.Run(t.Context(), g, nil, PhaseStart{})
	assert.Equal(t, VerdictFailed, rs[0].Verdict)
	require.NoError(t, c2.Close())
}

func TestApplyFailsGateOnStrictCheck(t *testing.T) {
	g := gate(t, "checkpoint: {strict: true}\nevidence_schema:\n  n: {type: integer, required: true}\n")
	r := Validate(g, map[string]any{"n": 1.0})
	require.True(t, r.CheckpointPassed)
	Apply(&r, []CheckResult{
		{Name: "checks[0].files_exist", Verdict: VerdictWarned, Message: "soft"},
		{Name: "checks[1].test_report", Verdict: VerdictFailed, Message: "hard", Remediation: "run the tests"},
	})
	assert.False(t, r.CheckpointPassed)
	assert.Equal(t, []string{"checks[1].test_report: hard"}, r.Errors)
	assert.Contains(t, r.Warnings, "lenient: checks[0].files_exist: soft")
	assert.Contains(t, r.Remediation, "checks[1].test_report: run the tests")
}

// TestStateFolderChangesAreNotTheWork: the server's own session files,
// saved inside the project, neither make the tree dirty nor count as a
// change nor as something uncommitted.
func TestStateFolderChangesAreNotTheWork(t *testing.T) {
	p := gitProject(t)
	c, err := NewChecker(CheckerConfig{Dir: p.dir, Ignore: []string{filepath.Join(p.dir, ".mcpflow", "state"), "", t.TempDir()}})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	p.c = c
	p.write(t, ".mcpflow/state/s1.json", "{}")
	start := c.OpenPhase(t.Context(), nil)
	assert.False(t, start.Dirty, "session files are not the work")
	p.write(t, ".mcpflow/state/s1.json", `{"saved": 2}`)
	p.fresh(t, ".mcpflow/state/s1.json")
	r := p.run1(t, gate(t, "checkpoint: {strict: true, changes_code: true}\n"), nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict, "a session save is no change: %s", r.Message)
	r = p.run1(t, gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: git\n"), nil, start)
	assert.Equal(t, VerdictPassed, r.Verdict, r.Message)

	plain := newProject(t, false)
	c2, err := NewChecker(CheckerConfig{Dir: plain.dir, Ignore: []string{filepath.Join(plain.dir, ".mcpflow", "state")}})
	require.NoError(t, err)
	defer func() { _ = c2.Close() }()
	plain.c = c2
	start = c2.OpenPhase(t.Context(), nil)
	plain.write(t, ".mcpflow/state/s1.json", "{}")
	plain.fresh(t, ".mcpflow/state/s1.json")
	r = plain.run1(t, gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: files_changed\n"), nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict, "modification times skip the state folder too: %s", r.Message)
	assert.Equal(t, "mtime", r.Method)
}
