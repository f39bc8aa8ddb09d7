package spec

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
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

// Phase is one "Phase N: Name" section.
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

// Task is one "Task N.M: Name" heading or list item.
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
	// badPhase is a heading that means to be a phase but does not number
	// it: "Phase one: Setup".
	badPhase = regexp.MustCompile(`^Phase\s+[^\s:]*[^\d\s:][^\s:]*\s*:`)
	// phaseSub is a heading about one phase that is not its heading:
	// "Phase 1 Tasks", "Phase 1 Validation Gate", "Phase 1 → Phase 2".
	phaseSub     = regexp.MustCompile(`^Phase\s+(\d+)\b`)
	taskHeading  = regexp.MustCompile(`^Task\s+(\d+)\.(\d+)\s*[:.\-–—]\s*(.+)$`)
	badTask      = regexp.MustCompile(`^Task\s+\d`)
	gateHeading  = regexp.MustCompile(`(?i)\bvalidation\s+gate\b`)
	gatePhase    = regexp.MustCompile(`(?i)\bphase\s+(\d+)\b`)
	sizeEstimate = regexp.MustCompile(`^(.*?)\s*\(((?:XS|S|M|L|XL)\s*[-–—]\s*[^()]*\d[^()]*)\)$`)
	// label matches a line that opens with a bold label: "**Name:** rest"
	// or "**Name**: rest".
	label    = regexp.MustCompile(`^\*\*([^*]+?)(?::\*\*|\*\*\s*:)\s*(.*)$`)
	checkbox = regexp.MustCompile(`^\[[ xX]\]\s*`)
	// listTask matches a task written as a list item, optionally after a
	// checkbox: "**Task 1.2**: Name", "**Task 1.2:** Name", "**Task 1.2** -
	// Name" or "**Task 1.2**" alone. "**Task 1.2** (the parser) must come
	// first", without a separator, mentions a task and defines none.
	listTask = regexp.MustCompile(`^(?:\[[ xX]\]\s*)?\*\*Task\s+(\d+)\.(\d+)(?:\s*[:\-–—]\s*\*\*|\*\*\s*(?:[:\-–—]|$))\s*(.*)$`)
)

// Parse reads a tasks.md. source names the file in errors. Every error
// wraps ErrInvalidSpec and names the line.
func Parse(data []byte, source string) (*Plan, error) {
	if len(data) > MaxTasksBytes {
		return nil, &ParseError{Source: source, Err: fmt.Errorf("is %d bytes, more than the %d allowed", len(data), MaxTasksBytes)}
	}
	src := mendNestedFences(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")))
	if err := checkDepth(src); err != nil {
		return nil, &ParseError{Source: source, Err: err}
	}
	p := &parse{src: src, plan: &Plan{Source: source}, seen: map[[2]int]int{}, phases: map[int]int{}, gates: map[int]*[]string{}, estimates: map[[2]int]string{}, lineNo: 1}
	doc := blockParser.Parse(text.NewReader(src))
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if err := p.block(n); err != nil {
			return nil, &ParseError{Source: source, Err: err}
		}
	}
	p.setField(nil)
	if err := p.finish(); err != nil {
		return nil, &ParseError{Source: source, Err: err}
	}
	if len(p.plan.Phases) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New(`has no phases: add a heading such as "## Phase 1: Setup", with tasks under it as "### Task 1.1: Name" headings or "- **Task 1.1**: Name" list items`)}
	}
	return p.plan, nil
}

// parse is the state of one Parse.
type parse struct {
	src  []byte
	plan *Plan
	// open holds the sections the last heading is in, outermost first.
	open []section
	// task is the task being filled, or nil; it points into the last
	// phase that got a task, and is reset whenever that phase grows.
	task *Task
	// trailing is the last task of a task list that just ended: labels
	// only a task has (acceptance criteria, estimated time, priority)
	// that follow the list are its own. Reset with task.
	trailing *Task
	// field is the field the last labelled paragraph opened, which a
	// following list or paragraph fills.
	field *field
	// seen maps a task's (phase, number) to its line; phases maps a
	// phase number to its line.
	seen   map[[2]int]int
	phases map[int]int
	// gates holds, per phase number, the items of "Phase N Validation
	// Gate" sections, added to the phase's gate at the end.
	gates map[int]*[]string
	// estimates holds the "(M - 2 hours)" that ended a task's name, for
	// a task without an **Estimated Time** field.
	estimates map[[2]int]string
	// mentions are task definitions met outside their phase: they stand
	// for tasks defined elsewhere, and are errors when none is.
	mentions []mention
	// lineOff and lineNo are the last offset line was asked for and its
	// line number.
	lineOff, lineNo int
}

// sectionKind says what a heading opened.
type sectionKind int

const (
	sectionOther  sectionKind = iota
	sectionPhase              // a phase's heading: num is its index in Plan.Phases
	sectionRepeat             // a later heading of a phase number already defined: num is that number
	sectionTask               // a task's heading
	sectionGate               // a validation gate: num is its phase's number, or -1 for the open task's gate
)

// section is an open heading's level and what it opened.
type section struct {
	level int
	kind  sectionKind
	num   int
	line  int
}

// mention is a task definition outside its phase.
type mention struct {
	phase, num int
	problem    string
}

// field is where a labelled value goes. text and items point into the
// current phase or task, which stay in place until the next heading, and
// every heading closes the field first.
type field struct {
	text  *string
	items *[]string
	// buf collects text's lines until the field is closed.
	buf *strings.Builder
	// noTasks marks a field whose list mentions tasks rather than
	// defining them (Dependencies).
	noTasks bool
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
		if g := p.gate(); g != nil {
			*g = append(*g, p.items(b)...)
			p.setField(nil)
			return nil
		}
		if p.field == nil || !p.field.noTasks {
			if found, err := p.listTasks(b); found || err != nil {
				return err
			}
		}
		p.fill(b)
		p.setField(nil)
	default:
		p.setField(nil)
	}
	return nil
}

// fill puts a list's items into the open field: a list field takes them
// as they are, a text field as lines of its text.
func (p *parse) fill(l *ast.List) {
	for _, it := range p.items(l) {
		p.fillItem(it)
	}
}

// fillItem puts one list item's text into the open field.
func (p *parse) fillItem(it string) {
	switch f := p.field; {
	case f == nil:
	case f.items != nil:
		*f.items = append(*f.items, it)
	case f.text != nil:
		f.add("- " + it)
	}
}

// phase returns the phase the open sections are in, and whether they are
// in a later heading of a phase already defined (which defines nothing).
func (p *parse) phase() (*Phase, *section) {
	for i := len(p.open) - 1; i >= 0; i-- {
		switch s := &p.open[i]; s.kind {
		case sectionRepeat:
			return nil, s
		case sectionPhase:
			return &p.plan.Phases[s.num], nil
		}
	}
	return nil, nil
}

// gate returns the gate a list goes to when the innermost open section is
// a validation gate, or nil.
func (p *parse) gate() *[]string {
	if len(p.open) == 0 {
		return nil
	}
	switch s := p.open[len(p.open)-1]; {
	case s.kind != sectionGate:
		return nil
	case s.num >= 0:
		g := p.gates[s.num]
		if g == nil {
			g = new([]string)
			p.gates[s.num] = g
		}
		return g
	case p.task != nil:
		return &p.task.ValidationGate
	}
	return nil
}

// pop closes the innermost open sections while keep says no, and reports
// the index of the last phase it closed (-1 for none).
func (p *parse) pop(keep func(section) bool) int {
	closed := -1
	for len(p.open) > 0 {
		s := p.open[len(p.open)-1]
		if keep(s) {
			break
		}
		p.open = p.open[:len(p.open)-1]
		switch s.kind {
		case sectionTask:
			p.task = nil
		case sectionPhase:
			closed = s.num
		}
	}
	return closed
}

func (p *parse) heading(h *ast.Heading) error {
	p.setField(nil)
	p.trailing = nil
	txt, off := p.rawLines(h)
	if off < 0 {
		off = h.Pos() // a heading without text
	}
	txt = strings.TrimSpace(strings.Trim(strings.TrimSpace(txt), "*_"))
	ln := p.line(off)
	level := h.Level

	if m := taskHeading.FindStringSubmatch(txt); m != nil {
		// A task heading closes the task before it and what is under
		// that, never a phase.
		if i := slices.IndexFunc(p.open, func(s section) bool { return s.kind == sectionTask }); i >= 0 {
			p.pop(func(section) bool { return len(p.open) <= i })
		}
		p.pop(func(s section) bool { return s.level < level || s.kind == sectionPhase })
		ph, num, err := taskNumbers(m[1], m[2])
		if err != nil {
			return fmt.Errorf("line %d: task number %s.%s: %w", ln, m[1], m[2], err)
		}
		if _, err := p.addTask(ln, ph, num, strings.TrimSpace(m[3])); err != nil {
			return err
		}
		kind := sectionOther
		if p.task != nil {
			kind = sectionTask
		}
		p.open = append(p.open, section{level: level, kind: kind, line: ln})
		return nil
	}
	if badTask.MatchString(txt) {
		return fmt.Errorf("line %d: heading %q starts with Task but does not read \"Task N.M: Name\"; write it as, for example, \"### Task 1.2: Add the cache\"", ln, shorten(txt))
	}

	if m := phaseHeading.FindStringSubmatch(txt); m != nil {
		num, err := number(m[1])
		if err != nil {
			return fmt.Errorf("line %d: phase number %s: %w", ln, m[1], err)
		}
		p.pop(func(s section) bool { return s.level < level })
		if _, dup := p.phases[num]; dup {
			// A later section about the phase ("## Acceptance
			// Criteria" > "### Phase 1: Core"): it defines nothing.
			p.open = append(p.open, section{level: level, kind: sectionRepeat, num: num, line: ln})
			return nil
		}
		p.phases[num] = ln
		p.plan.Phases = append(p.plan.Phases, Phase{Number: num, Name: strings.TrimSpace(m[2]), Line: ln})
		p.task = nil // it pointed into the phase list, which may have moved
		p.open = append(p.open, section{level: level, kind: sectionPhase, num: len(p.plan.Phases) - 1, line: ln})
		return nil
	}
	if badPhase.MatchString(txt) {
		return fmt.Errorf("line %d: heading %q starts with Phase but does not read \"Phase N: Name\"; write it as, for example, \"## Phase 1: Setup\"", ln, shorten(txt))
	}
	if level == 1 && p.plan.Title == "" {
		p.plan.Title = txt
	}

	// Any other heading closes the sections at its level and deeper,
	// except that "Phase N Tasks" and its kind stay inside phase N.
	sub := -1
	if m := phaseSub.FindStringSubmatch(txt); m != nil {
		sub, _ = number(m[1])
	}
	closed := p.pop(func(s section) bool {
		return s.level < level || (s.kind == sectionPhase && p.plan.Phases[s.num].Number == sub)
	})
	sec := section{level: level, kind: sectionOther, line: ln}
	if gateHeading.MatchString(txt) {
		sec.kind = sectionGate
		ph, _ := p.phase()
		switch m := gatePhase.FindStringSubmatch(txt); {
		case m != nil:
			n, err := number(m[1])
			if err != nil {
				sec.kind = sectionOther
			}
			sec.num = n
		case p.task != nil:
			sec.num = -1
		case ph != nil:
			sec.num = ph.Number
		case closed >= 0: // "## Validation Gate: Final" right after the last phase
			sec.num = p.plan.Phases[closed].Number
		default:
			sec.kind = sectionOther
		}
	}
	p.open = append(p.open, sec)
	return nil
}

// addTask defines task ph.num, named name, at line ln, in the phase the
// open sections are in, and reports whether it is new; p.task is the task
// to fill, or nil. A task outside its phase is a mention of a task
// defined elsewhere, checked by finish. A task met again in its phase
// under the same name is the same task, filled on; under another name it
// is an error.
func (p *parse) addTask(ln, ph, num int, name string) (bool, error) {
	if num == 0 {
		return false, fmt.Errorf("line %d: Task %d.0: task numbers start at 1 within a phase", ln, ph)
	}
	p.setField(nil)
	p.trailing = nil
	cur, repeat := p.phase()
	if cur == nil || cur.Number != ph {
		var problem string
		switch {
		case repeat != nil:
			problem = fmt.Sprintf("line %d: Task %d.%d is under a second heading of Phase %d (line %d, the first is at line %d), which defines no tasks; move it under the first", ln, ph, num, repeat.num, repeat.line, p.phases[repeat.num])
		case cur != nil:
			problem = fmt.Sprintf("line %d: Task %d.%d is under Phase %d (line %d); number it %d.%d or move it under Phase %d", ln, ph, num, cur.Number, cur.Line, cur.Number, num, ph)
		default:
			problem = fmt.Sprintf("line %d: Task %d.%d is outside a phase; put it under its \"## Phase %d: Name\" heading", ln, ph, num, ph)
		}
		p.mentions = append(p.mentions, mention{phase: ph, num: num, problem: problem})
		p.task = nil
		return false, nil
	}
	k := [2]int{ph, num}
	estimate := ""
	if m := sizeEstimate.FindStringSubmatch(name); len(m) == 3 && m[1] != "" {
		// "Name (M - 2 hours)": a size and an estimate, which an
		// **Estimated Time** field overrides.
		name, estimate = m[1], strings.TrimSpace(m[2])
	}
	if prev, dup := p.seen[k]; dup {
		// The same task again (a list of the phase's tasks, then a
		// heading per task) goes on filling the first; another task
		// with its number is an error.
		t, _ := cur.Task(num)
		if strings.EqualFold(strings.TrimSpace(t.Name), strings.TrimSpace(name)) {
			p.task = t
			return false, nil
		}
		return false, fmt.Errorf("line %d: Task %d.%d is numbered twice (first at line %d): %q and %q are different tasks; give each task its own number", ln, ph, num, prev, shorten(t.Name), shorten(name))
	}
	p.seen[k] = ln
	if estimate != "" {
		p.estimates[k] = estimate
	}
	cur.Tasks = append(cur.Tasks, Task{Phase: ph, Number: num, Name: name, Line: ln})
	p.task = &cur.Tasks[len(cur.Tasks)-1]
	return true, nil
}

// finish checks the mentions, gives the tasks without an estimate field
// the estimate of their name, adds the "Phase N Validation Gate" items to
// their phases, and gives each phase its gate items once.
func (p *parse) finish() error {
	for _, m := range p.mentions {
		if _, ok := p.seen[[2]int{m.phase, m.num}]; !ok {
			return errors.New(m.problem)
		}
	}
	for i := range p.plan.Phases {
		ph := &p.plan.Phases[i]
		for j := range ph.Tasks {
			if t := &ph.Tasks[j]; t.EstimatedTime == "" {
				t.EstimatedTime = p.estimates[[2]int{t.Phase, t.Number}]
			}
		}
		if g := p.gates[ph.Number]; g != nil {
			ph.ValidationGate = append(ph.ValidationGate, *g...)
		}
		ph.ValidationGate = unique(ph.ValidationGate)
	}
	return nil
}

// unique returns items without repeats, in their first order.
func unique(items []string) []string {
	seen := make(map[string]bool, len(items))
	out := items[:0]
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
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

// Labels that name an estimate, for a task and for a phase.
var (
	taskTimeLabels  = []string{"estimated time", "time estimate", "estimated duration", "estimated effort", "time", "duration", "effort"}
	phaseTimeLabels = []string{"estimated duration", "estimated time", "time estimate", "estimated effort", "duration", "timeframe"}
)

// fieldFor returns where the label's value goes, or a field that takes
// nothing for a label the plan does not keep.
func (p *parse) fieldFor(name string) *field {
	if t := p.task; t != nil {
		return taskField(t, name)
	}
	if t := p.trailing; t != nil && (name == "acceptance criteria" || name == "priority" || slices.Contains(taskTimeLabels, name)) {
		return taskField(t, name)
	}
	ph, _ := p.phase()
	if ph == nil {
		return &field{noTasks: name == "dependencies" || name == "depends on"}
	}
	switch {
	case name == "objective" || name == "description" || name == "goal":
		return &field{text: &ph.Objective}
	case slices.Contains(phaseTimeLabels, name):
		return &field{text: &ph.EstimatedDuration}
	case name == "dependencies" || name == "depends on":
		return &field{text: &ph.Dependencies, noTasks: true}
	case name == "deliverables" || name == "phase deliverables":
		return &field{items: &ph.Deliverables}
	case name == "validation gate":
		return &field{items: &ph.ValidationGate}
	}
	return &field{}
}

// taskField returns where a task's label goes.
func taskField(t *Task, name string) *field {
	switch {
	case name == "description" || name == "objective":
		return &field{text: &t.Description}
	case name == "acceptance criteria":
		return &field{items: &t.AcceptanceCriteria}
	case name == "dependencies" || name == "depends on":
		return &field{text: &t.Dependencies, noTasks: true}
	case name == "validation gate":
		return &field{items: &t.ValidationGate}
	case slices.Contains(taskTimeLabels, name):
		return &field{text: &t.EstimatedTime}
	case name == "priority":
		return &field{text: &t.Priority}
	}
	return &field{}
}

// items returns the text of a list's items, without checkboxes; a nested
// list's items are appended to their parent's text on lines of their own.
func (p *parse) items(l *ast.List) []string {
	var out []string
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		if s := p.item(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// item returns the text of one list item as items does.
func (p *parse) item(it ast.Node) string {
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
		return ""
	}
	parts[0] = checkbox.ReplaceAllString(parts[0], "")
	return strings.Join(parts, "\n")
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
// checklist) or as labelled paragraphs inside the item; other sub-items
// join the description. It reports whether the list held such a task.
// The list ends the last task, so that the phase's own fields after it go
// to the phase, except the labels only a task has.
func (p *parse) listTasks(l *ast.List) (bool, error) {
	found := false
	var last *Task
	var before []string // the items before the first task
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		first := it.FirstChild()
		if first == nil {
			continue
		}
		raw, off := p.rawLines(first)
		head, rest, _ := strings.Cut(strings.TrimSpace(raw), "\n")
		m := listTask.FindStringSubmatch(strings.TrimSpace(head))
		if m == nil {
			if s := p.item(it); !found && s != "" {
				before = append(before, s)
			}
			continue
		}
		if !found {
			// A checklist under a label and the next task can be one
			// list, when the checklist is indented and the task is not.
			for _, s := range before {
				p.fillItem(s)
			}
		}
		found = true
		ln := p.line(off)
		ph, num, err := taskNumbers(m[1], m[2])
		if err != nil {
			return true, fmt.Errorf("line %d: task number %s.%s: %w", ln, m[1], m[2], err)
		}
		name := strings.TrimSpace(m[3])
		if name == "" {
			name = "Task " + m[1] + "." + m[2]
		}
		isNew, err := p.addTask(ln, ph, num, name)
		if err != nil {
			return true, err
		}
		last = nil
		t := p.task
		if t == nil {
			continue
		}
		if isNew || t.Description == "" {
			t.Description = strings.TrimSpace(t.Name + "\n" + strings.TrimSpace(rest))
		}
		for c := first.NextSibling(); c != nil; c = c.NextSibling() {
			switch b := c.(type) {
			case *ast.List:
				if p.field != nil && !p.labelled(b) {
					p.fill(b)
				} else {
					p.subFields(b)
				}
				p.setField(nil)
			case *ast.Paragraph:
				p.paragraph(b)
			default:
				p.setField(nil)
			}
		}
		p.setField(nil)
		last = p.task
	}
	if found {
		p.task, p.trailing = nil, last
	}
	return found, nil
}

// labelled reports whether an item of the list opens with a bold label.
func (p *parse) labelled(l *ast.List) bool {
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		if first := it.FirstChild(); first != nil {
			raw, _ := p.rawLines(first)
			if matchLabel(strings.TrimSpace(checkbox.ReplaceAllString(strings.TrimSpace(raw), ""))) != nil {
				return true
			}
		}
	}
	return false
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
			if sub, ok := c.(*ast.List); ok {
				p.fill(sub)
			}
		}
		p.setField(nil)
	}
}

// taskNumbers reads the N and M of "Task N.M".
func taskNumbers(n, m string) (int, int, error) {
	ph, err := number(n)
	if err != nil {
		return 0, 0, err
	}
	num, err := number(m)
	return ph, num, err
}
