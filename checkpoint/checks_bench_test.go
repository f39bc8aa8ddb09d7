package checkpoint

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkParseReport: a go test -json stream of 5,000 tests (run,
// output and pass events each: 15,000 lines), as a large suite writes it.
func BenchmarkParseReport(b *testing.B) {
	var sb strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&sb, `{"Time":"2026-12-04T21:00:00.000000Z","Action":"run","Package":"example.com/p%d","Test":"TestCase%d"}`+"\n", i%50, i)
		fmt.Fprintf(&sb, `{"Time":"2026-12-04T21:00:00.000001Z","Action":"output","Package":"example.com/p%d","Test":"TestCase%d","Output":"=== RUN   TestCase%d\n"}`+"\n", i%50, i, i)
		fmt.Fprintf(&sb, `{"Time":"2026-12-04T21:00:00.000002Z","Action":"pass","Package":"example.com/p%d","Test":"TestCase%d","Elapsed":0}`+"\n", i%50, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rc, err := ParseReport(data, FormatAuto)
		if err != nil || rc.Passed != 5000 {
			b.Fatal(rc, err)
		}
	}
}

// BenchmarkOpenPhase: the record of a phase's opening in a git work tree
// of 200 files, with git (a gate whose checks compare with it) and
// without (the time only).
func BenchmarkOpenPhase(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is not installed")
	}
	dir := b.TempDir()
	for i := range 200 {
		name := filepath.Join(dir, fmt.Sprintf("pkg%d", i%10), fmt.Sprintf("f%d.go", i))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(name, []byte("package p\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "one"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatal(string(out), err)
		}
	}
	c, err := NewChecker(CheckerConfig{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	withGit, err := ParseGate([]byte("checkpoint: {changes_code: true}\n"), "g.yaml")
	if err != nil {
		b.Fatal(err)
	}
	without, err := ParseGate([]byte("checks:\n  - {kind: files_exist, paths: [pkg0]}\n"), "g.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		g    *Gate
	}{{"git", withGit}, {"time-only", without}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ps := c.OpenPhase(b.Context(), bc.g)
				if ps.Git != (bc.g == withGit) {
					b.Fatal(ps)
				}
			}
		})
	}
}
