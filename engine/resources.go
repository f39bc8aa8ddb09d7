package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// The methods in this file expose a workflow's files to MCP resource
// readers (and their completions). Like every other definition read they
// go to disk on each call, through the os.Root of the workflows folder.

// WorkflowNames lists the folders of the workflows folder that can be
// workflows, sorted; list_workflows describes each.
func (e *Engine) WorkflowNames(ctx context.Context) ([]string, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	names, err := workflows.Names(e.wfFS)
	if err != nil {
		return nil, state.Errorf(nil, "the workflows folder cannot be read: %w", err)
	}
	return names, nil
}

// Metadata returns a workflow's parsed metadata.json, cached and parsed
// again on the first call after the file changes.
// The result is shared and must not be modified. The error wraps
// ErrNotFound for an unknown workflow and ErrCorrupt for a bad file.
func (e *Engine) Metadata(ctx context.Context, workflowType WorkflowName) (*workflows.Metadata, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	return e.metadata(ctx, workflowType)
}

// WorkflowPhases lists the phase folders of a workflow (phases/<N>), in
// increasing order.
func (e *Engine) WorkflowPhases(ctx context.Context, workflowType WorkflowName) ([]int, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if err := zeroName(workflowType); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(e.wfFS, path.Join(workflowType.String(), "phases"))
	if err != nil {
		return nil, notFoundOr(err, "workflow_type %s has no phases folder", workflowType)
	}
	var out []int
	for _, d := range entries {
		if n, err := strconv.Atoi(d.Name()); err == nil && n >= 0 && d.IsDir() && strconv.Itoa(n) == d.Name() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// PhaseFiles lists the files of one phase folder that a client may read
// (markdown and YAML: phase.md, the task files, gate-definition.yaml),
// sorted.
func (e *Engine) PhaseFiles(ctx context.Context, workflowType WorkflowName, phase int) ([]string, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if err := zeroName(workflowType); err != nil {
		return nil, err
	}
	if phase < 0 {
		return nil, state.Errorf(state.ErrInvalidArgument, "phase must be 0 or more, got %d", phase)
	}
	entries, err := fs.ReadDir(e.wfFS, path.Join(workflowType.String(), "phases", strconv.Itoa(phase)))
	if err != nil {
		return nil, notFoundOr(err, "workflow_type %s has no phase %d", workflowType, phase)
	}
	var out []string
	for _, d := range entries {
		if d.Type().IsRegular() && readableFile(d.Name()) {
			out = append(out, d.Name())
		}
	}
	return out, nil
}

// ReadPhaseFile reads <workflow>/phases/<phase>/<file>, a markdown or YAML
// file of at most MaxContentBytes. file must be a plain name inside the
// phase folder; the os.Root of the workflows folder refuses any link that
// leads outside it. The error wraps ErrInvalidArgument for a bad name and
// ErrNotFound for a missing file.
func (e *Engine) ReadPhaseFile(ctx context.Context, workflowType WorkflowName, phase int, file string) ([]byte, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	if err := zeroName(workflowType); err != nil {
		return nil, err
	}
	if phase < 0 {
		return nil, state.Errorf(state.ErrInvalidArgument, "phase must be 0 or more, got %d", phase)
	}
	if err := workflows.CheckTaskFile(file); err != nil || strings.Contains(file, "/") || !readableFile(file) {
		return nil, state.Errorf(state.ErrInvalidArgument, "file %s must be the name of a .md or .yaml file in the phase folder", state.Quote(file))
	}
	data, err := workflows.ReadFile(e.wfFS, path.Join(workflowType.String(), "phases", strconv.Itoa(phase), file), workflows.MaxContentBytes)
	if err != nil {
		return nil, notFoundOr(err, "workflow_type %s phase %d has no file %s", workflowType, phase, file)
	}
	return data, nil
}

// readableFile reports whether a phase folder's file is served.
func readableFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".yaml", ".yml":
		return true
	}
	return false
}

// notFoundOr wraps ErrNotFound for a missing file, ErrCorrupt otherwise.
func notFoundOr(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, fs.ErrNotExist) {
		return state.Errorf(state.ErrNotFound, "%s", msg)
	}
	return state.Errorf(state.ErrCorrupt, "%s: %w", msg, err)
}
