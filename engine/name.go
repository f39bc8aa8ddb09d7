package engine

import (
	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// WorkflowName is a workflow's name, checked once where it enters the
// program (checkpoint.WorkflowName). Start, the resource reads and the
// metadata and gate caches take it as it is.
type WorkflowName = checkpoint.WorkflowName

// ParseWorkflowName checks that name is a workflow folder name (1 to 128
// letters, digits, '_', '-' or '.', not starting with '.'). The error is a
// state.FieldError of kind ErrInvalidArgument naming workflow_type.
func ParseWorkflowName(name string) (WorkflowName, error) {
	return workflows.ParseName(name)
}

// MustParseWorkflowName is ParseWorkflowName for a name known to be good
// (a constant, a test's): it panics when name is not a workflow name.
func MustParseWorkflowName(name string) WorkflowName {
	return checkpoint.MustParseWorkflowName(name)
}
