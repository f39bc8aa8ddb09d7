package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpflow/mcpflow/spec"
)

// BenchmarkParse parses the thread-safety spec (23 kB, 4 phases, 15 tasks).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "tasks-thread-safety.md"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := spec.Parse(data, "tasks.md"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUnbalancedFences parses 440 kB of "```markdown" blocks
// whose inner fences never balance, the input that made the nested-fence
// reading quadratic (minutes) before it was bounded.
func BenchmarkParseUnbalancedFences(b *testing.B) {
	data := []byte("## Phase 1: A\n" + strings.Repeat("```markdown\n```sh\n```\n", 20000))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := spec.Parse(data, "tasks.md"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoaderHit is the cached path every get_current_phase and
// get_task of a dynamic session takes, from all goroutines at once.
func BenchmarkLoaderHit(b *testing.B) {
	dir := b.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "tasks-thread-safety.md"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "s"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s", "tasks.md"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	l, err := spec.NewLoader(spec.LoaderConfig{FS: root.FS(), Recheck: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Plan(b.Context(), "s"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Plan(b.Context(), "s"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
