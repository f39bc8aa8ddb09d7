package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ReportCPU reports the process CPU time per operation since start (a
// CPUTime reading) as the benchmark metric "cpu-ns/op". On a machine whose
// cores other processes also use, wall time per operation swings with their
// load; CPU time much less.
func ReportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	if b.N > 0 {
		b.ReportMetric(float64((CPUTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// binary is the mcpflow command Binary built, shared by every test of the
// process; once guards every field.
var binary struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// Binary builds cmd/mcpflow of the module the calling test runs in, once
// per test process, and returns the path of the executable. Every caller
// gets the same build. The test is skipped with -short. A TestMain that
// uses it calls RemoveBinary after m.Run. Binary is safe for concurrent use.
func Binary(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds the binary; skipped with -short")
	}
	binary.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binary.err = err
			return
		}
		gomod, err := exec.Command(goTool, "env", "GOMOD").Output()
		if err != nil {
			binary.err = err
			return
		}
		dir, err := os.MkdirTemp("", "mcpflow-bin-*") //nolint:usetesting // shared by every test of the process, removed by RemoveBinary
		if err != nil {
			binary.err = err
			return
		}
		path := filepath.Join(dir, "mcpflow")
		cmd := exec.Command(goTool, "build", "-o", path, "./cmd/mcpflow")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
		binary.out, binary.err = cmd.CombinedOutput()
		binary.path = path
	})
	if binary.err != nil {
		tb.Fatalf("go build ./cmd/mcpflow: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

// RemoveBinary deletes the executable Binary built, if it built one. Call
// it from TestMain once m.Run has returned, when no test calls Binary.
func RemoveBinary() {
	if binary.path != "" {
		_ = os.RemoveAll(filepath.Dir(binary.path))
	}
}
