package checkpoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goTestJSON runs go test -json on a small package with two passing tests
// (one of them with a passing subtest), one failing test and one skipped
// test, and returns its output.
func goTestJSON(t *testing.T, failing bool) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not in PATH")
	}
	dir := t.TempDir()
	fail := ""
	if failing {
		fail = "func TestBroken(t *testing.T) { t.Fatal(\"broken\") }\n"
	}
	files := map[string]string{
		"go.mod": "module tiny\n\ngo 1.22\n",
		"tiny_test.go": "package tiny\n\nimport \"testing\"\n\n" +
			"func TestOne(t *testing.T) {}\n" +
			"func TestTwo(t *testing.T) { t.Run(\"sub\", func(t *testing.T) {}) }\n" +
			"func TestSkipped(t *testing.T) { t.Skip(\"later\") }\n" + fail,
	}
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	cmd := exec.Command(gobin, "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	if !failing {
		require.NoError(t, err, "%s", out)
	}
	return out
}

// A JUnit XML report as pytest's --junitxml writes it.
const junitReport = `<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4" time="0.031" timestamp="2026-12-04T21:00:00.000000" hostname="ci">
<testcase classname="tests.test_parse" name="test_empty" time="0.001" />
<testcase classname="tests.test_parse" name="test_unicode" time="0.001" />
<testcase classname="tests.test_parse" name="test_nested" time="0.002"><failure message="AssertionError: assert 2 == 3">def test_nested():
&gt;       assert depth("[[]]") == 3
E       AssertionError: assert 2 == 3</failure></testcase>
<testcase classname="tests.test_parse" name="test_slow" time="0.000"><skipped type="pytest.skip" message="slow">tests/test_parse.py:30: slow</skipped></testcase>
</testsuite></testsuites>
`

const tapReport = `TAP version 13
1..4
ok 1 - parses empty input
ok 2 - parses unicode
not ok 3 - parses nested lists
  ---
  message: expected 3, got 2
  ...
ok 4 - slow path # SKIP not on CI
`

func TestParseReportRealOutputs(t *testing.T) {
	rc, err := ParseReport(goTestJSON(t, true), FormatAuto)
	require.NoError(t, err)
	assert.Equal(t, ReportCounts{Format: FormatGoJSON, Passed: 3, Failed: 1, Skipped: 1, FailedNames: []string{"TestBroken"}}, rc)

	rc, err = ParseReport([]byte(junitReport), FormatAuto)
	require.NoError(t, err)
	assert.Equal(t, ReportCounts{Format: FormatJUnit, Passed: 2, Failed: 1, Skipped: 1, FailedNames: []string{"tests.test_parse.test_nested"}}, rc)

	rc, err = ParseReport([]byte(tapReport), FormatAuto)
	require.NoError(t, err)
	assert.Equal(t, ReportCounts{Format: FormatTAP, Passed: 2, Failed: 1, Skipped: 1, FailedNames: []string{"parses nested lists"}}, rc)
}

func TestParseReportMalformed(t *testing.T) {
	for name, tc := range map[string]struct{ data, format string }{
		"empty":             {"", FormatAuto},
		"json then garbage": {`{"Action":"run","Test":"TestA"}` + "\nPASS\n", FormatAuto},
		"json not events":   {`{"a":1}`, FormatGoJSON},
		"broken xml":        {"<testsuite><testcase name='a'>", FormatAuto},
		"html":              {"<html><body>report</body></html>", FormatAuto},
		"prose":             {"all tests passed, trust me\n", FormatAuto},
		"tap cut short":     {"1..3\nok 1\nok 2\n", FormatTAP},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseReport([]byte(tc.data), tc.format)
			require.ErrorIs(t, err, ErrMalformedReport)
		})
	}
}

func TestTestReportCheck(t *testing.T) {
	passing := goTestJSON(t, false)
	failing := goTestJSON(t, true)
	g := gate(t, `checkpoint: {strict: true}
checks:
  - kind: test_report
    path: out/report.json
    min_tests: 2
    passed_field: tests_passed
    failed_field: tests_failed
`)
	p := newProject(t, false)
	p.write(t, "out/report.json", string(passing))
	p.age(t, "out/report.json")
	start := p.c.OpenPhase(t.Context(), nil)

	r := p.run1(t, g, nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "before the phase opened", "a report older than the phase is stale")

	p.write(t, "out/report.json", string(passing))
	p.fresh(t, "out/report.json")
	r = p.run1(t, g, map[string]any{"tests_passed": 3.0, "tests_failed": 0.0}, start)
	assert.Equal(t, VerdictPassed, r.Verdict, r.Message)
	assert.Equal(t, "out/report.json (go_test_json): 3 passed, 0 failed, 1 skipped", r.Message)

	r = p.run1(t, g, map[string]any{"tests_passed": 5.0, "tests_failed": 0.0}, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "evidence tests_passed says 5, the report has 3")
	assert.NotContains(t, r.Message, "tests_failed says")

	p.write(t, "out/report.json", string(failing))
	p.fresh(t, "out/report.json")
	r = p.run1(t, g, map[string]any{"tests_passed": 3.0, "tests_failed": 0.0}, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "evidence tests_failed says 0, the report has 1")
	assert.Contains(t, r.Message, "(failed: TestBroken)")

	r = p.run1(t, g, map[string]any{"tests_passed": 3.0, "tests_failed": 1.0}, start)
	assert.Equal(t, VerdictFailed, r.Verdict, "honest counts, but a test fails")
	assert.Contains(t, r.Message, "1 failed")

	p.write(t, "out/report.json", "not a report\n")
	p.fresh(t, "out/report.json")
	r = p.run1(t, g, nil, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "malformed test report")

	p.write(t, "out/report.json", junitReport)
	p.fresh(t, "out/report.json")
	r = p.run1(t, gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: test_report\n    path_field: report\n    format: junit\n    min_tests: 10\n"), map[string]any{"report": "out/report.json"}, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "tests.test_parse.test_nested")
}

func TestTestReportRefusesHugeAndNonRegular(t *testing.T) {
	p := newProject(t, false)
	start := p.c.OpenPhase(t.Context(), nil)
	big := filepath.Join(p.dir, "huge.json")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(1<<30)) // sparse: 1 GiB that takes no room
	require.NoError(t, f.Close())
	g := gate(t, "checkpoint: {strict: true}\nchecks:\n  - kind: test_report\n    path_field: report\n")
	r := p.run1(t, g, map[string]any{"report": "huge.json"}, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "huge.json is 1073741824 bytes, more than the 67108864 a report may have")

	require.NoError(t, os.Mkdir(filepath.Join(p.dir, "dir"), 0o755))
	r = p.run1(t, g, map[string]any{"report": "dir"}, start)
	assert.Equal(t, VerdictFailed, r.Verdict)
	assert.Contains(t, r.Message, "dir is not a regular file")
}
