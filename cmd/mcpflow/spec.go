package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/spec"
)

const specCheckDetails = `
Parses PATH, a spec folder holding tasks.md or a markdown file itself, as
spec_execution_v1 does when a session starts with options.spec_path, and
prints the plan a workflow would get: each phase with its tasks and its
validation gate. PATH is taken inside --root, as spec_path is; an
absolute PATH without --root, inside its own folder. Exits 1, naming the
line, when the spec does not parse, so it can run in CI.`

// specCmd runs "mcpflow spec SUBCOMMAND"; check is the one there is.
func specCmd(ctx context.Context, args []string, getenv env, stdout io.Writer) (*command, error) {
	c := newCommand("spec check", "PATH", "Check a spec's tasks.md and print the plan a workflow would get.", specCheckDetails)
	var (
		root   string
		asJSON bool
	)
	c.fs.StringVar(&root, "root", ".", "project `folder` PATH is in")
	c.fs.BoolVar(&asJSON, "json", false, "print the plan as JSON")
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "check":
		args = args[1:]
	case "-h", "--help", "-help", "help":
		args = []string{"--help"}
	case "":
		return newCommand("spec", "check PATH", "", ""), usagef("no subcommand; use mcpflow spec check PATH")
	default:
		return newCommand("spec", "check PATH", "", ""), usagef("unknown subcommand %q; use mcpflow spec check PATH", sub)
	}
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usagef("give one PATH, a spec folder or its tasks.md; got %d arguments", len(pos))
	}
	// PATH is found as spec_execution_v1 finds options.spec_path: by a
	// spec.Loader inside the project folder, opening regular files only.
	// An absolute PATH without --root is taken inside its own folder.
	path, rootFlag := pos[0], c.flagName("root")
	explicit := c.fromEnv["root"]
	c.fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "root" })
	if filepath.IsAbs(path) && !explicit {
		root, rootFlag = filepath.Dir(path), "PATH"
	}
	dir, err := existingDir(rootFlag, root)
	if err != nil {
		return c, err
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return c, fmt.Errorf("%s %s: %w", rootFlag, dir, err)
	}
	defer func() { _ = r.Close() }()
	l, err := spec.NewLoader(spec.LoaderConfig{FS: regfile.FS(r), Dir: dir})
	if err != nil {
		return c, err
	}
	defer l.Close()
	plan, err := l.Plan(ctx, path)
	if err != nil {
		return c, fmt.Errorf("PATH %s: %w", path, err)
	}
	source := plan.Source
	if filepath.IsAbs(path) {
		source = filepath.Join(dir, filepath.FromSlash(plan.Source))
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return c, enc.Encode(planJSON(source, plan))
	}
	writePlan(stdout, source, plan)
	return c, nil
}

// specPlan is the JSON of spec check.
type specPlan struct {
	Source string      `json:"source"`
	Phases []specPhase `json:"phases"`
}

type specPhase struct {
	Number         int        `json:"number"`
	Name           string     `json:"name"`
	Tasks          []specTask `json:"tasks"`
	ValidationGate []string   `json:"validation_gate"`
}

type specTask struct {
	ID     string `json:"id"`
	Number int    `json:"number"`
	Name   string `json:"name"`
}

func planJSON(source string, p *spec.Plan) specPlan {
	out := specPlan{Source: source, Phases: make([]specPhase, len(p.Phases))}
	for i := range p.Phases {
		ph := &p.Phases[i]
		sp := specPhase{Number: ph.Number, Name: ph.Name, Tasks: make([]specTask, len(ph.Tasks)), ValidationGate: ph.ValidationGate}
		if sp.ValidationGate == nil {
			sp.ValidationGate = []string{}
		}
		for j := range ph.Tasks {
			t := &ph.Tasks[j]
			sp.Tasks[j] = specTask{ID: t.ID(), Number: t.Number, Name: t.Name}
		}
		out.Phases[i] = sp
	}
	return out
}

func writePlan(w io.Writer, source string, p *spec.Plan) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d phase(s), %d task(s)\n", source, len(p.Phases), p.TaskCount())
	for i := range p.Phases {
		ph := &p.Phases[i]
		fmt.Fprintf(&b, "\nPhase %d: %s (line %d)\n", ph.Number, oneLine(ph.Name), ph.Line)
		for j := range ph.Tasks {
			t := &ph.Tasks[j]
			fmt.Fprintf(&b, "  %-5s %s", t.ID(), oneLine(t.Name))
			if t.EstimatedTime != "" {
				fmt.Fprintf(&b, " [%s]", oneLine(t.EstimatedTime))
			}
			b.WriteString("\n")
		}
		if len(ph.Tasks) == 0 {
			b.WriteString("  (no tasks)\n")
		}
		if len(ph.ValidationGate) == 0 {
			b.WriteString("  gate: none listed\n")
			continue
		}
		b.WriteString("  gate (evidence field in brackets, true when done):\n")
		for _, it := range ph.GateItems() {
			fmt.Fprintf(&b, "    - %s  [%s]\n", oneLine(it.Text), it.Field)
		}
	}
	_, _ = io.WriteString(w, b.String())
}
