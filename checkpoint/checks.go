package checkpoint

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CheckKind names what a gate check looks at.
type CheckKind string

// The check kinds a gate's checks list may name.
const (
	// KindFilesExist requires files, named literally or by an evidence
	// field, to exist inside the project folder. Globs are allowed.
	KindFilesExist CheckKind = "files_exist"
	// KindFilesChanged requires files (or, with no paths, anything) to
	// have changed since the phase opened.
	KindFilesChanged CheckKind = "files_changed"
	// KindGit requires a git state: nothing uncommitted under the given
	// paths, or a commit since the phase opened.
	KindGit CheckKind = "git"
	// KindTestReport reads a go test -json stream, a JUnit XML file or a
	// TAP file and requires no failures and at least a number of tests.
	KindTestReport CheckKind = "test_report"
	// KindCommand runs a command in the project folder; exit status 0
	// passes. It needs the server's --allow-gate-commands.
	KindCommand CheckKind = "command"
	// KindBypass is the check a gate with checkpoint.changes_code adds:
	// anything must have changed since the phase opened.
	KindBypass CheckKind = "bypass"
)

// CheckKinds lists the kinds a checks list may name, in the order the
// documentation gives them (KindBypass is declared by
// checkpoint.changes_code instead).
var CheckKinds = []CheckKind{KindFilesExist, KindFilesChanged, KindGit, KindTestReport, KindCommand}

// Git requirements of a KindGit check.
const (
	// GitCommitted: nothing uncommitted (staged, unstaged or untracked)
	// under the check's paths, or anywhere when it names none.
	GitCommitted = "committed"
	// GitCommitSinceStart: HEAD moved to a new commit since the phase
	// opened.
	GitCommitSinceStart = "commit_since_start"
)

// Test report formats of a KindTestReport check.
const (
	FormatAuto   = "auto"
	FormatGoJSON = "go_test_json"
	FormatJUnit  = "junit"
	FormatTAP    = "tap"
)

// Limits of the checks.
const (
	// DefaultCommandTimeout is a command's timeout when the check gives
	// none; MaxCommandTimeout is the longest it may give.
	DefaultCommandTimeout = 2 * time.Minute
	MaxCommandTimeout     = 30 * time.Minute
	// DefaultOutputTail is how many bytes of a command's output the gate
	// result keeps (the last ones) when the check gives no output_tail;
	// MaxOutputTail is the most it may ask for.
	DefaultOutputTail = 4 << 10
	MaxOutputTail     = 64 << 10
	// MaxReportBytes is the largest test report a check reads.
	MaxReportBytes = 64 << 20
	// MaxChecks is the most checks one gate may declare.
	MaxChecks = 64
)

// Check is one entry of a gate's checks list. It is immutable once its
// Gate is returned.
type Check struct {
	// Kind is what the check looks at.
	Kind CheckKind
	// Line is the line of the check in the gate file.
	Line int
	// Strict, when set, overrides the gate's checkpoint.strict for this
	// check: true fails the gate, false turns a failure into a warning.
	Strict *bool
	// Description is the check's own description, or "".
	Description string

	// Paths are project-relative paths or globs (files_exist,
	// files_changed, git committed). A glob may use *, ?, [...] within a
	// path element and ** for any number of elements.
	Paths []string
	// PathField names an evidence field holding a path or a list of paths
	// (files_exist, files_changed, test_report).
	PathField string

	// Require is GitCommitted or GitCommitSinceStart (git).
	Require string

	// Path is the report's project-relative path (test_report), unless
	// PathField names it.
	Path string
	// Format is FormatAuto, FormatGoJSON, FormatJUnit or FormatTAP.
	Format string
	// MinTests is the least number of tests the report must hold.
	MinTests int
	// PassedField and FailedField name evidence fields that claim the
	// report's counts of passed and failed tests.
	PassedField, FailedField string

	// Argv is the command and its arguments (command); never a shell.
	Argv []string
	// Timeout is the command's timeout.
	Timeout time.Duration
	// OutputTail is how many bytes of the command's output the result
	// keeps.
	OutputTail int
}

// NeedsGit reports whether g has a check that compares the project with
// its state when the phase opened (files_changed, git, bypass).
func (g *Gate) NeedsGit() bool {
	for i := range g.Checks {
		switch g.Checks[i].Kind {
		case KindFilesChanged, KindGit, KindBypass:
			return true
		}
	}
	return false
}

// Name returns how results and errors name the check: checks[i].kind.
func (c *Check) Name(i int) string {
	return fmt.Sprintf("checks[%d].%s", i, c.Kind)
}

// Summary says in one line what the check requires, for an agent that
// reads the phase before it submits.
func (c *Check) Summary() string {
	var s string
	switch c.Kind {
	case KindFilesExist:
		s = "these files exist in the project: " + c.pathsText()
	case KindFilesChanged:
		if len(c.Paths) == 0 && c.PathField == "" {
			s = "something in the project changed since the phase opened"
		} else {
			s = "these files changed since the phase opened: " + c.pathsText()
		}
	case KindGit:
		switch {
		case c.Require == GitCommitSinceStart:
			s = "a git commit was made since the phase opened"
		case len(c.Paths) == 0:
			s = "nothing is left uncommitted in git"
		default:
			s = "nothing is left uncommitted in git under " + strings.Join(c.Paths, ", ")
		}
	case KindTestReport:
		where := c.Path
		if c.PathField != "" {
			where = "the file named by evidence field " + c.PathField
		}
		s = fmt.Sprintf("the test report %s (%s) was written after the phase opened, has no failures and at least %d tests", where, c.Format, c.MinTests)
		if c.PassedField != "" || c.FailedField != "" {
			s += "; evidence " + strings.Join(nonEmpty(c.PassedField, c.FailedField), " and ") + " must match its counts"
		}
	case KindCommand:
		s = fmt.Sprintf("the command %q exits with status 0 within %v (needs serve --allow-gate-commands)", strings.Join(c.Argv, " "), c.Timeout)
	case KindBypass:
		s = "the phase changes code: something in the project must change between the phase opening and its completion"
	}
	if c.Description != "" {
		s = c.Description + " (" + s + ")"
	}
	return s
}

func (c *Check) pathsText() string {
	parts := append([]string{}, c.Paths...)
	if c.PathField != "" {
		parts = append(parts, "the paths in evidence field "+c.PathField)
	}
	return strings.Join(parts, ", ")
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// checks parses the gate's checks list.
func (p *gateParser) checks(n *yaml.Node, g *Gate) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return p.errf(n, "checks", "must be a list of checks, each a mapping with kind, got %s", kindName(n))
	}
	if len(n.Content) > MaxChecks {
		return p.errf(n, "checks", "has %d checks, more than the %d allowed", len(n.Content), MaxChecks)
	}
	for i, e := range n.Content {
		c, err := p.check(e, fmt.Sprintf("checks[%d]", i))
		if err != nil {
			return err
		}
		g.Checks = append(g.Checks, c)
	}
	return nil
}

// checkKeys lists the keys each kind accepts besides kind, strict and
// description.
var checkKeys = map[CheckKind][]string{
	KindFilesExist:   {"paths", "path_field"},
	KindFilesChanged: {"paths", "path_field"},
	KindGit:          {"require", "paths"},
	KindTestReport:   {"path", "path_field", "format", "min_tests", "passed_field", "failed_field"},
	KindCommand:      {"argv", "timeout", "output_tail"},
}

func (p *gateParser) check(n *yaml.Node, at string) (Check, error) {
	c := Check{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return c, p.errf(n, at, "must be a mapping with kind (one of %s), got %s", kindList(), kindName(n))
	}
	vals := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		vals[n.Content[i].Value] = n.Content[i+1]
	}
	k, ok := vals["kind"]
	if !ok || k.Kind != yaml.ScalarNode || isNull(k) {
		return c, p.errf(n, at+".kind", "is missing; use one of %s", kindList())
	}
	c.Kind = CheckKind(k.Value)
	allowed, ok := checkKeys[c.Kind]
	if !ok {
		return c, p.errf(k, at+".kind", "must be one of %s, got %q", kindList(), k.Value)
	}
	at += "(" + string(c.Kind) + ")"
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if key != "kind" && key != "strict" && key != "description" && !slices.Contains(allowed, key) {
			return c, p.errf(n.Content[i], at+"."+key, "is not a key of a %s check; it takes kind, strict, description and %s", c.Kind, strings.Join(allowed, ", "))
		}
	}
	if v, ok := vals["strict"]; ok && !isNull(v) {
		b, ok := boolValue(v)
		if !ok {
			return c, p.errf(v, at+".strict", "must be true or false, got %s", describe(v))
		}
		c.Strict = &b
	}
	var err error
	if c.Description, err = p.text(vals, at, "description"); err != nil {
		return c, err
	}
	if v, ok := vals["paths"]; ok {
		if c.Paths, err = p.paths(v, at+".paths"); err != nil {
			return c, err
		}
	}
	if c.PathField, err = p.text(vals, at, "path_field"); err != nil {
		return c, err
	}
	switch c.Kind {
	case KindFilesExist:
		if len(c.Paths) == 0 && c.PathField == "" {
			return c, p.errf(n, at, "names no file; give paths (a list of project-relative paths or globs) or path_field (an evidence field holding paths)")
		}
	case KindGit:
		if c.Require, err = p.text(vals, at, "require"); err != nil {
			return c, err
		}
		switch c.Require {
		case "":
			c.Require = GitCommitted
		case GitCommitted, GitCommitSinceStart:
		default:
			return c, p.errf(vals["require"], at+".require", "must be %s or %s, got %q", GitCommitted, GitCommitSinceStart, c.Require)
		}
		if c.Require == GitCommitSinceStart && len(c.Paths) > 0 {
			return c, p.errf(vals["paths"], at+".paths", "applies to require: %s only", GitCommitted)
		}
	case KindTestReport:
		if err := p.testReport(n, vals, at, &c); err != nil {
			return c, err
		}
	case KindCommand:
		if err := p.command(n, vals, at, &c); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (p *gateParser) testReport(n *yaml.Node, vals map[string]*yaml.Node, at string, c *Check) error {
	var err error
	if c.Path, err = p.text(vals, at, "path"); err != nil {
		return err
	}
	switch {
	case c.Path == "" && c.PathField == "":
		return p.errf(n, at, "names no report; give path (project-relative) or path_field (an evidence field holding the report's path)")
	case c.Path != "" && c.PathField != "":
		return p.errf(vals["path_field"], at+".path_field", "cannot be given with path; give one of them")
	case c.Path != "":
		if msg := badPath(c.Path); msg != "" {
			return p.errf(vals["path"], at+".path", "%s", msg)
		}
	}
	if c.Format, err = p.text(vals, at, "format"); err != nil {
		return err
	}
	switch c.Format {
	case "":
		c.Format = FormatAuto
	case FormatAuto, FormatGoJSON, FormatJUnit, FormatTAP:
	default:
		return p.errf(vals["format"], at+".format", "must be one of %s, %s, %s, %s, got %q", FormatAuto, FormatGoJSON, FormatJUnit, FormatTAP, c.Format)
	}
	c.MinTests = 1
	if v, ok := vals["min_tests"]; ok && !isNull(v) {
		x, err := p.count(v, at+".min_tests")
		if err != nil {
			return err
		}
		c.MinTests = *x
	}
	if c.PassedField, err = p.text(vals, at, "passed_field"); err != nil {
		return err
	}
	c.FailedField, err = p.text(vals, at, "failed_field")
	return err
}

func (p *gateParser) command(n *yaml.Node, vals map[string]*yaml.Node, at string, c *Check) error {
	v, ok := vals["argv"]
	if !ok || v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		node := n
		if ok {
			node = v
		}
		return p.errf(node, at+".argv", "must be a non-empty list: the program and its arguments, for example [go, vet, ./...]; no shell runs it")
	}
	for i, e := range v.Content {
		if e.Kind != yaml.ScalarNode || isNull(e) || e.Value == "" {
			return p.errf(e, fmt.Sprintf("%s.argv[%d]", at, i), "must be a non-empty string, got %s", describe(e))
		}
		if strings.ContainsRune(e.Value, 0) {
			return p.errf(e, fmt.Sprintf("%s.argv[%d]", at, i), "must not contain a NUL byte")
		}
		c.Argv = append(c.Argv, e.Value)
	}
	c.Timeout = DefaultCommandTimeout
	if v, ok := vals["timeout"]; ok && !isNull(v) {
		d, err := time.ParseDuration(v.Value)
		if v.Kind != yaml.ScalarNode || err != nil || d <= 0 || d > MaxCommandTimeout {
			return p.errf(v, at+".timeout", "must be a duration from 1ms to %v such as 90s or 5m, got %s", MaxCommandTimeout, describe(v))
		}
		c.Timeout = d
	}
	c.OutputTail = DefaultOutputTail
	if v, ok := vals["output_tail"]; ok && !isNull(v) {
		x, ok := floatValue(v)
		if !ok || x < 1 || x > MaxOutputTail || x != math.Trunc(x) {
			return p.errf(v, at+".output_tail", "must be a whole number of bytes from 1 to %d, got %s", MaxOutputTail, describe(v))
		}
		c.OutputTail = int(x)
	}
	return nil
}

// text returns the scalar at key, or "" when it is absent or null.
func (p *gateParser) text(vals map[string]*yaml.Node, at, key string) (string, error) {
	v, ok := vals[key]
	if !ok || isNull(v) {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(v, at+"."+key, "must be text, got %s", kindName(v))
	}
	return strings.TrimSpace(v.Value), nil
}

// paths reads a list of project-relative paths or globs.
func (p *gateParser) paths(v *yaml.Node, at string) ([]string, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, at, "must be a list of project-relative paths or globs, got %s", kindName(v))
	}
	out := make([]string, 0, len(v.Content))
	for i, e := range v.Content {
		ep := fmt.Sprintf("%s[%d]", at, i)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			return nil, p.errf(e, ep, "must be a path, got %s", describe(e))
		}
		if msg := badPath(e.Value); msg != "" {
			return nil, p.errf(e, ep, "%s", msg)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

// badPath says why s cannot be a project-relative path or glob, or "".
func badPath(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case strings.ContainsRune(s, 0):
		return "must not contain a NUL byte"
	case strings.Contains(s, `\`):
		return fmt.Sprintf("%q uses a backslash; write paths with forward slashes", s)
	case path.IsAbs(s) || len(s) >= 2 && s[1] == ':':
		return fmt.Sprintf("%q is absolute; give a path relative to the project folder (--root)", s)
	}
	if slices.Contains(strings.Split(s, "/"), "..") {
		return fmt.Sprintf("%q climbs out with ..; give a path inside the project folder (--root)", s)
	}
	if _, err := path.Match(strings.ReplaceAll(s, "**", "*"), ""); err != nil {
		return fmt.Sprintf("%q is not a valid glob: %v", s, err)
	}
	return ""
}

func kindList() string {
	parts := make([]string, len(CheckKinds))
	for i, k := range CheckKinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}
