package workflows

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

//go:embed all:bug_fix all:feature_delivery all:spec_execution_v1
var builtin embed.FS

// BuiltinWorkflows returns the sample workflows compiled into the binary
// (feature_delivery, bug_fix and spec_execution_v1), served when Config.WorkflowsDir is "".
func BuiltinWorkflows() fs.FS {
	return builtin
}

// MaxContentBytes is the largest phase.md or task file the engine serves.
const MaxContentBytes = 1 << 20

// MetadataFile is the name of a workflow's definition in its folder.
const MetadataFile = "metadata.json"

// PhaseFile is the name of a phase's text in its phase folder.
const PhaseFile = "phase.md"

// ParseName is checkpoint.ParseWorkflowName with the engine's error: a
// state.FieldError naming workflow_type.
func ParseName(name string) (checkpoint.WorkflowName, error) {
	wf, err := checkpoint.ParseWorkflowName(name)
	if ne, ok := errors.AsType[*checkpoint.NameError](err); ok {
		return wf, &state.FieldError{Kind: state.ErrInvalidArgument, Field: "workflow_type", Value: state.Quote(ne.Name), Problem: "must be the name of a workflow folder (letters, digits, '_', '-', '.', not starting with '.')"}
	}
	return wf, err
}

// Names lists the folders of fsys that hold a metadata.json, or
// any folder with a valid name when none does, sorted.
func Names(fsys fs.FS) ([]string, error) {
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

// ReadFile reads a regular file of at most limit bytes.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
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

// ReadMetadata reads and parses <name>/metadata.json from disk.
func ReadMetadata(fsys fs.FS, name string) (*Metadata, error) {
	wf, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	data, err := ReadFile(fsys, MetadataPath(wf), MaxMetadataBytes)
	if err != nil {
		return nil, MetadataReadError(name, err)
	}
	return DecodeMetadata(wf, data)
}

// MetadataPath returns the path of workflow name's metadata.json inside
// the workflows folder.
func MetadataPath(name checkpoint.WorkflowName) string {
	return path.Join(name.String(), MetadataFile)
}

// MetadataReadError is ReadMetadata's error for a metadata.json of
// workflow name that cannot be read because of err: a state.FieldError
// wrapping state.ErrNotFound when the file does not exist, an error
// wrapping state.ErrCorrupt otherwise.
func MetadataReadError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &state.FieldError{Kind: state.ErrNotFound, Field: "workflow_type", Value: name, Problem: "no such workflow (no " + name + "/" + MetadataFile + ")"}
	}
	return state.Errorf(state.ErrCorrupt, "workflow_type %s: %s: %w", name, MetadataFile, err)
}

// DecodeMetadata parses data, the content of workflow name's
// metadata.json, with the errors ReadMetadata returns. data may hold one
// byte more than MaxMetadataBytes, to be refused as too large.
func DecodeMetadata(name checkpoint.WorkflowName, data []byte) (*Metadata, error) {
	if len(data) > MaxMetadataBytes {
		return nil, MetadataReadError(name.String(), fmt.Errorf("%s is larger than %d bytes", MetadataPath(name), MaxMetadataBytes))
	}
	m, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("workflow_type %s: %w; fix the file (mcpflow workflows lists every problem)", name, err)
	}
	return m, nil
}

// CheckTaskFile accepts a task file name that stays inside its phase
// folder: a relative, slash-separated path with no "." or ".." element and
// no NUL byte or backslash.
func CheckTaskFile(file string) error {
	if file == "" || !fs.ValidPath(file) || file == "." || strings.ContainsAny(file, "\x00\\") {
		return fmt.Errorf("file %s must be a relative path inside the phase folder, without '..', a leading '/', a backslash or a NUL byte", state.Quote(file))
	}
	return nil
}

// ReadTaskFile reads <workflow>/phases/<phase>/<file>.
func ReadTaskFile(fsys fs.FS, workflow string, phase int, file string) (string, error) {
	if err := CheckTaskFile(file); err != nil {
		return "", state.Errorf(state.ErrCorrupt, "workflow %s phase %d: task %w", workflow, phase, err)
	}
	name := path.Join(workflow, "phases", strconv.Itoa(phase), file)
	data, err := ReadFile(fsys, name, MaxContentBytes)
	if err != nil {
		return "", state.Errorf(state.ErrNotFound, "workflow %s phase %d: task file %s cannot be read (%w); fix metadata.json or add the file", workflow, phase, file, err)
	}
	return string(data), nil
}
