package spec

import (
	"strconv"
	"strings"
)

// GateItem is one item of a phase's validation gate with the evidence
// field that stands for it.
type GateItem struct {
	// Field is the evidence field's name, derived from Text by FieldName.
	Field string
	Text  string
}

// GateItems returns the phase's validation-gate items with their evidence
// field names, unique within the phase.
func (ph *Phase) GateItems() []GateItem {
	out := make([]GateItem, 0, len(ph.ValidationGate))
	used := map[string]int{}
	for _, it := range ph.ValidationGate {
		name := FieldName(it)
		used[name]++
		if n := used[name]; n > 1 {
			name += "_" + strconv.Itoa(n)
		}
		out = append(out, GateItem{Field: name, Text: it})
	}
	return out
}

// maxFieldName bounds FieldName's result.
const maxFieldName = 48

// FieldName turns a gate item's text into an evidence field name: its
// letters and digits, lower case, runs of anything else as one '_', at
// most 48 bytes. Text without a letter or digit gives "item".
func FieldName(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		ok := 'a' <= r && r <= 'z' || '0' <= r && r <= '9'
		if !ok {
			sep = b.Len() > 0
			continue
		}
		if b.Len() >= maxFieldName {
			break
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "item"
	}
	return strings.TrimRight(b.String(), "_")
}

// Placeholders of phase and task templates. Render replaces each one in
// brackets, for example [PHASE_NAME]; any other bracketed text is left as
// it is.
const (
	PhPhaseNumber       = "PHASE_NUMBER"
	PhPhaseName         = "PHASE_NAME"
	PhPhaseDescription  = "PHASE_DESCRIPTION" // the phase's objective
	PhPhaseObjective    = "PHASE_OBJECTIVE"   // the same
	PhEstimatedDuration = "ESTIMATED_DURATION"
	PhPhaseDependencies = "PHASE_DEPENDENCIES"
	PhTaskCount         = "TASK_COUNT"
	PhTaskList          = "TASK_LIST"
	PhValidationGate    = "VALIDATION_GATE" // checklist, one evidence field each
	PhTotalPhases       = "TOTAL_PHASES"
	PhNextPhaseNumber   = "NEXT_PHASE_NUMBER"
	PhSpecPath          = "SPEC_PATH"

	PhTaskID             = "TASK_ID" // "N.M"
	PhTaskNumber         = "TASK_NUMBER"
	PhTaskName           = "TASK_NAME"
	PhTaskDescription    = "TASK_DESCRIPTION"
	PhAcceptanceCriteria = "ACCEPTANCE_CRITERIA"
	PhDependencies       = "DEPENDENCIES"
	PhEstimatedTime      = "ESTIMATED_TIME"
	PhPriority           = "PRIORITY"
	PhNextTaskNumber     = "NEXT_TASK_NUMBER"
)

// PhaseVars returns the placeholder values of phase n of the plan. spec
// is the spec's path as the agent should see it.
func (p *Plan) PhaseVars(ph *Phase, spec string) map[string]string {
	next := "none (this is the last phase)"
	for i := range p.Phases {
		if p.Phases[i].Number == ph.Number && i+1 < len(p.Phases) {
			next = strconv.Itoa(p.Phases[i+1].Number)
		}
	}
	var tasks strings.Builder
	for i := range ph.Tasks {
		t := &ph.Tasks[i]
		tasks.WriteString("- Task " + t.ID() + ": " + t.Name + " (get_task task_number " + strconv.Itoa(t.Number) + ")\n")
	}
	return map[string]string{
		PhPhaseNumber:       strconv.Itoa(ph.Number),
		PhPhaseName:         ph.Name,
		PhPhaseDescription:  orNone(ph.Objective, "(tasks.md gives no objective)"),
		PhPhaseObjective:    orNone(ph.Objective, "(tasks.md gives no objective)"),
		PhEstimatedDuration: orNone(ph.EstimatedDuration, "not estimated"),
		PhPhaseDependencies: orNone(ph.Dependencies, "None"),
		PhTaskCount:         strconv.Itoa(len(ph.Tasks)),
		PhTaskList:          orNone(strings.TrimSuffix(tasks.String(), "\n"), "(this phase has no tasks)"),
		PhValidationGate:    gateList(ph.GateItems()),
		PhTotalPhases:       strconv.Itoa(len(p.Phases)),
		PhNextPhaseNumber:   next,
		PhSpecPath:          spec,
	}
}

// TaskVars returns the placeholder values of task t of phase ph: the
// phase's values and the task's.
func (p *Plan) TaskVars(ph *Phase, t *Task, spec string) map[string]string {
	v := p.PhaseVars(ph, spec)
	next := "none (this is the phase's last task: complete the phase next)"
	for i := range ph.Tasks {
		if ph.Tasks[i].Number == t.Number && i+1 < len(ph.Tasks) {
			next = strconv.Itoa(ph.Tasks[i+1].Number)
		}
	}
	criteria := make([]string, len(t.AcceptanceCriteria))
	for i, c := range t.AcceptanceCriteria {
		criteria[i] = "- [ ] " + c
	}
	if len(t.ValidationGate) > 0 {
		items := make([]string, len(t.ValidationGate))
		for i, g := range t.ValidationGate {
			items[i] = "- [ ] " + g
		}
		v[PhValidationGate] = strings.Join(items, "\n") + "\n\nThe phase's gate:\n" + v[PhValidationGate]
	}
	v[PhTaskID] = t.ID()
	v[PhTaskNumber] = strconv.Itoa(t.Number)
	v[PhTaskName] = t.Name
	v[PhTaskDescription] = orNone(t.Description, "(tasks.md gives no description)")
	v[PhAcceptanceCriteria] = orNone(strings.Join(criteria, "\n"), "(tasks.md lists no acceptance criteria)")
	v[PhDependencies] = orNone(t.Dependencies, "None")
	v[PhEstimatedTime] = orNone(t.EstimatedTime, "not estimated")
	v[PhPriority] = orNone(t.Priority, "not set")
	v[PhNextTaskNumber] = next
	return v
}

func gateList(items []GateItem) string {
	if len(items) == 0 {
		return "(tasks.md lists no validation gate for this phase: complete_phase accepts any evidence)"
	}
	var b strings.Builder
	b.WriteString("Submit each item as a boolean evidence field set to true:\n")
	for _, it := range items {
		b.WriteString("- [ ] `" + it.Field + "`: " + it.Text + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func orNone(s, none string) string {
	if strings.TrimSpace(s) == "" {
		return none
	}
	return s
}

// Render replaces every "[NAME]" of tmpl whose NAME is a key of vars with
// its value, in one pass: a value that contains a placeholder is not
// expanded again.
func Render(tmpl string, vars map[string]string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "["+k+"]", v)
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}
