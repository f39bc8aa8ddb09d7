package checkpoint_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpflow/mcpflow/checkpoint"
)

// Example parses a gate and checks two submissions against it.
func Example() {
	gate, err := checkpoint.ParseGate([]byte(`
checkpoint:
  strict: true
evidence_schema:
  tests_passed:
    type: integer
    required: true
    description: Passing tests
    min: 1
  summary:
    type: string
    required: true
    min_length: 10
`), "example/phases/2/gate-definition.yaml")
	if err != nil {
		log.Fatal(err)
	}

	r := checkpoint.Validate(gate, map[string]any{"tests_passed": 0.5})
	fmt.Println(r.CheckpointPassed)
	for _, e := range r.Errors {
		fmt.Println(e)
	}
	fmt.Println(r.Remediation)

	r = checkpoint.Validate(gate, map[string]any{"tests_passed": 42.0, "summary": "all green on CI"})
	fmt.Println(r.CheckpointPassed, len(r.Errors))
	// Output:
	// false
	// tests_passed: must be an integer (a whole number), got 0.5
	// summary: required string field is missing
	// Resubmit the phase's evidence with every field, after you fix tests_passed (integer: Passing tests, at least 1); add summary (string: at least 10 characters).
	// true 0
}

// ExampleChecker runs a gate's test-report check against a project: the
// evidence claims no failure, the report the server reads has one.
func ExampleChecker() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	c, err := checkpoint.NewChecker(checkpoint.CheckerConfig{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Close() }()
	gate, err := checkpoint.ParseGate([]byte(`
checkpoint: {strict: true}
evidence_schema:
  tests_failed: {type: integer, required: true}
checks:
  - kind: test_report
    path: report.tap
    failed_field: tests_failed
`), "example/phases/3/gate-definition.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	start := c.OpenPhase(context.Background(), gate)
	// The tests run after the phase opened.
	report := filepath.Join(dir, "report.tap")
	if err := os.WriteFile(report, []byte("1..2\nok 1 - parses\nnot ok 2 - escapes\n"), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	later := start.OpenedAt.Add(time.Minute)
	if err := os.Chtimes(report, later, later); err != nil {
		fmt.Println(err)
		return
	}

	evidence := map[string]any{"tests_failed": 0.0}
	r := checkpoint.Validate(gate, evidence)
	checkpoint.Apply(&r, c.Run(context.Background(), gate, evidence, start))
	fmt.Println(r.CheckpointPassed)
	fmt.Println(r.Checks[0].Verdict, r.Checks[0].Message)
	// Output:
	// false
	// failed evidence tests_failed says 0, the report has 1; report.tap (tap): 1 passed, 1 failed, 0 skipped (failed: escapes)
}
