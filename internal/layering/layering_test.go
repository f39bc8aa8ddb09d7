package layering

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mcpflow/mcpflow"

// rule is what one folder of the module may import of our own packages.
type rule struct {
	// may lists what the folder's non-test files may import.
	may []string
	// tests lists what its tests may import beyond may, the package itself
	// and the test-support packages.
	tests []string
	// testSupport marks a package that only tests may import.
	testSupport bool
}

// below is every production package under engine, top first.
var below = []string{"spec", "checkpoint", "ragcache", "shard", "metrics"}

// withState returns pkgs after engine/state, the leaf package of session
// state and the store contract that the engine and every store import.
func withState(pkgs []string) []string {
	return append([]string{"engine/state"}, pkgs...)
}

// withWorkflows returns pkgs after engine/workflows (the workflow
// definitions) and engine/state.
func withWorkflows(pkgs []string) []string {
	return append([]string{"engine/workflows"}, withState(pkgs)...)
}

// rules is the import graph allowed, by folder relative to the module root.
// README.md's "may import" column is rendered from it (see render).
var rules = map[string]rule{
	"cmd/mcpflow":                 {may: slices.Concat([]string{"server", "engine/redisstore", "engine"}, withWorkflows(below), []string{"internal/regfile"})},
	"server":                      {may: slices.Concat([]string{"dashboard", "engine"}, withWorkflows(below), []string{"internal/jsonnum", "internal/regfile"}), tests: []string{"engine/redisstore"}},
	"dashboard":                   {may: append([]string{"engine"}, withWorkflows(below)...)},
	"engine/redisstore":           {may: []string{"engine/state"}, tests: append([]string{"engine"}, below...)},
	"engine":                      {may: append(withWorkflows(below), "internal/regfile")},
	"engine/workflows":            {may: slices.Concat(withState(below), []string{"internal/jsonnum", "internal/regfile"})},
	"engine/state":                {},
	"spec":                        {may: slices.Concat(below[1:], []string{"internal/mdnest"})},
	"checkpoint":                  {may: slices.Concat(below[2:], []string{"internal/jsonnum", "internal/regfile"})},
	"ragcache":                    {may: slices.Concat(below[3:], []string{"internal/mdnest", "internal/regfile"})},
	"shard":                       {may: below[4:]},
	"metrics":                     {},
	"engine/storetest":            {may: []string{"engine/state", "internal/testutil"}, testSupport: true},
	"engine/redisstore/redistest": {testSupport: true},
	"internal/baseline":           {testSupport: true},
	"internal/testutil":           {testSupport: true},
	"internal/layering":           {},
	"internal/mdnest":             {},
	"internal/jsonnum":            {},
	"internal/regfile":            {},
	"fuzz":                        {tests: append([]string{"engine"}, withWorkflows(below)...)},
}

// render writes a rule as README's "may import" cell says it.
func render(r rule) string {
	quote := func(names []string) string {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = "`" + n + "`"
		}
		return strings.Join(q, ", ")
	}
	var b strings.Builder
	if len(r.may) == 0 {
		b.WriteString("nothing of ours")
	} else {
		b.WriteString(quote(r.may))
	}
	if len(r.tests) > 0 {
		b.WriteString("; its tests also " + quote(r.tests))
	}
	if r.testSupport {
		b.WriteString("; imported by tests only")
	}
	return b.String()
}

// pkg is the part of `go list -json` the test reads.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// listPackages runs `go list -json ./...` at the module root. `go test`
// puts the go command it runs under at the front of PATH.
func listPackages(t *testing.T, root string) []pkg {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the packages: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// ours returns the folders of our own packages in imports, relative to the
// module root.
func ours(imports []string) []string {
	var rel []string
	for _, imp := range imports {
		if r, ok := strings.CutPrefix(imp, module+"/"); ok {
			rel = append(rel, r)
		}
	}
	return rel
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

// TestImportsFollowTheLayout checks every package's imports of our own
// packages, non-test files and tests apart, against rules.
func TestImportsFollowTheLayout(t *testing.T) {
	support := map[string]bool{}
	for folder, r := range rules {
		if r.testSupport {
			support[folder] = true
		}
	}
	seen := map[string]bool{}
	for _, p := range listPackages(t, moduleRoot(t)) {
		folder, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			t.Errorf("package %s is outside module %s", p.ImportPath, module)
			continue
		}
		seen[folder] = true
		r, ok := rules[folder]
		if !ok {
			t.Errorf("%s has no import rule: add it to rules here and a row to README.md's layout table", folder)
			continue
		}
		for _, imp := range ours(p.Imports) {
			if !slices.Contains(r.may, imp) {
				t.Errorf("%s imports %s; it may import %s", folder, imp, render(r))
			}
		}
		for _, imp := range ours(append(slices.Clone(p.TestImports), p.XTestImports...)) {
			if imp == folder || support[imp] || slices.Contains(r.may, imp) || slices.Contains(r.tests, imp) {
				continue
			}
			t.Errorf("tests of %s import %s; they may import %s, %s itself and the test-support packages", folder, imp, render(r), folder)
		}
	}
	for folder := range rules {
		if !seen[folder] {
			t.Errorf("rules name %s, which is no package of the module", folder)
		}
	}
}

// TestRulesPointDown checks that the rules themselves have no cycle and
// that no production package may import a test-support one.
func TestRulesPointDown(t *testing.T) {
	state := map[string]int{} // 0 unvisited, 1 on the path, 2 done
	var visit func(folder string, path []string)
	visit = func(folder string, path []string) {
		switch state[folder] {
		case 1:
			t.Errorf("import rules have a cycle: %s", strings.Join(append(path, folder), " > "))
			return
		case 2:
			return
		}
		state[folder] = 1
		r, ok := rules[folder]
		if !ok {
			t.Errorf("%s names %s, which has no rule", path[len(path)-1], folder)
		}
		for _, imp := range r.may {
			if rules[imp].testSupport && !r.testSupport {
				t.Errorf("%s may import the test-support package %s", folder, imp)
			}
			visit(imp, append(path, folder))
		}
		state[folder] = 2
	}
	for folder := range rules {
		visit(folder, nil)
	}
}

// TestReadmeSaysTheRules checks that README.md's layout table has a row
// for every folder with a rule and that its "may import" cell says the rule.
func TestReadmeSaysTheRules(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]string{}
	inLayout, mayCol := false, -1
	sc := bufio.NewScanner(bytes.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inLayout = line == "## Layout"
			continue
		}
		if !inLayout || !strings.HasPrefix(line, "|") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if mayCol < 0 {
			mayCol = slices.Index(cols, "may import")
			if mayCol < 0 {
				t.Fatalf("README.md's layout table has no \"may import\" column: %q", line)
			}
			continue
		}
		if len(cols) <= mayCol || strings.HasPrefix(cols[0], "---") {
			continue
		}
		folder := strings.TrimSuffix(strings.Trim(cols[0], "`"), "/")
		cells[folder] = cols[mayCol]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if mayCol < 0 {
		t.Fatal("README.md has no table under ## Layout")
	}
	for folder, r := range rules {
		cell, ok := cells[folder]
		if !ok {
			t.Errorf("README.md's layout table has no row for %s/", folder)
			continue
		}
		if want := render(r); cell != want {
			t.Errorf("README.md says %s/ may import %q; the rule is %q", folder, cell, want)
		}
	}
}
