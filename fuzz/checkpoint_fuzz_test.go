package fuzz

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

const gateSource = "wf/phases/1/gate-definition.yaml"

// gateErr is the shape of every ParseGate error: the sentinel, the file,
// then the field ("(document)", "checkpoint...", "evidence_schema...").
var gateErr = regexp.MustCompile(`^checkpoint: invalid gate definition: ` + regexp.QuoteMeta(gateSource) + `: (\(document\)|checkpoint|evidence_schema|checks)`)

func builtinGates() [][]byte {
	var out [][]byte
	fsys := workflows.BuiltinWorkflows()
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && path.Base(p) == checkpoint.GateFile {
			if b, err := fs.ReadFile(fsys, p); err == nil {
				out = append(out, b)
			}
		}
		return nil
	})
	return out
}

var extraGates = []string{
	"checkpoint:\n  strict: true\nevidence_schema:\n  n:\n    type: integer\n    required: true\n    min: 1\n    enum: [1, 2]\n",
	"evidence_schema:\n  a:\n    type: dict\n    validator: v\nvalidators:\n  v: \"lambda x: x\"\ncross_field_validation:\n  - rule: r\n",
	"checkpoint: {strict: false}\nevidence_schema: {s: {type: string, pattern: '^a', min_length: 1, max_length: 3}, l: {type: list, min_items: 1}}\n",
	"a: &a [1]\nevidence_schema:\n  f: *a\n",
	"evidence_schema:\n  f:\n    type: number\n    min: .nan\n",
	"checkpoint: {strict: true, changes_code: true, on_bypass: warn}\nchecks:\n  - {kind: files_exist, paths: [a, 'b/**/*.go'], path_field: f}\n  - {kind: git, require: commit_since_start}\n  - {kind: test_report, path: r.xml, format: junit, min_tests: 2, passed_field: p, failed_field: f}\n  - {kind: command, argv: [go, vet], timeout: 1m, output_tail: 10}\n",
	"checks:\n  - kind: files_changed\n    paths: [../x]\n",
}

// FuzzParseGate: any bytes give a Gate or an error naming the field; never
// a panic.
func FuzzParseGate(f *testing.F) {
	for _, b := range builtinGates() {
		f.Add(b)
	}
	for _, s := range extraGates {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := checkpoint.ParseGate(data, gateSource)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrInvalidGate) {
				t.Fatalf("error does not wrap ErrInvalidGate: %v", err)
			}
			if !gateErr.MatchString(err.Error()) {
				t.Fatalf("error does not name its field: %q", err)
			}
			return
		}
		seen := map[string]bool{}
		for i := range g.Fields {
			name := g.Fields[i].Name
			if seen[name] {
				t.Fatalf("field %q twice", name)
			}
			seen[name] = true
		}
	})
}

// FuzzValidate: any gate and any evidence give a Result whose errors each
// start with a schema field's name, whose pass flag agrees with its
// errors, and that encodes as JSON; never a panic.
func FuzzValidate(f *testing.F) {
	evidence := []string{`{}`, `{"n": 1}`, `{"n": true}`, `{"n": 1.5, "x": null}`, `{"s": "abc", "l": [1]}`, `{"tests_passed": 3, "tests_failed": 0, "commit": "abcdef1"}`, `{"severity": 2, "environment": {}}`}
	gates := builtinGates()
	for _, s := range extraGates {
		gates = append(gates, []byte(s))
	}
	for i, g := range gates {
		f.Add(g, []byte(evidence[i%len(evidence)]))
	}
	f.Fuzz(func(t *testing.T, gateYAML, evidenceJSON []byte) {
		g, err := checkpoint.ParseGate(gateYAML, gateSource)
		if err != nil {
			return
		}
		var ev map[string]any
		if json.Unmarshal(evidenceJSON, &ev) != nil {
			return
		}
		if _, err := checkpoint.CopyEvidence(ev, 0); err != nil && !errors.Is(err, checkpoint.ErrEvidenceTooLarge) {
			t.Fatalf("decoded JSON does not encode: %v", err)
		}
		r := checkpoint.Validate(g, ev)
		if r.CheckpointPassed != (len(r.Errors) == 0) {
			t.Fatalf("passed=%v with errors %v", r.CheckpointPassed, r.Errors)
		}
		names := make([]string, len(g.Fields))
		for i := range g.Fields {
			names[i] = g.Fields[i].Name
		}
		for _, e := range r.Errors {
			name, _, ok := strings.Cut(e, ": ")
			for ok && !slices.Contains(names, name) {
				// Field names may themselves contain ": ".
				var more string
				more, _, ok = strings.Cut(e[len(name)+2:], ": ")
				name += ": " + more
			}
			if !ok {
				t.Fatalf("error %q does not start with a field of the schema %v", e, names)
			}
		}
		for _, m := range r.Diagnostics.FieldsMissing {
			if !slices.Contains(r.Diagnostics.FieldsRequired, m) {
				t.Fatalf("missing field %q is not required", m)
			}
		}
		if g.Strict && len(r.Diagnostics.FieldsMissing)+len(r.Diagnostics.FieldsFailed) > 0 && r.CheckpointPassed {
			t.Fatal("a strict gate passed with missing or failed fields")
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
	})
}

// FuzzParseReport: any bytes in any format give counts that add up, or an
// error wrapping ErrMalformedReport; never a panic.
func FuzzParseReport(f *testing.F) {
	for _, seed := range []string{
		"{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"TestA\"}\n{\"Action\":\"fail\",\"Package\":\"p\"}\n",
		"<testsuites><testsuite><testcase name=\"a\"><failure/></testcase><testcase name=\"b\"><skipped/></testcase></testsuite></testsuites>",
		"TAP version 13\n1..2\nok 1 - a\nnot ok 2 - b # TODO later\n",
		"",
	} {
		for _, format := range []string{checkpoint.FormatAuto, checkpoint.FormatGoJSON, checkpoint.FormatJUnit, checkpoint.FormatTAP} {
			f.Add([]byte(seed), format)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		rc, err := checkpoint.ParseReport(data, format)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrMalformedReport) {
				t.Fatalf("error does not wrap ErrMalformedReport: %v", err)
			}
			return
		}
		if rc.Passed < 0 || rc.Failed < 0 || rc.Skipped < 0 || rc.Total() != rc.Passed+rc.Failed+rc.Skipped {
			t.Fatalf("counts do not add up: %+v", rc)
		}
		if len(rc.FailedNames) > rc.Failed {
			t.Fatalf("%d failed names for %d failures", len(rc.FailedNames), rc.Failed)
		}
	})
}
