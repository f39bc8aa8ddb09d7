package workflows

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/spec"
)

// DynamicConfig is metadata.json's dynamic_config: where a dynamic
// workflow's phases come from and how they are shown.
type DynamicConfig struct {
	// SourceType is prAxIs OS's source_type, for example spec_tasks_md;
	// mcpflow reads a spec's tasks.md whatever it says.
	SourceType string `json:"source_type"`
	// SourcePathKey is the Start option that names the spec,
	// "spec_path" by default.
	SourcePathKey string `json:"source_path_key"`
	// Templates are the phase and task templates, relative to the
	// workflow folder, for example phases/dynamic/phase-template.md.
	Templates DynamicTemplates `json:"templates"`
	// Parser is prAxIs OS's parser name, spec_tasks_parser.
	Parser string `json:"parser"`
	// ExampleSpec is an mcpflow addition: a tasks.md inside the workflow
	// folder used when Start is given no spec, so that the built-in
	// sample can be tried without a project.
	ExampleSpec string `json:"example_spec,omitempty"`
}

// DynamicTemplates names the templates of a dynamic workflow.
type DynamicTemplates struct {
	Phase string `json:"phase"`
	Task  string `json:"task"`
}

// The parser and source type mcpflow implements.
const (
	specParser     = "spec_tasks_parser"
	defaultPathKey = "spec_path"
)

// rangePhase matches the phase_number of the metadata entry that stands for
// the dynamic phases, such as "1-N".
var rangePhase = regexp.MustCompile(`^\s*\d+\s*-\s*[Nn]\s*$`)

// dynamic reads dynamic_phases and dynamic_config into m.
func (d *decoder) dynamic(m *Metadata) {
	if v, ok := d.take("dynamic_phases", false); ok {
		b, isBool := v.(bool)
		if !isBool {
			d.fail("dynamic_phases", fmt.Errorf("must be true or false, got %s", describeJSON(v)))
		}
		m.DynamicPhases = b
	}
	v, ok := d.take("dynamic_config", m.DynamicPhases)
	if !ok {
		return
	}
	sub := d.sub("dynamic_config", v, "an object with source_path_key, templates and parser")
	if sub == nil {
		return
	}
	c := &DynamicConfig{}
	sub.str("source_type", &c.SourceType, false)
	sub.str("source_path_key", &c.SourcePathKey, false)
	sub.str("parser", &c.Parser, false)
	sub.str("example_spec", &c.ExampleSpec, false)
	if tv, ok := sub.take("templates", true); ok {
		if ts := sub.sub("templates", tv, "an object with phase and task"); ts != nil {
			ts.str("phase", &c.Templates.Phase, true)
			ts.str("task", &c.Templates.Task, true)
			sub.merge(ts)
		}
	}
	if c.SourcePathKey == "" {
		c.SourcePathKey = defaultPathKey
	}
	if c.Parser != "" && c.Parser != specParser {
		sub.fail("parser", fmt.Errorf("is %s; mcpflow implements only %q", describeJSON(c.Parser), specParser))
	}
	d.merge(sub)
	m.DynamicConfig = c
}

// isRangePhase reports whether v, an entry of a dynamic workflow's phases,
// stands for the dynamic phases ("phase_number": "1-N"). Such an entry
// describes the phases a spec brings and is not a phase itself.
func isRangePhase(v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	s, ok := obj["phase_number"].(string)
	return ok && rangePhase.MatchString(s)
}

// validateDynamic lists the problems of a dynamic workflow's templates,
// example spec, and gate files of the phases a spec brings (the numbered
// phase folders metadata.json does not list).
func validateDynamic(fsys fs.FS, name string, m *Metadata, listed map[int]bool) []Problem {
	c := m.DynamicConfig
	if !m.DynamicPhases || c == nil {
		return nil
	}
	var out []Problem
	add := func(field, format string, args ...any) {
		out = append(out, Problem{Workflow: name, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, t := range []struct{ which, file string }{{"phase", c.Templates.Phase}, {"task", c.Templates.Task}} {
		field := MetadataFile + ":dynamic_config.templates." + t.which
		if t.file == "" {
			continue // reported as missing
		}
		if err := CheckTaskFile(t.file); err != nil {
			add(field, "%v", err)
			continue
		}
		if _, err := ReadFile(fsys, path.Join(name, t.file), MaxContentBytes); err != nil {
			add(field, "template %s cannot be read (%v); add it", t.file, unwrapPath(err))
		}
	}
	if c.ExampleSpec != "" {
		field := MetadataFile + ":dynamic_config.example_spec"
		if err := CheckTaskFile(c.ExampleSpec); err != nil {
			add(field, "%v", err)
		} else if data, err := ReadFile(fsys, path.Join(name, c.ExampleSpec), spec.MaxTasksBytes); err != nil {
			add(field, "%s cannot be read (%v)", c.ExampleSpec, unwrapPath(err))
		} else if _, err := spec.Parse(data, c.ExampleSpec); err != nil {
			add(field, "%s", specProblem(err))
		}
	}
	entries, err := fs.ReadDir(fsys, path.Join(name, "phases"))
	if err != nil {
		return out
	}
	for _, en := range entries {
		n, err := strconv.Atoi(en.Name())
		if !en.IsDir() || err != nil || n < 0 || strconv.Itoa(n) != en.Name() || listed[n] {
			continue
		}
		src := path.Join("phases", en.Name(), checkpoint.GateFile)
		data, err := ReadFile(fsys, path.Join(name, src), checkpoint.MaxGateBytes)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			add(path.Join("phases", en.Name()), "folder holds no %s; in a dynamic workflow a phase folder beyond the listed ones only holds a spec phase's gate", checkpoint.GateFile)
		case err != nil:
			add(src, "cannot be read: %v", err)
		default:
			if _, err := checkpoint.ParseGate(data, src); err != nil {
				add(src, "%s", gateProblem(err))
			}
		}
	}
	return out
}

// specProblem returns what a spec.Parse error says is wrong, after the
// file's name: "<source>: <problem>".
func specProblem(err error) string {
	if pe, ok := errors.AsType[*spec.ParseError](err); ok {
		return pe.Source + ": " + pe.Err.Error()
	}
	return err.Error()
}
