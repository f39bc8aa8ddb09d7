package engine

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

//go:embed all:workflows
var builtin embed.FS

// BuiltinWorkflows returns the sample workflows compiled into the binary
// (feature_delivery, bug_fix and spec_execution_v1), served when Config.WorkflowsDir is "".
func BuiltinWorkflows() fs.FS {
	sub, err := fs.Sub(builtin, "workflows")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return sub
}

// MaxContentBytes is the largest phase.md or task file the engine serves.
const MaxContentBytes = 1 << 20

// MaxTargetFileLen is the longest target_file accepted.
const MaxTargetFileLen = 4096

const (
	metadataFile = "metadata.json"
	phaseFile    = "phase.md"
)

func checkWorkflowName(name string) error {
	if !checkpoint.ValidName(name) {
		return &state.FieldError{Kind: state.ErrInvalidArgument, Field: "workflow_type", Value: state.Quote(name), Problem: "must be the name of a workflow folder (letters, digits, '_', '-', '.', not starting with '.')"}
	}
	return nil
}

func checkTarget(target string) error {
	switch {
	case target == "":
		return fmt.Errorf("%w: target_file is empty; pass the file or feature the workflow is about, for example src/auth/login.go", state.ErrInvalidArgument)
	case len(target) > MaxTargetFileLen:
		return fmt.Errorf("%w: target_file is %d bytes, more than the %d allowed", state.ErrInvalidArgument, len(target), MaxTargetFileLen)
	case strings.ContainsRune(target, 0):
		return fmt.Errorf("%w: target_file contains a NUL byte; pass a plain path or name", state.ErrInvalidArgument)
	case !utf8.ValidString(target):
		return fmt.Errorf("%w: target_file is not valid UTF-8", state.ErrInvalidArgument)
	}
	return nil
}

// workflowNames lists the folders of fsys that hold a metadata.json, or
// any folder with a valid name when none does, sorted.
func workflowNames(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && checkpoint.ValidName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// readFile reads a regular file of at most limit bytes.
func readFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

// readMetadata reads and parses <name>/metadata.json from disk.
func readMetadata(fsys fs.FS, name string) (*Metadata, error) {
	if err := checkWorkflowName(name); err != nil {
		return nil, err
	}
	data, err := readFile(fsys, path.Join(name, metadataFile), MaxMetadataBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &state.FieldError{Kind: state.ErrNotFound, Field: "workflow_type", Value: name, Problem: "no such workflow (no " + name + "/" + metadataFile + ")"}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: workflow_type %s: %s: %w", state.ErrCorrupt, name, metadataFile, err)
	}
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("workflow_type %s: %w; fix the file (mcpflow workflows lists every problem)", name, err)
	}
	return m, nil
}

// checkTaskFile accepts a task file name that stays inside its phase
// folder: a relative, slash-separated path with no "." or ".." element and
// no NUL byte or backslash.
func checkTaskFile(file string) error {
	if file == "" || !fs.ValidPath(file) || file == "." || strings.ContainsAny(file, "\x00\\") {
		return fmt.Errorf("file %s must be a relative path inside the phase folder, without '..', a leading '/', a backslash or a NUL byte", state.Quote(file))
	}
	return nil
}

// readTaskFile reads <workflow>/phases/<phase>/<file>.
func readTaskFile(fsys fs.FS, workflow string, phase int, file string) (string, error) {
	if err := checkTaskFile(file); err != nil {
		return "", fmt.Errorf("%w: workflow %s phase %d: task %w", state.ErrCorrupt, workflow, phase, err)
	}
	name := path.Join(workflow, "phases", strconv.Itoa(phase), file)
	data, err := readFile(fsys, name, MaxContentBytes)
	if err != nil {
		return "", fmt.Errorf("%w: workflow %s phase %d: task file %s cannot be read (%w); fix metadata.json or add the file", state.ErrNotFound, workflow, phase, file, err)
	}
	return string(data), nil
}

// phaseContent returns phase n's phase.md and task list.
func (e *Engine) phaseContent(m *Metadata, workflow string, n int) (*PhaseContent, error) {
	pd, ok := m.phase(n)
	if !ok {
		return nil, fmt.Errorf("%w: phase %d is not in workflow %s; its metadata.json changed", state.ErrCorrupt, n, workflow)
	}
	name := path.Join(workflow, "phases", strconv.Itoa(n), phaseFile)
	data, err := readFile(e.wfFS, name, MaxContentBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: workflow %s: %s cannot be read (%w); add the file", state.ErrCorrupt, workflow, name, err)
	}
	pc := &PhaseContent{Phase: n, PhaseName: pd.PhaseName, Purpose: pd.Purpose, Content: string(data), Tasks: make([]TaskInfo, 0, len(pd.Tasks))}
	for _, t := range pd.Tasks {
		pc.Tasks = append(pc.Tasks, TaskInfo(t))
	}
	return pc, nil
}

// decodeObject decodes a JSON object.
func decodeObject(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}
