package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
		return errors.New("total_phases: " + err.Error())
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
	var s string
	if json.Unmarshal(b, &s) == nil {
		if strings.EqualFold(strings.TrimSpace(s), "dynamic") {
			return TotalPhases{Dynamic: true}, nil
		}
		return TotalPhases{}, fmt.Errorf(`must be a whole number or "dynamic", got %s`, short(b))
	}
	n, err := wholeNumber(b)
	if err != nil {
		return TotalPhases{}, fmt.Errorf(`must be a whole number or "dynamic", got %s`, short(b))
	}
	return TotalPhases{N: n}, nil
}

// ErrMetadata is wrapped by every error ParseMetadata returns; it is also
// matched by ErrCorrupt through errors.Is.
var ErrMetadata = fmt.Errorf("%w: metadata.json", ErrCorrupt)

// ParseMetadata decodes a metadata.json. Unknown fields are tolerated;
// absent required fields are not an error here (Validate reports them). A
// field of the wrong type is an error that names it by its path, for
// example phases[2].phase_number, and says what it must be. Phase and task
// numbers must be whole numbers of zero or more: a phase_number such as
// "1-N" is refused.
func ParseMetadata(data []byte) (*Metadata, error) {
	if len(data) > MaxMetadataBytes {
		return nil, fmt.Errorf("%w: (file): is %d bytes, more than the %d allowed", ErrMetadata, len(data), MaxMetadataBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: (file): is not a JSON object: %w", ErrMetadata, err)
	}
	if top == nil {
		return nil, fmt.Errorf("%w: (file): must be a JSON object, got null", ErrMetadata)
	}
	m := &Metadata{}
	d := &decoder{fields: top}
	d.str("workflow_type", &m.WorkflowType, true)
	d.version(&m.Version)
	d.str("name", &m.Name, false)
	d.str("description", &m.Description, false)
	d.str("estimated_duration", &m.EstimatedDuration, true)
	d.strs("primary_outputs", &m.PrimaryOutputs, true)
	if raw, ok := d.take("total_phases", true); ok {
		tp, err := parseTotalPhases(raw)
		d.fail("total_phases", err)
		m.TotalPhases = tp
	}
	if raw, ok := d.take("phases", true); ok {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil || list == nil {
			d.fail("phases", fmt.Errorf("must be a list of phase objects, got %s", short(raw)))
		}
		for i, praw := range list {
			p := d.phase(fmt.Sprintf("phases[%d]", i), praw)
			m.Phases = append(m.Phases, p)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetadata, d.err)
	}
	m.missing = d.missing
	return m, nil
}

// decoder reads typed fields out of a JSON object, keeping the first error
// and the list of missing required fields.
type decoder struct {
	fields  map[string]json.RawMessage
	prefix  string
	err     error
	missing []string
}

func (d *decoder) fail(field string, err error) {
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("%s%s: %w", d.prefix, field, err)
	}
}

func (d *decoder) take(field string, required bool) (json.RawMessage, bool) {
	raw, ok := d.fields[field]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if required {
			d.missing = append(d.missing, d.prefix+field)
		}
		return nil, false
	}
	return raw, true
}

func (d *decoder) str(field string, dst *string, required bool) {
	if raw, ok := d.take(field, required); ok {
		if err := json.Unmarshal(raw, dst); err != nil {
			d.fail(field, fmt.Errorf("must be a string, got %s", short(raw)))
		}
	}
}

// version accepts "1.0.0" or a bare number such as 1.
func (d *decoder) version(dst *string) {
	raw, ok := d.take("version", true)
	if !ok {
		return
	}
	if json.Unmarshal(raw, dst) == nil {
		return
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		*dst = n.String()
		return
	}
	d.fail("version", fmt.Errorf(`must be a string such as "1.0.0", got %s`, short(raw)))
}

func (d *decoder) strs(field string, dst *[]string, required bool) {
	if raw, ok := d.take(field, required); ok {
		if err := json.Unmarshal(raw, dst); err != nil {
			d.fail(field, fmt.Errorf("must be a list of strings, got %s", short(raw)))
		}
	}
}

func (d *decoder) num(field string, dst *int, required bool) {
	if raw, ok := d.take(field, required); ok {
		n, err := wholeNumber(raw)
		if err != nil {
			d.fail(field, err)
		}
		*dst = n
	}
}

func (d *decoder) phase(path string, raw json.RawMessage) PhaseDef {
	var p PhaseDef
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		d.fail(path, fmt.Errorf("must be an object, got %s", short(raw)))
		return p
	}
	sub := &decoder{fields: fields, prefix: d.prefix + path + "."}
	sub.num("phase_number", &p.PhaseNumber, true)
	sub.str("phase_name", &p.PhaseName, true)
	sub.str("purpose", &p.Purpose, true)
	sub.str("estimated_effort", &p.EstimatedEffort, true)
	sub.strs("key_deliverables", &p.KeyDeliverables, true)
	sub.strs("validation_criteria", &p.ValidationCriteria, true)
	if traw, ok := sub.take("tasks", true); ok {
		var list []json.RawMessage
		if err := json.Unmarshal(traw, &list); err != nil || list == nil {
			sub.fail("tasks", fmt.Errorf("must be a list of task objects, got %s", short(traw)))
		}
		for i, r := range list {
			p.Tasks = append(p.Tasks, sub.task(fmt.Sprintf("tasks[%d]", i), r))
		}
	}
	if sub.err != nil && d.err == nil {
		d.err = sub.err
	}
	d.missing = append(d.missing, sub.missing...)
	return p
}

func (d *decoder) task(path string, raw json.RawMessage) TaskDef {
	var t TaskDef
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		d.fail(path, fmt.Errorf("must be an object with task_number, name and file, got %s", short(raw)))
		return t
	}
	sub := &decoder{fields: fields, prefix: d.prefix + path + "."}
	sub.num("task_number", &t.TaskNumber, true)
	sub.str("name", &t.Name, true)
	sub.str("file", &t.File, true)
	sub.str("purpose", &t.Purpose, false)
	if sub.err != nil && d.err == nil {
		d.err = sub.err
	}
	d.missing = append(d.missing, sub.missing...)
	return t
}

// wholeNumber decodes a JSON number that is a whole number from 0 to
// 1<<30. 3.0 is accepted; 1.5, -1, "1-N" and true are not.
func wholeNumber(raw json.RawMessage) (int, error) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil {
		n, _ = v.(json.Number)
	}
	if n == "" {
		return 0, fmt.Errorf("must be a whole number, got %s", short(raw))
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || f < 0 || f > 1<<30 {
		return 0, fmt.Errorf("must be a whole number from 0 to %d, got %s", 1<<30, short(raw))
	}
	return int(f), nil
}

func short(raw []byte) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

// phase returns the definition of phase number n.
func (m *Metadata) phase(n int) (*PhaseDef, bool) {
	for i := range m.Phases {
		if m.Phases[i].PhaseNumber == n {
			return &m.Phases[i], true
		}
	}
	return nil, false
}

// order returns the phase numbers in ascending order.
func (m *Metadata) order() []int {
	nums := make([]int, 0, len(m.Phases))
	for i := range m.Phases {
		nums = append(nums, m.Phases[i].PhaseNumber)
	}
	slices.Sort(nums)
	return slices.Compact(nums)
}

// next returns the phase after n.
func (m *Metadata) next(n int) (int, bool) {
	for _, p := range m.order() {
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
