package engine

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// MaxTargetFileLen is the longest target_file accepted.
const MaxTargetFileLen = 4096

func checkTarget(target string) error {
	switch {
	case target == "":
		return state.Errorf(state.ErrInvalidArgument, "target_file is empty; pass the file or feature the workflow is about, for example src/auth/login.go")
	case len(target) > MaxTargetFileLen:
		return state.Errorf(state.ErrInvalidArgument, "target_file is %d bytes, more than the %d allowed", len(target), MaxTargetFileLen)
	case strings.ContainsRune(target, 0):
		return state.Errorf(state.ErrInvalidArgument, "target_file contains a NUL byte; pass a plain path or name")
	case !utf8.ValidString(target):
		return state.Errorf(state.ErrInvalidArgument, "target_file is not valid UTF-8")
	}
	return nil
}

// phaseContent returns phase n's phase.md and task list.
func (e *Engine) phaseContent(m *workflows.Metadata, workflow string, n int) (*PhaseContent, error) {
	pd, ok := m.Phase(n)
	if !ok {
		return nil, state.Errorf(state.ErrCorrupt, "phase %d is not in workflow %s; its metadata.json changed", n, workflow)
	}
	name := path.Join(workflow, "phases", strconv.Itoa(n), workflows.PhaseFile)
	data, err := workflows.ReadFile(e.wfFS, name, workflows.MaxContentBytes)
	if err != nil {
		return nil, state.Errorf(state.ErrCorrupt, "workflow %s: %s cannot be read (%w); add the file", workflow, name, err)
	}
	pc := &PhaseContent{
		Phase: n, PhaseName: pd.PhaseName, Purpose: pd.Purpose, Content: string(data), Tasks: make([]TaskInfo, 0, len(pd.Tasks)),
		ValidationGate: append([]string{}, pd.ValidationCriteria...), Source: SourceFile,
	}
	for _, t := range pd.Tasks {
		pc.Tasks = append(pc.Tasks, TaskInfo{TaskNumber: t.TaskNumber, Name: t.Name, File: t.File, Purpose: t.Purpose, Dependencies: []string{}})
	}
	return pc, nil
}

// evidenceError is the error for an argument (evidence or options) that
// checkpoint.CopyEvidence refused: prefix and its message, or name and
// the decoder's message when its encoding did not decode.
func evidenceError(name, prefix string, err error) error {
	if de, ok := errors.AsType[*checkpoint.DecodeError](err); ok {
		return state.Errorf(state.ErrInvalidArgument, "%s: %w", name, de.Err)
	}
	return state.Errorf(state.ErrInvalidArgument, "%s%w", prefix, err)
}
