package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
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
	// may lists, exactly, what the folder's non-test files import: a
	// package not listed may not be imported, and a package listed must
	// be, so that the list says the graph as it is intended and as it is.
	may []string
	// tests lists what its tests may import beyond may, the package itself
	// and the test-support packages.
	tests []string
	// testSupport marks a package that only tests may import.
	testSupport bool
}

// rules is the import graph allowed, by folder relative to the module root:
// an explicit allow list per package. docs/ARCHITECTURE.md's "may import"
// column is rendered from it (see render; -update rewrites the column).
var rules = map[string]rule{
	"cmd/mcpflow":                 {may: []string{"server", "engine/redisstore", "engine/filestore", "engine", "engine/workflows", "engine/state", "spec", "ragcache", "internal/regfile"}},
	"server":                      {may: []string{"server/internal/telemetry", "server/internal/transport", "dashboard", "engine", "engine/state", "checkpoint", "ragcache", "metrics", "internal/jsonnum"}, tests: []string{"engine/workflows", "engine/redisstore", "engine/filestore"}},
	"server/internal/telemetry":   {may: []string{"engine", "metrics"}},
	"server/internal/transport":   {may: []string{"internal/regfile"}},
	"dashboard":                   {may: []string{"engine", "engine/state", "ragcache", "metrics"}, tests: []string{"engine/filestore"}},
	"engine/redisstore":           {may: []string{"engine/state"}, tests: []string{"engine"}},
	"engine/filestore":            {may: []string{"engine/state", "metrics", "internal/regfile"}},
	"engine":                      {may: []string{"engine/filestore", "engine/workflows", "engine/state", "spec", "checkpoint", "shard", "metrics", "internal/filecache", "internal/regfile"}},
	"engine/workflows":            {may: []string{"engine/state", "spec", "checkpoint", "internal/jsonnum", "internal/regfile"}},
	"engine/state":                {may: []string{"internal/jsonvalue"}},
	"spec":                        {may: []string{"checkpoint", "shard", "metrics", "internal/filecache", "internal/mdnest", "internal/regfile"}},
	"checkpoint":                  {may: []string{"shard", "metrics", "internal/filecache", "internal/jsonnum", "internal/jsonvalue", "internal/regfile"}},
	"ragcache":                    {may: []string{"shard", "metrics", "internal/mdnest", "internal/regfile"}},
	"shard":                       {may: []string{"metrics"}},
	"metrics":                     {},
	"engine/storetest":            {may: []string{"engine/state", "internal/testutil"}, testSupport: true},
	"engine/redisstore/redistest": {testSupport: true},
	"internal/baseline":           {testSupport: true},
	"internal/testutil":           {testSupport: true},
	"internal/layering":           {},
	"internal/filecache":          {may: []string{"shard", "metrics", "internal/regfile"}},
	"internal/regfile":            {},
	"internal/mdnest":             {},
	"internal/jsonnum":            {},
	"internal/jsonvalue":          {},
	"fuzz":                        {tests: []string{"engine", "engine/workflows", "engine/state", "spec", "checkpoint", "ragcache", "shard"}},
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
			t.Errorf("%s has no import rule: add it to rules here and a row to docs/ARCHITECTURE.md's package table", folder)
			continue
		}
		imports := ours(p.Imports)
		for _, imp := range imports {
			if !slices.Contains(r.may, imp) {
				t.Errorf("%s imports %s; it may import %s", folder, imp, render(r))
			}
		}
		for _, imp := range r.may {
			if !slices.Contains(imports, imp) {
				t.Errorf("%s may import %s but does not: remove it from the rule (and run go test ./internal/layering -update)", folder, imp)
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

var update = flag.Bool("update", false, "rewrite the \"may import\" column of docs/ARCHITECTURE.md from rules")

// architecture is the document whose package table states the rules.
const architecture = "docs/ARCHITECTURE.md"

// TestArchitectureSaysTheRules checks that docs/ARCHITECTURE.md's package
// table (under "## Packages") has a row for every folder with a rule and
// that its "may import" cell says the rule. With -update it rewrites the
// cells from the rules instead.
func TestArchitectureSaysTheRules(t *testing.T) {
	file := filepath.Join(moduleRoot(t), architecture)
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]string{}
	inTable, mayCol := false, -1
	lines := strings.Split(string(doc), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "## ") {
			inTable = line == "## Packages"
			continue
		}
		if !inTable || !strings.HasPrefix(line, "|") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if mayCol < 0 {
			mayCol = slices.Index(cols, "may import")
			if mayCol < 0 {
				t.Fatalf("%s's package table has no \"may import\" column: %q", architecture, line)
			}
			continue
		}
		if len(cols) <= mayCol || strings.HasPrefix(cols[0], "---") {
			continue
		}
		folder := strings.TrimSuffix(strings.Trim(cols[0], "`"), "/")
		cells[folder] = cols[mayCol]
		if r, ok := rules[folder]; ok && *update {
			cols[mayCol] = render(r)
			lines[i] = "| " + strings.Join(cols, " | ") + " |"
		}
	}
	if mayCol < 0 {
		t.Fatalf("%s has no table under ## Packages", architecture)
	}
	if *update {
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for folder, r := range rules {
		cell, ok := cells[folder]
		if !ok {
			t.Errorf("%s's package table has no row for %s/", architecture, folder)
			continue
		}
		if want := render(r); cell != want {
			t.Errorf("%s says %s/ may import %q; the rule is %q (go test ./internal/layering -update rewrites it)", architecture, folder, cell, want)
		}
	}
}
