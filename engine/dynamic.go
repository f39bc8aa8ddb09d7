package engine

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/spec"
)

// flow is a workflow as one session sees it: metadata.json's phases and,
// for a dynamic workflow, the phases of the session's spec.
type flow struct {
	m    *workflows.Metadata
	name checkpoint.WorkflowName
	// plan is the spec's plan, nil for a static workflow; specPath is the
	// spec as the session names it.
	plan     *spec.Plan
	specPath string
}

// optionsOf returns the Start options stored in a session's state.
func optionsOf(st *state.SessionState) map[string]any {
	opts, _ := st.Metadata["options"].(map[string]any)
	return opts
}

// loadFlow reads workflow name's metadata.json and, for a dynamic
// workflow, the plan of the spec that opts names; where is what errors
// call opts ("options" for Start's, "metadata" for a prAxIs OS session's).
func (e *Engine) loadFlow(ctx context.Context, name checkpoint.WorkflowName, opts map[string]any, where string) (*flow, error) {
	m, err := e.metadata(ctx, name)
	if err != nil {
		return nil, err
	}
	f := &flow{m: m, name: name}
	if !m.DynamicPhases {
		return f, nil
	}
	c := m.DynamicConfig
	key := where + "." + c.SourcePathKey
	raw, given := opts[c.SourcePathKey]
	sp, isStr := raw.(string)
	switch {
	case given && !isStr:
		return nil, state.Errorf(state.ErrInvalidArgument, "%s must be a string: the spec folder, for example .praxis-os/specs/2025-10-13-my-feature", key)
	case !given && c.ExampleSpec != "":
		if err := workflows.CheckTaskFile(c.ExampleSpec); err != nil {
			return nil, state.Errorf(state.ErrCorrupt, "workflow %s: dynamic_config.example_spec: %w", name, err)
		}
		f.specPath = path.Join(name.String(), c.ExampleSpec)
		f.plan, err = e.examples.Plan(ctx, f.specPath)
		if err != nil {
			return nil, state.Errorf(state.ErrCorrupt, "workflow %s: example spec: %w", name, err)
		}
	case !given:
		return nil, state.Errorf(state.ErrInvalidArgument, "%s is required: workflow %s takes its phases from a spec's tasks.md; pass the spec folder, for example {\"%s\": \".praxis-os/specs/2025-10-13-my-feature\"}", key, name, c.SourcePathKey)
	case e.specs == nil:
		return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: key, Problem: "no project folder is configured to find specs in", Err: state.ErrNoProjectFolder}
	default:
		f.specPath = sp
		if f.plan, err = e.specs.Plan(ctx, sp); err != nil {
			if errors.Is(err, spec.ErrNotFound) {
				return nil, &state.FieldError{Kind: state.ErrInvalidArgument, Field: key, Value: state.Quote(sp), Problem: "names no spec", Err: err}
			}
			if errors.Is(err, spec.ErrInvalidSpec) {
				return nil, state.Errorf(state.ErrInvalidArgument, "%s: %w; fix the spec's tasks.md", key, err)
			}
			return nil, state.Errorf(state.ErrInvalidArgument, "%s: %w", key, err)
		}
	}
	for i := range f.plan.Phases {
		p := &f.plan.Phases[i]
		if _, ok := m.Phase(p.Number); ok {
			return nil, state.Errorf(state.ErrInvalidArgument, "%s: %s line %d: Phase %d is a static phase of workflow %s; number the spec's phases after it", key, f.plan.Source, p.Line, p.Number, name)
		}
	}
	return f, nil
}

// flowOf is loadFlow for an existing session, whose workflow_type wf
// holds parsed. A session mcpflow started keeps its Start options under
// metadata "options"; one prAxIs OS started keeps them in metadata itself
// (metadata.spec_path).
//
// A session whose spec is not where it names any more fails with a
// FieldError of kind ErrSpecMissing naming that field: the session is
// intact, its spec moved.
func (e *Engine) flowOf(ctx context.Context, wf stateWorkflow, st *state.SessionState) (*flow, error) {
	opts, where := optionsOf(st), "options"
	if opts == nil {
		opts, where = st.Metadata, "metadata"
	}
	// wf is st's workflow_type, parsed where the state entered the
	// engine; a bad one fails every call that needs the workflow, as a
	// corrupt state (below).
	var f *flow
	wf = wf.of(st)
	err := wf.err
	if err == nil {
		f, err = e.loadFlow(ctx, wf.name, opts, where)
	}
	if fe, ok := errors.AsType[*state.FieldError](err); ok && errors.Is(err, spec.ErrNotFound) {
		return nil, &state.FieldError{Kind: state.ErrSpecMissing, Field: fe.Field, Value: fe.Value,
			Problem: "session " + st.SessionID + " runs the spec at this path, and it is not there any more (moved or deleted)"}
	}
	if err != nil && errors.Is(err, state.ErrInvalidArgument) {
		// The spec was valid at Start: for the session, it is now corrupt.
		return nil, state.Errorf(state.ErrCorrupt, "session %s: %w", st.SessionID, err)
	}
	return f, err
}

// order returns the phase numbers in ascending order.
func (f *flow) order() []int {
	nums := f.m.Order()
	if f.plan != nil {
		for i := range f.plan.Phases {
			nums = append(nums, f.plan.Phases[i].Number)
		}
		slices.Sort(nums)
		nums = slices.Compact(nums)
	}
	return nums
}

// next returns the phase after n.
func (f *flow) next(n int) (int, bool) {
	for _, p := range f.order() {
		if p > n {
			return p, true
		}
	}
	return 0, false
}

// dynamicPhase returns phase n of the spec, if n is one of its phases.
func (f *flow) dynamicPhase(n int) (*spec.Phase, bool) {
	if f.plan == nil {
		return nil, false
	}
	return f.plan.Phase(n)
}

// has reports whether n is a phase of the flow.
func (f *flow) has(n int) bool {
	if _, ok := f.m.Phase(n); ok {
		return true
	}
	_, ok := f.dynamicPhase(n)
	return ok
}

// template reads one of the workflow's dynamic templates.
func (e *Engine) template(f *flow, which, file string) (string, error) {
	if err := workflows.CheckTaskFile(file); err != nil {
		return "", state.Errorf(state.ErrCorrupt, "workflow %s: dynamic_config.templates.%s: %w", f.name, which, err)
	}
	data, err := workflows.ReadFile(e.wfFS, path.Join(f.name.String(), file), workflows.MaxContentBytes)
	if err != nil {
		return "", state.Errorf(state.ErrCorrupt, "workflow %s: %s template %s cannot be read (%w); add the file or fix dynamic_config.templates.%s", f.name, which, file, err, which)
	}
	return string(data), nil
}

// content returns phase n's content: phase.md for a static phase, the
// rendered phase template for a spec's phase.
func (e *Engine) phaseText(f *flow, n int) (*PhaseContent, error) {
	ph, ok := f.dynamicPhase(n)
	if !ok {
		return e.phaseContent(f.m, f.name.String(), n)
	}
	tmpl, err := e.template(f, "phase", f.m.DynamicConfig.Templates.Phase)
	if err != nil {
		return nil, err
	}
	pc := &PhaseContent{
		Phase:     n,
		PhaseName: ph.Name,
		Purpose:   firstLine(ph.Objective),
		Content:   spec.Render(tmpl, f.plan.PhaseVars(ph, f.specPath)),
		Tasks:     make([]TaskInfo, 0, len(ph.Tasks)),
		// A copy: the plan is shared by every session of the spec.
		ValidationGate: append([]string{}, ph.ValidationGate...),
		Source:         SourceDynamic,
	}
	for i := range ph.Tasks {
		t := &ph.Tasks[i]
		pc.Tasks = append(pc.Tasks, TaskInfo{
			TaskNumber: t.Number, Name: t.Name, File: f.plan.Source, Purpose: firstLine(t.Description),
			EstimatedTime: t.EstimatedTime, Dependencies: t.DependencyIDs(),
		})
	}
	return pc, nil
}

// task returns task number of phase n: from metadata.json and its file for
// a static phase, the rendered task template for a spec's phase.
func (e *Engine) task(f *flow, n, number int) (*TaskView, error) {
	ph, ok := f.dynamicPhase(n)
	if !ok {
		return e.staticTask(f.m, f.name.String(), n, number)
	}
	t, ok := ph.Task(number)
	if !ok {
		nums := make([]int, len(ph.Tasks))
		for i := range ph.Tasks {
			nums[i] = ph.Tasks[i].Number
		}
		return nil, state.Errorf(state.ErrNotFound, "task_number %d is not in phase %d; its tasks are %v (Task %d.M of %s is task_number M)", number, n, nums, n, f.plan.Source)
	}
	tmpl, err := e.template(f, "task", f.m.DynamicConfig.Templates.Task)
	if err != nil {
		return nil, err
	}
	return &TaskView{
		WorkflowType:  f.name.String(),
		Phase:         n,
		TaskNumber:    number,
		Name:          t.Name,
		File:          f.plan.Source,
		Purpose:       firstLine(t.Description),
		Content:       spec.Render(tmpl, f.plan.TaskVars(ph, t, f.specPath)),
		EstimatedTime: t.EstimatedTime,
		Dependencies:  t.DependencyIDs(),
		Source:        SourceDynamic,
		Steps:         []Step{},
	}, nil
}

// staticTask returns task number of static phase n.
func (e *Engine) staticTask(m *workflows.Metadata, workflow string, n, number int) (*TaskView, error) {
	pd, ok := m.Phase(n)
	if !ok {
		return nil, state.Errorf(state.ErrNotFound, "phase %d is not in workflow %s any more; its metadata.json changed", n, workflow)
	}
	var td *workflows.TaskDef
	nums := make([]int, 0, len(pd.Tasks))
	for i := range pd.Tasks {
		nums = append(nums, pd.Tasks[i].TaskNumber)
		if pd.Tasks[i].TaskNumber == number && td == nil {
			td = &pd.Tasks[i]
		}
	}
	if td == nil {
		return nil, state.Errorf(state.ErrNotFound, "task_number %d is not in phase %d; its tasks are %v", number, n, nums)
	}
	text, err := workflows.ReadTaskFile(e.wfFS, workflow, n, td.File)
	if err != nil {
		return nil, err
	}
	return &TaskView{
		WorkflowType: workflow, Phase: n, TaskNumber: number, Name: td.Name, File: td.File, Purpose: td.Purpose, Content: text,
		Dependencies: []string{}, Source: SourceFile, Steps: Steps(text),
	}, nil
}

// gate returns phase n's gate. A spec's phase takes its gate from
// phases/<n>/gate-definition.yaml when the workflow has one, and otherwise
// from the phase's validation-gate list.
func (e *Engine) gate(ctx context.Context, f *flow, n int) (*checkpoint.Gate, error) {
	g, err := e.gates.Gate(ctx, f.name, n)
	if err != nil {
		return nil, err
	}
	if ph, ok := f.dynamicPhase(n); ok && g.Permissive {
		return ph.Gate(f.plan.Source + "#phase-" + strconv.Itoa(n)), nil
	}
	return g, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "..."
	}
	return s
}

// openSpecs opens the project folder and the spec loaders.
func (e *Engine) openSpecs(cfg Config) error {
	var err error
	e.examples, err = spec.NewLoader(spec.LoaderConfig{FS: e.wfFS, Recheck: cfg.GateRecheck, Clock: cfg.Clock, Logger: e.logger})
	if err != nil {
		return err
	}
	if cfg.ProjectDir == "" {
		return nil
	}
	dir, err := filepath.Abs(cfg.ProjectDir)
	if err == nil {
		e.projRoot, err = os.OpenRoot(dir)
	}
	if err != nil {
		return state.Errorf(state.ErrNotFound, "Config.ProjectDir %s cannot be opened (%w); point it at the project folder", cfg.ProjectDir, err)
	}
	e.specs, err = spec.NewLoader(spec.LoaderConfig{FS: regfile.FS(e.projRoot), Dir: dir, Recheck: cfg.GateRecheck, Clock: cfg.Clock, Logger: e.logger})
	return err
}

// closeSpecs releases what openSpecs opened.
func (e *Engine) closeSpecs() error {
	if e.examples != nil {
		e.examples.Close()
	}
	if e.specs != nil {
		e.specs.Close()
	}
	if e.projRoot != nil {
		return e.projRoot.Close()
	}
	return nil
}

// specMetrics adds the spec plan caches' counters to out: the project's
// specs as "specs", the workflows' example specs as "example_specs".
func (e *Engine) specMetrics(out map[string]metrics.Snapshot) {
	if e.examples != nil {
		out["example_specs"] = e.examples.Metrics()
	}
	if e.specs != nil {
		out["specs"] = e.specs.Metrics()
	}
}
