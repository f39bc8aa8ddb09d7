package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
)

// Example runs the first phase of the built-in bug_fix workflow: a start,
// a submission the gate refuses, and one it accepts.
func Example() {
	stateDir, err := os.MkdirTemp("", "mcpflow-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(stateDir) }()

	// WorkflowsDir "" serves the built-in sample workflows.
	e, err := engine.New(engine.Config{StateDir: stateDir})
	if err != nil {
		panic(err)
	}
	defer func() { _ = e.Close() }()
	ctx := engine.WithCaller(context.Background(), engine.Caller{Transport: "stdio", Client: "example"})

	start, err := e.Start(ctx, engine.MustParseWorkflowName("bug_fix"), "internal/lexer/lexer.go", nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("phase %d (%s), %d tasks, resumed=%v\n", start.CurrentPhase, start.PhaseName, len(start.Tasks), start.Resumed)

	// A session ID from outside (a client, a command line) is parsed
	// once; the engine takes the typed ID.
	id, err := state.ParseSessionID(start.SessionID)
	if err != nil {
		panic(err)
	}
	res, err := e.CompletePhase(ctx, id, 1, map[string]any{"reproduced": true, "severity": 2.5})
	if err != nil {
		panic(err)
	}
	fmt.Println("passed:", res.CheckpointPassed)
	fmt.Println("missing:", res.ValidationResult.Diagnostics.FieldsMissing)
	fmt.Println("failed:", res.ValidationResult.Diagnostics.FieldsFailed)

	res, err = e.CompletePhase(ctx, id, 1, map[string]any{
		"repro_steps": []any{"go test ./internal/lexer -run TestUnterminatedString"},
		"reproduced":  true,
		"severity":    2,
		"environment": map[string]any{"go": "1.26", "os": "linux"},
		"expected":    "an error naming the line",
		"actual":      "a panic: index out of range",
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("passed: %v, next phase %d (%s)\n", res.CheckpointPassed, *res.NextPhase, res.NextPhaseContent.PhaseName)

	_, err = e.CompletePhase(ctx, id, 1, nil)
	fmt.Println("again:", errors.Is(err, state.ErrAlreadyCompleted))
	// Output:
	// phase 1 (Reproduce), 2 tasks, resumed=false
	// passed: false
	// missing: [repro_steps environment expected actual]
	// failed: [severity]
	// passed: true, next phase 2 (Fix)
	// again: true
}
