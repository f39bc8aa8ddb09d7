package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// PraxisDataEnv names the environment variable that points tests at the
// real prAxIs OS project data when it is not beside the module.
const PraxisDataEnv = "MCPFLOW_PRAXIS_DATA"

// PraxisData returns the folder of real prAxIs OS project data (session
// files under state/, specs under specs/): $MCPFLOW_PRAXIS_DATA when set,
// else ../shared/data/praxis beside the module root, where CI keeps it.
// The test is skipped, saying why, when the folder does not exist. Those
// files are inputs to test against, never copied into the repository.
func PraxisData(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(PraxisDataEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			tb.Skipf("real prAxIs OS data: cannot find the module root: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "data", "praxis")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		tb.Skipf("real prAxIs OS data not found at %s (CI has it; set %s to its folder to run this test)", dir, PraxisDataEnv)
	}
	return dir
}

// moduleRoot returns the nearest folder at or above the working folder
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
