package spec

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// MaxTasksBytes is the largest tasks.md Parse accepts.
const MaxTasksBytes = 1 << 20

// maxNumber bounds phase and task numbers.
const maxNumber = 9999

// ErrInvalidSpec is wrapped by every error Parse returns.
var ErrInvalidSpec = errors.New("spec: invalid tasks.md")

// ParseError is the error of a tasks.md that does not parse: every error
// Parse returns is one. errors.Is matches ErrInvalidSpec and Err; errors.As
// finds the ParseError, so that a caller can show Err under a name of its
// own for the file.
type ParseError struct {
	// Source is the file as Parse was told to name it.
	Source string
	// Err says what is wrong, naming the line where there is one.
	Err error
}

// Error returns "spec: invalid tasks.md: <source>: <what is wrong>".
func (e *ParseError) Error() string {
	return ErrInvalidSpec.Error() + ": " + e.Source + ": " + e.Err.Error()
}

// Unwrap returns ErrInvalidSpec and Err.
func (e *ParseError) Unwrap() []error { return []error{ErrInvalidSpec, e.Err} }

// Plan is a parsed tasks.md. A Plan is immutable once returned by Parse or
// a Loader and may be shared by any number of goroutines.
type Plan struct {
	// Source names the file, as given to Parse.
	Source string
	// Title is the text of the first level-1 heading, or "".
	Title string
	// Phases are in the order of the file, numbered as it numbers them.
	Phases []Phase
}

// Phase is one "## Phase N: Name" section.
type Phase struct {
	Number int
	Name   string
	// Line is the heading's line number, from 1.
	Line int
	// Objective is the **Objective:** field (or **Description:**).
	Objective         string
	EstimatedDuration string
	Dependencies      string
	Deliverables      []string
	// ValidationGate holds the items of the **Validation Gate:** list.
	ValidationGate []string
	Tasks          []Task
}

// Task is one "#### Task N.M: Name" section.
type Task struct {
	// Phase is N and Number is M of "Task N.M".
	Phase, Number int
	Name          string
	Line          int
	Description   string
	// AcceptanceCriteria holds the checklist items, without their "[ ]".
	AcceptanceCriteria []string
	Dependencies       string
	// ValidationGate holds the task's own **Validation Gate:** items,
	// if it has any.
	ValidationGate []string
	EstimatedTime  string
	Priority       string
}

// ID returns the task's "N.M".
func (t *Task) ID() string { return strconv.Itoa(t.Phase) + "." + strconv.Itoa(t.Number) }

// Phase returns the phase numbered n.
func (p *Plan) Phase(n int) (*Phase, bool) {
	for i := range p.Phases {
		if p.Phases[i].Number == n {
			return &p.Phases[i], true
		}
	}
	return nil, false
}

// Task returns task number n of the phase.
func (ph *Phase) Task(n int) (*Task, bool) {
	for i := range ph.Tasks {
		if ph.Tasks[i].Number == n {
			return &ph.Tasks[i], true
		}
	}
	return nil, false
}

// TaskCount returns the number of tasks over every phase.
func (p *Plan) TaskCount() int {
	n := 0
	for i := range p.Phases {
		n += len(p.Phases[i].Tasks)
	}
	return n
}

// blockParser is goldmark's CommonMark block parser without inline
// parsers: the plan needs block structure and raw text only. A
// parser.Parser keeps no state between calls and is safe for concurrent
// use.
var blockParser = parser.NewParser(parser.WithBlockParsers(parser.DefaultBlockParsers()...))

var (
	phaseHeading = regexp.MustCompile(`^Phase\s+(\d+)\s*[:.\-–—]\s*(.+)$`)
	taskHeading  = regexp.MustCompile(`^Task\s+(\d+)\.(\d+)\s*[:.\-–—]\s*(.+)$`)
	// label matches a line that opens with a bold label: "**Name:** rest"
	// or "**Name**: rest".
	label    = regexp.MustCompile(`^\*\*([^*]+?)(?::\*\*|\*\*\s*:)\s*(.*)$`)
	checkbox = regexp.MustCompile(`^\[[ xX]\]\s*`)
	// listTask matches a task written as a list item, prAxIs OS's other
	// form: "- **Task 1.2**: Name", optionally after a checkbox.
	listTask = regexp.MustCompile(`^(?:\[[ xX]\]\s*)?\*\*Task\s+(\d+)\.(\d+)(?::\*\*|\*\*\s*:?)\s*(.*)$`)
)

// Parse reads a tasks.md. source names the file in errors. Every error
// wraps ErrInvalidSpec and names the line.
func Parse(data []byte, source string) (*Plan, error) {
	if len(data) > MaxTasksBytes {
		return nil, &ParseError{Source: source, Err: fmt.Errorf("is %d bytes, more than the %d allowed", len(data), MaxTasksBytes)}
	}
	src := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if err := checkDepth(src); err != nil {
		return nil, &ParseError{Source: source, Err: err}
	}
	p := &parse{src: src, plan: &Plan{Source: source}, seen: map[[2]int]int{}, phases: map[int]int{}, lineNo: 1}
	doc := blockParser.Parse(text.NewReader(src))
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if err := p.block(n); err != nil {
			return nil, &ParseError{Source: source, Err: err}
		}
	}
	p.setField(nil)
	if len(p.plan.Phases) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New(`has no phases: add a heading such as "## Phase 1: Setup" (level 2), with tasks under it as "#### Task 1.1: Name" (level 4)`)}
	}
	return p.plan, nil
}

// parse is the state of one Parse.
type parse struct {
	src  []byte
	plan *Plan
	// phase and task are the sections being filled, or nil.
	phase *Phase
	task  *Task
	// field is the field the last labelled paragraph opened, which a
	// following list or paragraph fills.
	field *field
	// seen maps a task's (phase, number) to its line; phases maps a
	// phase number to its line.
	seen   map[[2]int]int
	phases map[int]int
	// lineOff and lineNo are the last offset line was asked for and its
	// line number.
	lineOff, lineNo int
}

// field is where a labelled value goes. text and items point into the
// current phase or task, which stay in place until the next heading, and
// every heading closes the field first.
type field struct {
	text  *string
	items *[]string
	// buf collects text's lines until the field is closed.
	buf *strings.Builder
}

// line returns the line number of byte offset off; an unknown offset
// (-1) counts as the start of the file.
//
// Headings come in the order of the file, so counting goes on from the
// last offset asked for: the whole parse counts each newline once.
func (p *parse) line(off int) int {
	off = min(max(off, 0), len(p.src))
	if off < p.lineOff {
		p.lineOff, p.lineNo = 0, 1
	}
	p.lineNo += bytes.Count(p.src[p.lineOff:off], []byte("\n"))
	p.lineOff = off
	return p.lineNo
}

func (p *parse) block(n ast.Node) error {
	switch b := n.(type) {
	case *ast.Heading:
		return p.heading(b)
	case *ast.Paragraph:
		p.paragraph(b)
	case *ast.List:
		if found, err := p.listTasks(b); found || err != nil {
			return err
		}
		if p.field != nil && p.field.items != nil {
			*p.field.items = append(*p.field.items, p.items(b)...)
		}
		p.setField(nil)
	default:
		p.setField(nil)
	}
	return nil
}

func (p *parse) heading(h *ast.Heading) error {
	p.setField(nil)
	txt, off := p.rawLines(h)
	if off < 0 {
		off = h.Pos() // a heading without text
	}
	txt = strings.TrimSpace(strings.Trim(strings.TrimSpace(txt), "*_"))
	ln := p.line(off)
	switch h.Level {
	case 1:
		if p.plan.Title == "" {
			p.plan.Title = txt
		}
	case 2:
		p.task = nil
		m := phaseHeading.FindStringSubmatch(txt)
		if m == nil {
			if strings.HasPrefix(txt, "Phase ") {
				return fmt.Errorf("line %d: heading %q starts with Phase but does not read \"Phase N: Name\"; write it as, for example, \"## Phase 1: Setup\"", ln, shorten(txt))
			}
			p.phase = nil // another section: the phase before it ends here
			return nil
		}
		num, err := number(m[1])
		if err != nil {
			return fmt.Errorf("line %d: phase number %s: %w", ln, m[1], err)
		}
		if prev, dup := p.phases[num]; dup {
			return fmt.Errorf("line %d: Phase %d is numbered twice (first at line %d); give each phase its own number", ln, num, prev)
		}
		p.phases[num] = ln
		p.plan.Phases = append(p.plan.Phases, Phase{Number: num, Name: strings.TrimSpace(m[2]), Line: ln})
		p.phase = &p.plan.Phases[len(p.plan.Phases)-1]
	case 4:
		if !strings.HasPrefix(txt, "Task ") {
			return nil
		}
		m := taskHeading.FindStringSubmatch(txt)
		if m == nil {
			return fmt.Errorf("line %d: heading %q starts with Task but does not read \"Task N.M: Name\"; write it as, for example, \"#### Task 1.2: Add the cache\"", ln, shorten(txt))
		}
		ph, err := number(m[1])
		if err == nil {
			var num int
			if num, err = number(m[2]); err == nil {
				return p.addTask(ln, ph, num, strings.TrimSpace(m[3]))
			}
		}
		return fmt.Errorf("line %d: task number %s.%s: %w", ln, m[1], m[2], err)
	}
	return nil
}

func (p *parse) addTask(ln, ph, num int, name string) error {
	if p.phase == nil {
		return fmt.Errorf("line %d: Task %d.%d is outside a phase; put it under its \"## Phase %d: Name\" heading", ln, ph, num, ph)
	}
	if ph != p.phase.Number {
		return fmt.Errorf("line %d: Task %d.%d is under Phase %d (line %d); number it %d.%d or move it under Phase %d", ln, ph, num, p.phase.Number, p.phase.Line, p.phase.Number, num, ph)
	}
	if num == 0 {
		return fmt.Errorf("line %d: Task %d.0: task numbers start at 1 within a phase", ln, ph)
	}
	k := [2]int{ph, num}
	if prev, dup := p.seen[k]; dup {
		return fmt.Errorf("line %d: Task %d.%d is numbered twice (first at line %d); give each task its own number", ln, ph, num, prev)
	}
	p.seen[k] = ln
	p.phase.Tasks = append(p.phase.Tasks, Task{Phase: ph, Number: num, Name: name, Line: ln})
	p.task = &p.phase.Tasks[len(p.phase.Tasks)-1]
	return nil
}

// paragraph reads labelled lines into the current task's or phase's
// fields. An unlabelled paragraph right after a labelled one continues it.
func (p *parse) paragraph(b *ast.Paragraph) {
	raw, _ := p.rawLines(b)
	opened := false
	for ln := range strings.SplitSeq(raw, "\n") {
		ln = strings.TrimSpace(ln)
		if m := matchLabel(ln); m != nil {
			p.setField(p.fieldFor(strings.ToLower(strings.TrimSpace(m[1]))))
			opened = true
			p.field.add(m[2])
			continue
		}
		if p.field != nil {
			p.field.add(ln)
		}
	}
	if !opened && (p.field == nil || p.field.text == nil) {
		p.setField(nil)
	}
}

// setField closes the open field, storing its text, and opens f.
func (p *parse) setField(f *field) {
	if old := p.field; old != nil && old.buf != nil {
		*old.text = old.buf.String()
	}
	p.field = f
}

// add appends a line to a text field; a field for a list, or for a label
// the plan does not keep, ignores it. Lines are collected in a
// strings.Builder, so a long field costs linear time.
func (f *field) add(s string) {
	s = strings.TrimSpace(s)
	if f.text == nil || s == "" {
		return
	}
	if f.buf == nil {
		f.buf = &strings.Builder{}
		f.buf.WriteString(*f.text)
	}
	if f.buf.Len() > 0 {
		f.buf.WriteByte('\n')
	}
	f.buf.WriteString(s)
}

// fieldFor returns where the label's value goes, or a field that takes
// nothing for a label the plan does not keep.
func (p *parse) fieldFor(name string) *field {
	if t := p.task; t != nil {
		switch name {
		case "description", "objective":
			return &field{text: &t.Description}
		case "acceptance criteria":
			return &field{items: &t.AcceptanceCriteria}
		case "dependencies", "depends on":
			return &field{text: &t.Dependencies}
		case "validation gate":
			return &field{items: &t.ValidationGate}
		case "estimated time", "estimated duration", "time":
			return &field{text: &t.EstimatedTime}
		case "priority":
			return &field{text: &t.Priority}
		}
		return &field{}
	}
	if ph := p.phase; ph != nil {
		switch name {
		case "objective", "description", "goal":
			return &field{text: &ph.Objective}
		case "estimated duration", "estimated time", "duration":
			return &field{text: &ph.EstimatedDuration}
		case "dependencies", "depends on":
			return &field{text: &ph.Dependencies}
		case "deliverables", "phase deliverables":
			return &field{items: &ph.Deliverables}
		case "validation gate":
			return &field{items: &ph.ValidationGate}
		}
	}
	return &field{}
}

// items returns the text of a list's items, without checkboxes; a nested
// list's items are appended to their parent's text on lines of their own.
func (p *parse) items(l *ast.List) []string {
	var out []string
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		var parts []string
		for c := it.FirstChild(); c != nil; c = c.NextSibling() {
			if sub, ok := c.(*ast.List); ok {
				for _, s := range p.items(sub) {
					parts = append(parts, "  - "+s)
				}
				continue
			}
			raw, _ := p.rawLines(c)
			if raw = strings.TrimSpace(raw); raw != "" {
				parts = append(parts, raw)
			}
		}
		if len(parts) == 0 {
			continue
		}
		parts[0] = checkbox.ReplaceAllString(parts[0], "")
		out = append(out, strings.Join(parts, "\n"))
	}
	return out
}

// rawLines returns a block's lines joined by newlines and the offset of
// its first line (-1 without lines).
func (p *parse) rawLines(n ast.Node) (string, int) {
	lines := n.Lines()
	if lines == nil || lines.Len() == 0 {
		return "", -1
	}
	var b strings.Builder
	for i := range lines.Len() {
		seg := lines.At(i)
		b.Write(bytes.TrimRight(seg.Value(p.src), "\n"))
		if i < lines.Len()-1 {
			b.WriteByte('\n')
		}
	}
	return b.String(), lines.At(0).Start
}

func number(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxNumber {
		return 0, fmt.Errorf("must be a whole number from 0 to %d", maxNumber)
	}
	return n, nil
}

func shorten(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "..."
	}
	return s
}

// matchLabel is label.FindStringSubmatch for lines that can hold one.
func matchLabel(ln string) []string {
	if !strings.HasPrefix(ln, "**") {
		return nil
	}
	return label.FindStringSubmatch(ln)
}

// listTasks reads the tasks of a list whose items are written
// "- **Task N.M**: Name", with their fields as sub-items
// ("- **Estimated Time**: 4 hours", "- **Acceptance Criteria**:" over a
// checklist); other sub-items join the description. It reports whether
// the list held such a task. The list ends the last task, so that the
// phase's own fields after it go to the phase.
func (p *parse) listTasks(l *ast.List) (bool, error) {
	found := false
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		first := it.FirstChild()
		if first == nil {
			continue
		}
		raw, off := p.rawLines(first)
		head, rest, _ := strings.Cut(strings.TrimSpace(raw), "\n")
		m := listTask.FindStringSubmatch(strings.TrimSpace(head))
		if m == nil {
			continue
		}
		found = true
		ln := p.line(off)
		ph, err := number(m[1])
		var num int
		if err == nil {
			num, err = number(m[2])
		}
		if err != nil {
			return true, fmt.Errorf("line %d: task number %s.%s: %w", ln, m[1], m[2], err)
		}
		name := strings.TrimSpace(m[3])
		if name == "" {
			name = "Task " + m[1] + "." + m[2]
		}
		if err := p.addTask(ln, ph, num, name); err != nil {
			return true, err
		}
		t := p.task
		t.Description = strings.TrimSpace(name + "\n" + strings.TrimSpace(rest))
		for c := first.NextSibling(); c != nil; c = c.NextSibling() {
			if sub, ok := c.(*ast.List); ok {
				p.subFields(sub)
			}
		}
	}
	if found {
		p.task = nil
	}
	return found, nil
}

// subFields reads the sub-items of a list-form task into its fields.
func (p *parse) subFields(l *ast.List) {
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		first := it.FirstChild()
		if first == nil {
			continue
		}
		raw, _ := p.rawLines(first)
		raw = strings.TrimSpace(raw)
		m := matchLabel(raw)
		if m == nil {
			p.setField(&field{text: &p.task.Description})
			p.field.add(checkbox.ReplaceAllString(raw, ""))
			p.setField(nil)
			continue
		}
		p.setField(p.fieldFor(strings.ToLower(strings.TrimSpace(m[1]))))
		p.field.add(m[2])
		for c := first.NextSibling(); c != nil; c = c.NextSibling() {
			if sub, ok := c.(*ast.List); ok && p.field.items != nil {
				*p.field.items = append(*p.field.items, p.items(sub)...)
			}
		}
		p.setField(nil)
	}
}
