package checkpoint_test

import (
	"fmt"
	"log"

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
