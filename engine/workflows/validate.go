package workflows

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/internal/regfile"
)

// Problem is one thing wrong with a workflow definition.
type Problem struct {
	// Workflow is the workflow folder name, or "" for the folder itself.
	Workflow string `json:"workflow"`
	// Field is the file or field at fault, for example
	// metadata.json:phases[1].tasks[0].file.
	Field string `json:"field"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
}

// String formats p as "workflow: field: message".
func (p Problem) String() string {
	s := p.Message
	if p.Field != "" {
		s = p.Field + ": " + s
	}
	if p.Workflow != "" {
		s = p.Workflow + ": " + s
	}
	return s
}

// Validate lists every problem of every workflow in the folder dir, not
// only the first: missing required fields, fields of the wrong type, task
// files that do not exist, a total_phases that disagrees with the phases
// present, a workflow_type that differs from its folder name, and gate
// YAML that does not parse. An empty result means the folder is valid.
// Files are read through an os.Root on dir, so symlinks that lead outside
// it count as problems.
func Validate(dir string) []Problem {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return []Problem{{Field: dir, Message: fmt.Sprintf("cannot open the workflows folder: %v", err)}}
	}
	defer func() { _ = root.Close() }()
	return ValidateFS(regfile.FS(root))
}

// ValidateFS is Validate on a file system, such as BuiltinWorkflows().
func ValidateFS(fsys fs.FS) []Problem {
	names, err := Names(fsys)
	if err != nil {
		return []Problem{{Field: ".", Message: fmt.Sprintf("cannot list the workflows folder: %v", err)}}
	}
	if len(names) == 0 {
		return []Problem{{Field: ".", Message: "no workflow folders found; add <name>/metadata.json and <name>/phases/<N>/phase.md"}}
	}
	var out []Problem
	for _, name := range names {
		out = append(out, validateWorkflow(fsys, name)...)
	}
	return out
}

// JoinProblems formats ps on one line, each as Problem.String, separated
// by "; ".
func JoinProblems(ps []Problem) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// ValidateWorkflow lists the problems of the workflow folder name of
// fsys, as Validate finds them; an empty result means it is valid.
func ValidateWorkflow(fsys fs.FS, name string) []Problem {
	return validateWorkflow(fsys, name)
}

// validateWorkflow lists the problems of one workflow folder.
func validateWorkflow(fsys fs.FS, name string) []Problem {
	var out []Problem
	add := func(field, format string, args ...any) {
		out = append(out, Problem{Workflow: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	mdName := path.Join(name, MetadataFile)
	data, err := ReadFile(fsys, mdName, MaxMetadataBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			add(MetadataFile, "is missing; every workflow folder needs one")
		} else {
			add(MetadataFile, "cannot be read: %v", err)
		}
		return out
	}
	m, err := ParseMetadata(data)
	if err != nil {
		add(MetadataFile, "%s", metadataProblem(err))
		return out
	}
	for _, f := range m.missing {
		add(MetadataFile+":"+f, "required field is missing")
	}
	if m.WorkflowType != "" && m.WorkflowType != name {
		add(MetadataFile+":workflow_type", "is %q but the folder is %q; a workflow is started by its folder name, so make them equal", m.WorkflowType, name)
	}
	if len(m.Phases) == 0 {
		add(MetadataFile+":phases", "lists no phases; add at least one")
	}
	if !m.TotalPhases.Dynamic && m.TotalPhases.N != len(m.Phases) && !slices.Contains(m.missing, "total_phases") {
		add(MetadataFile+":total_phases", "is %d but phases lists %d; make them agree (or use \"dynamic\")", m.TotalPhases.N, len(m.Phases))
	}
	listed := make(map[int]bool)
	for i := range m.Phases {
		p := &m.Phases[i]
		pf := fmt.Sprintf("%s:phases[%d]", MetadataFile, i)
		if listed[p.PhaseNumber] {
			add(pf+".phase_number", "phase %d is listed twice", p.PhaseNumber)
			continue
		}
		listed[p.PhaseNumber] = true
		dir := path.Join(name, "phases", strconv.Itoa(p.PhaseNumber))
		if _, err := fs.Stat(fsys, path.Join(dir, PhaseFile)); err != nil {
			add(path.Join("phases", strconv.Itoa(p.PhaseNumber), PhaseFile), "is missing or unreadable (%v); every phase needs one", unwrapPath(err))
		}
		tasks := make(map[int]bool)
		for j, t := range p.Tasks {
			tf := fmt.Sprintf("%s.tasks[%d]", pf, j)
			if tasks[t.TaskNumber] {
				add(tf+".task_number", "task %d is listed twice in phase %d", t.TaskNumber, p.PhaseNumber)
			}
			tasks[t.TaskNumber] = true
			if t.File == "" {
				continue // reported as missing
			}
			if err := CheckTaskFile(t.File); err != nil {
				add(tf+".file", "%v", err)
				continue
			}
			fi, err := fs.Stat(fsys, path.Join(dir, t.File))
			switch {
			case err != nil:
				add(tf+".file", "task file %s does not exist in phases/%d (%v)", t.File, p.PhaseNumber, unwrapPath(err))
			case !fi.Mode().IsRegular():
				add(tf+".file", "task file %s in phases/%d is not a regular file", t.File, p.PhaseNumber)
			}
		}
		gateName := path.Join(dir, checkpoint.GateFile)
		gdata, err := ReadFile(fsys, gateName, checkpoint.MaxGateBytes)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// No gate: the phase is permissive. Allowed.
		case err != nil:
			add(path.Join("phases", strconv.Itoa(p.PhaseNumber), checkpoint.GateFile), "cannot be read: %v", err)
		default:
			src := path.Join("phases", strconv.Itoa(p.PhaseNumber), checkpoint.GateFile)
			if _, err := checkpoint.ParseGate(gdata, src); err != nil {
				add(src, "%s", gateProblem(err))
			}
		}
	}
	out = append(out, validateDynamic(fsys, name, m, listed)...)
	// Phase folders that metadata.json does not list.
	if entries, err := fs.ReadDir(fsys, path.Join(name, "phases")); err == nil {
		for _, en := range entries {
			n, err := strconv.Atoi(en.Name())
			if !en.IsDir() || err != nil || n < 0 || strconv.Itoa(n) != en.Name() {
				continue
			}
			if !listed[n] && !m.DynamicPhases { // a dynamic workflow may hold a spec phase's gate
				add(path.Join("phases", en.Name()), "folder is not listed in metadata.json phases; list it or remove it")
			}
		}
		if !m.TotalPhases.Dynamic && m.TotalPhases.N > 0 && countNumeric(entries) != m.TotalPhases.N {
			add(MetadataFile+":total_phases", "is %d but phases/ holds %d phase folders", m.TotalPhases.N, countNumeric(entries))
		}
	} else if len(m.Phases) > 0 {
		add("phases", "folder is missing or unreadable: %v", unwrapPath(err))
	}
	return out
}

func countNumeric(entries []fs.DirEntry) int {
	n := 0
	for _, e := range entries {
		if v, err := strconv.Atoi(e.Name()); e.IsDir() && err == nil && v >= 0 && strconv.Itoa(v) == e.Name() {
			n++
		}
	}
	return n
}

func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// metadataProblem returns what a ParseMetadata error says is wrong, under
// no file name: the Problem of its MetadataError.
func metadataProblem(err error) string {
	if me, ok := errors.AsType[*MetadataError](err); ok {
		return me.Problem()
	}
	return err.Error()
}

// gateProblem returns what a checkpoint.ParseGate error says is wrong,
// under no file name: the Problem of its GateError.
func gateProblem(err error) string {
	if ge, ok := errors.AsType[*checkpoint.GateError](err); ok {
		return ge.Problem()
	}
	return err.Error()
}
