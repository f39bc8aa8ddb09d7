package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"unicode"

	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/regfile"
)

const workflowsDetails = `
Lists the workflows in DIR (default: --workflows, else
<root>/.mcpflow/workflows, else <root>/.praxis-os/workflows in a prAxIs OS
project without .mcpflow, else the built-in samples) and checks every
definition: metadata.json, phase files, task files and gate definitions. A
workflow with problems is marked BROKEN: the server refuses to start it.
Exits 1 if any problem is found, so it can run in CI.`

// errProblems makes main exit 1 without printing anything more: the
// problems are already printed.
var errProblems = errors.New("problems found")

func workflowsCmd(_ context.Context, args []string, getenv env, stdout, _ io.Writer) (*command, error) {
	c := newCommand("workflows", "[DIR]", "List and validate workflow definitions.", workflowsDetails)
	var (
		f      folderFlags
		asJSON bool
	)
	c.fs.StringVar(&f.root, "root", ".", "project `folder` holding .mcpflow/workflows (or a prAxIs OS project's .praxis-os/workflows)")
	c.fs.StringVar(&f.workflows, "workflows", "", "workflows `folder` (same as DIR)")
	c.fs.BoolVar(&asJSON, "json", false, "print the workflows and problems as JSON")
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	switch len(pos) {
	case 0:
	case 1:
		if f.workflows != "" && f.workflows != pos[0] {
			return c, usagef("DIR %s and --workflows %s disagree; give one", pos[0], f.workflows)
		}
		f.workflows = pos[0]
	default:
		return c, usagef("one DIR at most, got %d arguments", len(pos))
	}
	flagName := "--workflows"
	if len(pos) == 1 {
		flagName = "DIR"
	}
	if f.workflows != "" {
		if f.workflows, err = existingDir(flagName, f.workflows); err != nil {
			return c, err
		}
	}
	dirs, err := f.resolve(false)
	if err != nil {
		return c, err
	}

	var (
		problems []workflows.Problem
		fsys     fs.FS
	)
	if dirs.workflows == "" {
		fsys = workflows.BuiltinWorkflows()
		problems = workflows.ValidateFS(fsys)
	} else {
		problems = workflows.Validate(dirs.workflows)
		root, err := os.OpenRoot(dirs.workflows)
		if err != nil {
			return c, fmt.Errorf("%s %s: %w", flagName, show(dirs.workflows), err)
		}
		defer func() { _ = root.Close() }()
		fsys = regfile.FS(root)
	}
	list, err := workflows.List(fsys)
	if err != nil {
		return c, fmt.Errorf("%s %s: workflows folder: %w", flagName, show(dirs.workflows), err)
	}

	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if problems == nil {
			problems = []workflows.Problem{}
		}
		if err := enc.Encode(map[string]any{"folder": show(dirs.workflows), "workflows": list, "problems": problems}); err != nil {
			return c, err
		}
	} else {
		writeWorkflows(stdout, show(dirs.workflows), list, problems)
	}
	if len(problems) > 0 {
		return c, errProblems
	}
	return c, nil
}

func writeWorkflows(w io.Writer, folder string, list []workflows.Info, problems []workflows.Problem) {
	var b strings.Builder
	fmt.Fprintf(&b, "Workflows in %s:\n", folder)
	for i := range list {
		wf := &list[i]
		name := wf.WorkflowType
		if name == "" {
			name = wf.Name
		}
		fmt.Fprintf(&b, "  %s", oneLine(name))
		if wf.Version != "" {
			fmt.Fprintf(&b, " v%s", oneLine(strings.TrimPrefix(wf.Version, "v")))
		}
		fmt.Fprintf(&b, " — %s phases", wf.TotalPhases)
		if d := oneLine(wf.Description); d != "" {
			fmt.Fprintf(&b, " — %s", d)
		}
		if n := len(wf.Problems); n > 0 {
			fmt.Fprintf(&b, " [BROKEN: %d problem(s) below; it cannot be started]", n)
		}
		b.WriteString("\n")
	}
	if len(list) == 0 {
		b.WriteString("  (none)\n")
	}
	if len(problems) == 0 {
		fmt.Fprintf(&b, "%d workflow(s), no problems.\n", len(list))
	} else {
		fmt.Fprintf(&b, "%d problem(s):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(&b, "  %s\n", oneLine(p.String()))
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// oneLine folds s onto one line: a description written over several
// lines (or with control characters) keeps the listing one line per
// workflow.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// logBrokenWorkflows warns, at startup, of each workflow in dir that has
// problems: start_workflow refuses it until it is fixed.
func logBrokenWorkflows(log *slog.Logger, dir string) {
	if dir == "" {
		return // the built-in samples are checked by their tests
	}
	byName := map[string][]string{}
	var order []string
	for _, p := range workflows.Validate(dir) {
		if _, seen := byName[p.Workflow]; !seen {
			order = append(order, p.Workflow)
		}
		byName[p.Workflow] = append(byName[p.Workflow], p.String())
	}
	for _, name := range order {
		ps := byName[name]
		if name == "" {
			log.Warn("the workflows folder has problems", "folder", dir, "problem", ps[0])
			continue
		}
		log.Warn("workflow is broken and cannot be started; mcpflow workflows lists its problems",
			"workflow", name, "problems", len(ps), "first", ps[0])
	}
}
