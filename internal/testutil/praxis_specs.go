package testutil

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// PraxisExpectedTasks returns the folder of the real prAxIs OS data (see
// PraxisData) and its expected-tasks.json: for each spec under specs/, the
// task IDs per phase number that its author wrote. It skips the test,
// saying why, when the data is not there.
func PraxisExpectedTasks(tb testing.TB) (string, map[string]map[string][]string) {
	tb.Helper()
	dir := PraxisData(tb)
	raw, err := os.ReadFile(filepath.Join(dir, "expected-tasks.json"))
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("%s has no expected-tasks.json (CI has it; set %s to the folder that does)", dir, PraxisDataEnv)
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
