package workflows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/jsonnum"
)

// MaxMetadataBytes is the largest metadata.json ParseMetadata accepts.
const MaxMetadataBytes = 1 << 20

// Metadata is a workflow's metadata.json.
type Metadata struct {
	WorkflowType      string      `json:"workflow_type"`
	Version           string      `json:"version"`
	Name              string      `json:"name,omitempty"`
	Description       string      `json:"description,omitempty"`
	TotalPhases       TotalPhases `json:"total_phases"`
	EstimatedDuration string      `json:"estimated_duration"`
	PrimaryOutputs    []string    `json:"primary_outputs"`
	Phases            []PhaseDef  `json:"phases"`
	// DynamicPhases and DynamicConfig are set for a workflow whose phases
	// after the static ones come from a spec's tasks.md (dynamic.go).
	DynamicPhases bool           `json:"dynamic_phases,omitempty"`
	DynamicConfig *DynamicConfig `json:"dynamic_config,omitempty"`
	// Category is the optional "category" string prAxIs OS filters
	// list_workflows by ("" when absent or not a string).
	Category string `json:"category,omitempty"`
	// Approval is the default of the workflow's gates that do not set
	// their own: "required" makes every phase wait for a human's
	// approval once its evidence passes; "" or "none" does not.
	Approval string `json:"approval,omitempty"`
	// Raw is the file's JSON object as written, every key included
	// (numbers as json.Number); it must not be modified.
	Raw map[string]any `json:"-"`

	// missing lists the required fields absent from the file, for
	// Validate; ParseMetadata does not fail on them.
	missing []string
}

// PhaseDef is one entry of metadata.json's phases.
type PhaseDef struct {
	PhaseNumber        int       `json:"phase_number"`
	PhaseName          string    `json:"phase_name"`
	Purpose            string    `json:"purpose"`
	EstimatedEffort    string    `json:"estimated_effort"`
	KeyDeliverables    []string  `json:"key_deliverables"`
	ValidationCriteria []string  `json:"validation_criteria"`
	Tasks              []TaskDef `json:"tasks"`
}

// TaskDef is one entry of a phase's tasks.
type TaskDef struct {
	TaskNumber int    `json:"task_number"`
	Name       string `json:"name"`
	File       string `json:"file"`
	Purpose    string `json:"purpose,omitempty"`
}

// TotalPhases is metadata.json's total_phases: a count, or "dynamic" when
// the number of phases is not fixed in advance.
type TotalPhases struct {
	N       int
	Dynamic bool
}

// MarshalJSON writes the count, or "dynamic".
func (t TotalPhases) MarshalJSON() ([]byte, error) {
	if t.Dynamic {
		return []byte(`"dynamic"`), nil
	}
	return strconv.AppendInt(nil, int64(t.N), 10), nil
}

// UnmarshalJSON reads a whole number of zero or more, or "dynamic".
func (t *TotalPhases) UnmarshalJSON(b []byte) error {
	v, err := parseTotalPhases(b)
	if err != nil {
		return fmt.Errorf("total_phases: %w", err)
	}
	*t = v
	return nil
}

// String returns the count or "dynamic".
func (t TotalPhases) String() string {
	if t.Dynamic {
		return "dynamic"
	}
	return strconv.Itoa(t.N)
}

func parseTotalPhases(b []byte) (TotalPhases, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return TotalPhases{}, fmt.Errorf(`must be a whole number or "dynamic", got %s`, short(b))
	}
	return totalPhasesOf(v)
}

// ErrMetadata is wrapped by every error ParseMetadata returns; it is also
// matched by ErrCorrupt through errors.Is.
var ErrMetadata = state.Errorf(state.ErrCorrupt, "metadata.json")

// MetadataError is the error of a metadata.json that does not decode:
// every error ParseMetadata returns is one. errors.Is matches ErrMetadata
// (and so state.ErrCorrupt) and Err; errors.As finds the MetadataError, so
// that a caller can show Problem under a name of its own for the file.
type MetadataError struct {
	// Field is the path of the field at fault, for example
	// phases[2].phase_number, or "(file)" for the file as a whole.
	Field string
	// Err says what is wrong with it.
	Err error
}

// Problem returns "<field>: <what is wrong>".
func (e *MetadataError) Problem() string { return e.Field + ": " + e.Err.Error() }

// Error returns "engine: corrupt: metadata.json: <field>: <what is wrong>".
func (e *MetadataError) Error() string { return ErrMetadata.Error() + ": " + e.Problem() }

// Unwrap returns ErrMetadata and Err.
func (e *MetadataError) Unwrap() []error { return []error{ErrMetadata, e.Err} }

// ParseMetadata decodes a metadata.json. Unknown fields are tolerated;
// absent required fields are not an error here (Validate reports them). A
// field of the wrong type is an error that names it by its path, for
// example phases[2].phase_number, and says what it must be. Phase and task
// numbers must be whole numbers of zero or more: a phase_number such as
// "1-N" is refused.
//
// The file is scanned once into generic JSON values, which are then
// checked field by field; that keeps every error precise without decoding
// any part of the file twice.
func ParseMetadata(data []byte) (*Metadata, error) {
	if len(data) > MaxMetadataBytes {
		return nil, &MetadataError{Field: "(file)", Err: fmt.Errorf("is %d bytes, more than the %d allowed", len(data), MaxMetadataBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &MetadataError{Field: "(file)", Err: fmt.Errorf("is not a JSON object: %w", err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &MetadataError{Field: "(file)", Err: errors.New("has data after the JSON object")}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, &MetadataError{Field: "(file)", Err: fmt.Errorf("must be a JSON object, got %s", describeJSON(v))}
	}
	m := &Metadata{Raw: top}
	m.Category, _ = top["category"].(string)
	d := &decoder{fields: top}
	d.str("workflow_type", &m.WorkflowType, true)
	d.version(&m.Version)
	d.str("name", &m.Name, false)
	d.str("description", &m.Description, false)
	d.str("approval", &m.Approval, false)
	if m.Approval != "" && m.Approval != "required" && m.Approval != "none" {
		d.fail("approval", fmt.Errorf("must be \"required\" or \"none\", got %s", state.Quote(m.Approval)))
	}
	d.str("estimated_duration", &m.EstimatedDuration, true)
	d.strs("primary_outputs", &m.PrimaryOutputs, true)
	if v, ok := d.take("total_phases", true); ok {
		tp, err := totalPhasesOf(v)
		d.fail("total_phases", err)
		m.TotalPhases = tp
	}
	d.dynamic(m)
	if v, ok := d.take("phases", true); ok {
		list, ok := v.([]any)
		if !ok {
			d.fail("phases", fmt.Errorf("must be a list of phase objects, got %s", describeJSON(v)))
		}
		m.Phases = make([]PhaseDef, 0, len(list))
		for i, pv := range list {
			if m.DynamicPhases && isRangePhase(pv) {
				continue // stands for the spec's phases
			}
			m.Phases = append(m.Phases, d.phase(fmt.Sprintf("phases[%d]", i), pv))
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	m.missing = d.missing
	return m, nil
}

// decoder reads typed fields out of a decoded JSON object, keeping the
// first error and the list of missing required fields.
type decoder struct {
	fields  map[string]any
	prefix  string
	err     error
	missing []string
}

func (d *decoder) fail(field string, err error) {
	if err != nil && d.err == nil {
		d.err = &MetadataError{Field: d.prefix + field, Err: err}
	}
}

// take returns the field's value; an absent or null field is missing.
func (d *decoder) take(field string, required bool) (any, bool) {
	v, ok := d.fields[field]
	if !ok || v == nil {
		if required {
			d.missing = append(d.missing, d.prefix+field)
		}
		return nil, false
	}
	return v, true
}

func (d *decoder) str(field string, dst *string, required bool) {
	if v, ok := d.take(field, required); ok {
		s, ok := v.(string)
		if !ok {
			d.fail(field, fmt.Errorf("must be a string, got %s", describeJSON(v)))
		}
		*dst = s
	}
}

// version accepts "1.0.0" or a bare number such as 1.
func (d *decoder) version(dst *string) {
	v, ok := d.take("version", true)
	if !ok {
		return
	}
	switch x := v.(type) {
	case string:
		*dst = x
	case json.Number:
		*dst = x.String()
	default:
		d.fail("version", fmt.Errorf(`must be a string such as "1.0.0", got %s`, describeJSON(v)))
	}
}

func (d *decoder) strs(field string, dst *[]string, required bool) {
	v, ok := d.take(field, required)
	if !ok {
		return
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(field, fmt.Errorf("must be a list of strings, got %s", describeJSON(v)))
		return
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			d.fail(fmt.Sprintf("%s[%d]", field, i), fmt.Errorf("must be a string, got %s", describeJSON(e)))
			return
		}
		out = append(out, s)
	}
	*dst = out
}

func (d *decoder) num(field string, dst *int, required bool) {
	if v, ok := d.take(field, required); ok {
		n, err := wholeNumber(v)
		d.fail(field, err)
		*dst = n
	}
}

// sub returns a decoder for the object v at path, or nil after recording
// an error when v is not an object.
func (d *decoder) sub(path string, v any, what string) *decoder {
	fields, ok := v.(map[string]any)
	if !ok {
		d.fail(path, fmt.Errorf("must be %s, got %s", what, describeJSON(v)))
		return nil
	}
	return &decoder{fields: fields, prefix: d.prefix + path + "."}
}

// merge takes over a sub-decoder's first error and missing fields.
func (d *decoder) merge(sub *decoder) {
	if sub.err != nil && d.err == nil {
		d.err = sub.err
	}
	d.missing = append(d.missing, sub.missing...)
}

func (d *decoder) phase(path string, v any) PhaseDef {
	var p PhaseDef
	sub := d.sub(path, v, "a phase object")
	if sub == nil {
		return p
	}
	sub.num("phase_number", &p.PhaseNumber, true)
	sub.str("phase_name", &p.PhaseName, true)
	sub.str("purpose", &p.Purpose, true)
	sub.str("estimated_effort", &p.EstimatedEffort, true)
	sub.strs("key_deliverables", &p.KeyDeliverables, true)
	sub.strs("validation_criteria", &p.ValidationCriteria, true)
	if tv, ok := sub.take("tasks", true); ok {
		list, ok := tv.([]any)
		if !ok {
			sub.fail("tasks", fmt.Errorf("must be a list of task objects, got %s", describeJSON(tv)))
		}
		p.Tasks = make([]TaskDef, 0, len(list))
		for i, e := range list {
			p.Tasks = append(p.Tasks, sub.task(fmt.Sprintf("tasks[%d]", i), e))
		}
	}
	d.merge(sub)
	return p
}

func (d *decoder) task(path string, v any) TaskDef {
	var t TaskDef
	sub := d.sub(path, v, "a task object with task_number, name and file")
	if sub == nil {
		return t
	}
	sub.num("task_number", &t.TaskNumber, true)
	sub.str("name", &t.Name, true)
	sub.str("file", &t.File, true)
	sub.str("purpose", &t.Purpose, false)
	d.merge(sub)
	return t
}

// maxNumber bounds phase and task numbers and total_phases.
const maxNumber = 1 << 30

// wholeNumber accepts a JSON number that is a whole number from 0 to
// maxNumber: 3.0 is accepted; 1.5, -1, "1-N" and true are not.
func wholeNumber(v any) (int, error) {
	n, err := jsonnum.Int(v, 0, maxNumber)
	switch {
	case errors.Is(err, jsonnum.ErrNotNumber):
		return 0, fmt.Errorf("must be a whole number, got %s", describeJSON(v))
	case err != nil:
		return 0, fmt.Errorf("must be a whole number from 0 to %d, got %v", maxNumber, v)
	}
	return n, nil
}

func totalPhasesOf(v any) (TotalPhases, error) {
	if s, ok := v.(string); ok {
		if strings.EqualFold(strings.TrimSpace(s), "dynamic") {
			return TotalPhases{Dynamic: true}, nil
		}
		return TotalPhases{}, fmt.Errorf(`must be a whole number or "dynamic", got %s`, describeJSON(v))
	}
	n, err := wholeNumber(v)
	if err != nil {
		return TotalPhases{}, fmt.Errorf(`must be a whole number or "dynamic", got %s`, describeJSON(v))
	}
	return TotalPhases{N: n}, nil
}

// describeJSON renders a decoded JSON value for an error message, cut
// short.
func describeJSON(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return short(b)
}

func short(raw []byte) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// Phase returns the definition of phase number n.
func (m *Metadata) Phase(n int) (*PhaseDef, bool) {
	for i := range m.Phases {
		if m.Phases[i].PhaseNumber == n {
			return &m.Phases[i], true
		}
	}
	return nil, false
}

// Order returns the phase numbers in ascending order.
func (m *Metadata) Order() []int {
	nums := make([]int, 0, len(m.Phases))
	for i := range m.Phases {
		nums = append(nums, m.Phases[i].PhaseNumber)
	}
	slices.Sort(nums)
	return slices.Compact(nums)
}

// Next returns the phase after n.
func (m *Metadata) Next(n int) (int, bool) {
	for _, p := range m.Order() {
		if p > n {
			return p, true
		}
	}
	return 0, false
}

// Missing returns the required fields that the file lacks, by path.
func (m *Metadata) Missing() []string {
	return slices.Clone(m.missing)
}
