package testutil

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// PraxisDataEnv names the variable that points the tests at the real
// prAxIs OS data from a checkout that does not sit beside it.
const PraxisDataEnv = "MCPFLOW_PRAXIS_DATA"

// PraxisExpectedTasks returns the folder of the real prAxIs OS data
// (../shared/data/praxis from the module root, as CI lays it out beside
// the clone, or $MCPFLOW_PRAXIS_DATA) and its expected-tasks.json: for
// each spec under specs/, the task IDs per phase number that its author
// wrote. It skips the test, saying why, when the folder is not there.
// The data is read in place, never copied into the repository.
func PraxisExpectedTasks(tb testing.TB) (string, map[string]map[string][]string) {
	tb.Helper()
	dir := os.Getenv(PraxisDataEnv)
	if dir == "" {
		dir = filepath.Join(moduleRoot(tb), "..", "shared", "data", "praxis")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "expected-tasks.json"))
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("the real prAxIs OS data is not beside the clone (%s has no expected-tasks.json; CI has it, or set %s)", dir, PraxisDataEnv)
	}
	if err != nil {
		tb.Fatal(err)
	}
	var want map[string]map[string][]string
	if err := json.Unmarshal(raw, &want); err != nil {
		tb.Fatalf("%s/expected-tasks.json: %v", dir, err)
	}
	if len(want) == 0 {
		tb.Fatalf("%s/expected-tasks.json lists no spec", dir)
	}
	return dir, want
}

// moduleRoot returns the folder holding go.mod, at or above the test's
// folder.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod at or above the test's folder")
		}
		dir = parent
	}
}
