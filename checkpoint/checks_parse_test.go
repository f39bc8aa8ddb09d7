package checkpoint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const checksGate = `checkpoint:
  strict: true
  changes_code: true
  on_bypass: warn
evidence_schema:
  tests_failed: {type: integer, required: true}
checks:
  - kind: files_exist
    paths: [go.mod, "internal/**/*.go"]
  - kind: files_changed
    path_field: changed_files
    strict: false
  - kind: git
    require: commit_since_start
  - kind: test_report
    path: .mcpflow/test-report.json
    min_tests: 2
    failed_field: tests_failed
  - kind: command
    argv: [go, vet, ./...]
    timeout: 90s
    output_tail: 2048
`

func TestParseGateChecks(t *testing.T) {
	g, err := ParseGate([]byte(checksGate), "wf/phases/3/gate-definition.yaml")
	require.NoError(t, err)
	require.Len(t, g.Checks, 6, "five listed and the bypass check changes_code adds")
	assert.Equal(t, []string{"go.mod", "internal/**/*.go"}, g.Checks[0].Paths)
	assert.Equal(t, 8, g.Checks[0].Line)
	assert.Equal(t, "changed_files", g.Checks[1].PathField)
	require.NotNil(t, g.Checks[1].Strict)
	assert.False(t, *g.Checks[1].Strict)
	assert.Equal(t, GitCommitSinceStart, g.Checks[2].Require)
	assert.Equal(t, FormatAuto, g.Checks[3].Format)
	assert.Equal(t, 2, g.Checks[3].MinTests)
	assert.Equal(t, "tests_failed", g.Checks[3].FailedField)
	assert.Equal(t, []string{"go", "vet", "./..."}, g.Checks[4].Argv)
	assert.Equal(t, 2048, g.Checks[4].OutputTail)
	assert.Equal(t, KindBypass, g.Checks[5].Kind)
	require.NotNil(t, g.Checks[5].Strict, "on_bypass: warn")
	assert.False(t, *g.Checks[5].Strict)
	assert.True(t, g.ChangesCode)
	assert.Contains(t, g.Checks[4].Summary(), "--allow-gate-commands")
}

func TestParseGateChecksErrorsNameFileFieldAndLine(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"absolute path":    {"checks:\n  - kind: files_exist\n    paths: [/etc/passwd]\n", "g.yaml: checks[0](files_exist).paths[0] (line 3): \"/etc/passwd\" is absolute"},
		"dot dot":          {"checks:\n  - kind: files_exist\n    paths:\n      - ok.go\n      - a/../../x\n", "g.yaml: checks[0](files_exist).paths[1] (line 5): \"a/../../x\" climbs out with .."},
		"report dot dot":   {"checks:\n  - kind: test_report\n    path: ../r.json\n", "checks[0](test_report).path (line 3)"},
		"unknown kind":     {"checks:\n  - kind: lint\n", "g.yaml: checks[0].kind (line 2): must be one of files_exist, files_changed, git, test_report, command, got \"lint\""},
		"missing kind":     {"checks:\n  - paths: [a]\n", "checks[0].kind (line 2): is missing"},
		"not a list":       {"checks: {kind: git}\n", "checks (line 1): must be a list"},
		"unknown key":      {"checks:\n  - kind: git\n    argv: [ls]\n", "checks[0](git).argv (line 3): is not a key of a git check"},
		"empty argv":       {"checks:\n  - kind: command\n    argv: []\n", "checks[0](command).argv (line 3): must be a non-empty list"},
		"bad timeout":      {"checks:\n  - kind: command\n    argv: [ls]\n    timeout: forever\n", "checks[0](command).timeout (line 4)"},
		"no files":         {"checks:\n  - kind: files_exist\n", "checks[0](files_exist) (line 2): names no file"},
		"bad require":      {"checks:\n  - kind: git\n    require: clean\n", "checks[0](git).require (line 3)"},
		"bad strict":       {"checks:\n  - kind: git\n    strict: maybe\n", "checks[0](git).strict (line 3): must be true or false"},
		"bad format":       {"checks:\n  - kind: test_report\n    path: r.xml\n    format: xunit\n", "checks[0](test_report).format (line 4)"},
		"bypass alone":     {"checkpoint:\n  on_bypass: fail\n", "checkpoint.on_bypass (line 2): applies only with changes_code: true"},
		"bad glob":         {"checks:\n  - kind: files_exist\n    paths: [\"a/[\"]\n", "checks[0](files_exist).paths[0] (line 3): \"a/[\" is not a valid glob"},
		"backslash":        {"checks:\n  - kind: files_changed\n    paths: ['a\\b']\n", "uses a backslash"},
		"windows absolute": {"checks:\n  - kind: files_changed\n    paths: ['C:/x']\n", "is absolute"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseGate([]byte(tc.yaml), "g.yaml")
			require.ErrorIs(t, err, ErrInvalidGate)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
