package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/internal/jsonnum"
	"github.com/mcpflow/mcpflow/internal/regfile"
)

// ReportCounts is what a test report says.
type ReportCounts struct {
	// Format is the format the report was read as.
	Format string
	// Passed, Failed and Skipped count tests (subtests included).
	Passed, Failed, Skipped int
	// FailedNames names the first failed tests.
	FailedNames []string
}

// Total is the number of tests the report holds.
func (rc ReportCounts) Total() int { return rc.Passed + rc.Failed + rc.Skipped }

// maxNamed bounds FailedNames.
const maxNamed = 5

// ErrMalformedReport is wrapped by ParseReport's errors.
var ErrMalformedReport = errors.New("checkpoint: malformed test report")

// ParseReport reads a test report in format (FormatAuto picks it from the
// first character: < for JUnit XML, { for go test -json, anything else
// TAP).
func ParseReport(data []byte, format string) (ReportCounts, error) {
	if format == FormatAuto || format == "" {
		t := bytes.TrimLeft(data, " \t\r\n\ufeff")
		switch {
		case len(t) == 0:
			return ReportCounts{}, fmt.Errorf("%w: the file is empty", ErrMalformedReport)
		case t[0] == '<':
			format = FormatJUnit
		case t[0] == '{':
			format = FormatGoJSON
		default:
			format = FormatTAP
		}
	}
	var rc ReportCounts
	var err error
	switch format {
	case FormatGoJSON:
		rc, err = parseGoJSON(data)
	case FormatJUnit:
		rc, err = parseJUnit(data)
	case FormatTAP:
		rc, err = parseTAP(data)
	default:
		return rc, fmt.Errorf("%w: unknown format %q", ErrMalformedReport, format)
	}
	rc.Format = format
	return rc, err
}

type goTestEvent struct {
	Action  string
	Package string
	Test    string
}

func parseGoJSON(data []byte) (ReportCounts, error) {
	var rc ReportCounts
	final := map[[2]string]string{}
	var order [][2]string
	pkgFailed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		bad := func() error {
			return fmt.Errorf("%w: line %d is not a go test -json event: %s", ErrMalformedReport, line, quoteShort(string(b)))
		}
		if b[0] != '{' || !json.Valid(b) {
			return rc, bad()
		}
		// Most lines are output: their action is read from the compact
		// JSON go test writes, and only results are decoded.
		if a, ok := compactAction(b); ok && !isResult(a) {
			continue
		}
		var ev goTestEvent
		if json.Unmarshal(b, &ev) != nil || ev.Action == "" {
			return rc, bad()
		}
		switch ev.Action {
		case "pass", "fail", "skip":
		default:
			continue
		}
		if ev.Test == "" {
			if ev.Action == "fail" {
				pkgFailed[ev.Package] = true
			}
			continue
		}
		k := [2]string{ev.Package, ev.Test}
		if _, seen := final[k]; !seen {
			order = append(order, k)
		}
		final[k] = ev.Action
	}
	if err := sc.Err(); err != nil {
		return rc, fmt.Errorf("%w: line %d: %w", ErrMalformedReport, line+1, err)
	}
	if line == 0 {
		return rc, fmt.Errorf("%w: the file is empty", ErrMalformedReport)
	}
	failedIn := map[string]bool{}
	for _, k := range order {
		switch final[k] {
		case "pass":
			rc.Passed++
		case "skip":
			rc.Skipped++
		case "fail":
			rc.Failed++
			failedIn[k[0]] = true
			rc.name(k[1])
		}
	}
	// A package that failed without a failed test (a build error, a
	// panic in TestMain) counts as one failure.
	for p := range pkgFailed {
		if !failedIn[p] {
			rc.Failed++
			rc.name("package " + p)
		}
	}
	return rc, nil
}

// compactAction returns the value of "Action" in an event as go test
// writes it (compact JSON, a plain string); ok is false when it is not
// written so.
func compactAction(b []byte) ([]byte, bool) {
	const key = `"Action":"`
	_, rest, found := bytes.Cut(b, []byte(key))
	if !found {
		return nil, false
	}
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil, false
	}
	return rest[:j], true
}

// isResult reports whether a is a test's result: pass, fail or skip.
func isResult(a []byte) bool {
	switch string(a) {
	case "pass", "fail", "skip":
		return true
	}
	return false
}

func (rc *ReportCounts) name(n string) {
	if len(rc.FailedNames) < maxNamed {
		rc.FailedNames = append(rc.FailedNames, n)
	}
}

type junitNode struct {
	XMLName xml.Name
	Suites  []junitNode `xml:"testsuite"`
	Cases   []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string    `xml:"name,attr"`
	ClassName string    `xml:"classname,attr"`
	Failure   *struct{} `xml:"failure"`
	Error     *struct{} `xml:"error"`
	Skipped   *struct{} `xml:"skipped"`
}

func parseJUnit(data []byte) (ReportCounts, error) {
	var rc ReportCounts
	var root junitNode
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&root); err != nil {
		return rc, fmt.Errorf("%w: not JUnit XML: %w", ErrMalformedReport, err)
	}
	if root.XMLName.Local != "testsuites" && root.XMLName.Local != "testsuite" {
		return rc, fmt.Errorf("%w: the root element is <%s>; JUnit XML starts with <testsuites> or <testsuite>", ErrMalformedReport, root.XMLName.Local)
	}
	var walk func(n *junitNode)
	walk = func(n *junitNode) {
		for _, c := range n.Cases {
			switch {
			case c.Failure != nil || c.Error != nil:
				rc.Failed++
				name := c.Name
				if c.ClassName != "" {
					name = c.ClassName + "." + c.Name
				}
				rc.name(name)
			case c.Skipped != nil:
				rc.Skipped++
			default:
				rc.Passed++
			}
		}
		for i := range n.Suites {
			walk(&n.Suites[i])
		}
	}
	walk(&root)
	return rc, nil
}

var (
	tapPlan   = regexp.MustCompile(`^1\.\.(\d+)`)
	tapResult = regexp.MustCompile(`^(not ok|ok)\b\s*(\d+)?\s*-?\s*([^#]*)(#\s*(\w+))?`)
)

func parseTAP(data []byte) (ReportCounts, error) {
	var rc ReportCounts
	plan := -1
	recognised := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			continue // a subtest or YAML block, indented
		}
		if strings.HasPrefix(l, "TAP version") {
			recognised = true
			continue
		}
		if m := tapPlan.FindStringSubmatch(l); m != nil {
			plan, _ = strconv.Atoi(m[1])
			recognised = true
			continue
		}
		m := tapResult.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		recognised = true
		directive := strings.ToUpper(m[5])
		switch {
		case strings.HasPrefix(directive, "SKIP"):
			rc.Skipped++
		case m[1] == "ok", strings.HasPrefix(directive, "TODO"):
			rc.Passed++
		default:
			rc.Failed++
			rc.name(strings.TrimSpace(m[3]))
		}
	}
	if err := sc.Err(); err != nil {
		return rc, fmt.Errorf("%w: %w", ErrMalformedReport, err)
	}
	if !recognised {
		return rc, fmt.Errorf("%w: no TAP plan (1..N) or test line (ok / not ok), and it is neither JUnit XML nor go test -json", ErrMalformedReport)
	}
	if plan >= 0 && plan != rc.Total() {
		return rc, fmt.Errorf("%w: the TAP plan says 1..%d, and the report has %d test lines: the run stopped early", ErrMalformedReport, plan, rc.Total())
	}
	return rc, nil
}

func (c *Checker) testReport(ch *Check, ev map[string]any, start PhaseStart, r *CheckResult) *failure {
	name := ch.Path
	if ch.PathField != "" {
		paths, f := evidencePaths(ev, ch.PathField)
		if f != nil {
			return f
		}
		if len(paths) != 1 {
			return fail(fmt.Sprintf("evidence field %s must name one report, and names %d", ch.PathField, len(paths)), "give "+ch.PathField+" as one path")
		}
		name = paths[0]
	}
	if _, f := c.statInRoot(name); f != nil {
		return f
	}
	// Opened without blocking (a FIFO is refused, never opened for
	// reading), then judged by what was opened.
	file, err := regfile.Open(c.root, name)
	if errors.Is(err, regfile.ErrNotRegular) {
		return fail(name+" is not a regular file", "write the test report to a regular file")
	}
	if err != nil {
		return fail(fmt.Sprintf("%s cannot be opened: %v", name, err), "make "+name+" readable")
	}
	defer func() { _ = file.Close() }()
	fi, err := file.Stat()
	if err != nil {
		return fail(fmt.Sprintf("%s cannot be read: %v", name, err), "make "+name+" readable")
	}
	switch {
	case !fi.Mode().IsRegular():
		return fail(name+" is not a regular file", "write the test report to a regular file")
	case fi.Size() > MaxReportBytes:
		return fail(fmt.Sprintf("%s is %d bytes, more than the %d a report may have", name, fi.Size(), MaxReportBytes), "write a report of the tests the phase concerns only")
	case !fi.ModTime().After(start.OpenedAt):
		return fail(fmt.Sprintf("%s was written at %s, before the phase opened at %s", name, fi.ModTime().UTC().Format("2006-01-02T15:04:05Z07:00"), start.OpenedAt.Format("2006-01-02T15:04:05Z07:00")), "run the tests again, writing "+name+", then complete the phase")
	}
	data, err := io.ReadAll(io.LimitReader(file, MaxReportBytes+1))
	switch {
	case err != nil:
		return fail(fmt.Sprintf("%s cannot be read: %v", name, err), "make "+name+" readable")
	case len(data) > MaxReportBytes:
		return fail(fmt.Sprintf("%s is more than the %d bytes a report may have", name, MaxReportBytes), "write a report of the tests the phase concerns only")
	}
	rc, err := ParseReport(data, ch.Format)
	if err != nil {
		return fail(fmt.Sprintf("%s: %v", name, err), "write the report with go test -json, a JUnit XML reporter or a TAP reporter, and let the run finish")
	}
	summary := fmt.Sprintf("%s (%s): %d passed, %d failed, %d skipped", name, rc.Format, rc.Passed, rc.Failed, rc.Skipped)
	var wrong []string
	for _, claim := range []struct {
		field string
		got   int
	}{{ch.PassedField, rc.Passed}, {ch.FailedField, rc.Failed}} {
		if claim.field == "" {
			continue
		}
		v, ok := ev[claim.field]
		if !ok || v == nil {
			continue
		}
		x, isNum := jsonnum.Float(v)
		if !isNum || x != float64(claim.got) {
			wrong = append(wrong, fmt.Sprintf("evidence %s says %v, the report has %d", claim.field, v, claim.got))
		}
	}
	switch {
	case len(wrong) > 0:
		return fail(strings.Join(wrong, "; ")+"; "+summary+failedList(rc), "submit the counts the report holds (or run the tests again and write the report), then complete the phase")
	case rc.Failed > 0:
		return fail(summary+failedList(rc), "fix the failing tests, run them again writing "+name+", then complete the phase")
	case rc.Total() < ch.MinTests:
		return fail(fmt.Sprintf("%s; at least %d test(s) are required", summary, ch.MinTests), "write the tests the phase asks for and run them, writing "+name)
	}
	r.Message = summary
	return nil
}

func failedList(rc ReportCounts) string {
	if len(rc.FailedNames) == 0 {
		return ""
	}
	return " (failed: " + strings.Join(rc.FailedNames, ", ") + ")"
}
