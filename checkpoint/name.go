package checkpoint

import "fmt"

// WorkflowName is a workflow's name: one plain folder name inside the
// workflows folder (1 to 128 letters, digits, '_', '-' or '.', not
// starting with '.'), so it cannot climb out of that folder or name an
// absolute path. Only ParseWorkflowName and MustParseWorkflowName make
// one, so a name is checked once, where it enters the program (a tool
// argument, a state file, a command line), and the layers below (the
// engine, its metadata cache, the gate Loader) take it as it is. The zero
// WorkflowName is no workflow's name.
//
// It lives here, the lowest package that takes a workflow name (the gate
// Loader keys its cache by it), so that engine/workflows, engine and
// server can all take it without a new import.
type WorkflowName struct{ name string }

// ParseWorkflowName checks that name is a workflow folder name. The error
// is a *NameError wrapping ErrInvalidArgument.
func ParseWorkflowName(name string) (WorkflowName, error) {
	if !ValidName(name) {
		return WorkflowName{}, &NameError{Name: name}
	}
	return WorkflowName{name}, nil
}

// MustParseWorkflowName is ParseWorkflowName for a name known to be good
// (a constant, a test's): it panics when name is not a workflow name.
func MustParseWorkflowName(name string) WorkflowName {
	wf, err := ParseWorkflowName(name)
	if err != nil {
		panic(err)
	}
	return wf
}

// String returns the name ("" for the zero WorkflowName).
func (w WorkflowName) String() string { return w.name }

// IsZero reports whether w is the zero WorkflowName.
func (w WorkflowName) IsZero() bool { return w.name == "" }

// NameError is ParseWorkflowName's error: Name is not a workflow folder
// name. It wraps ErrInvalidArgument. The layers above present it in their
// own words from Name (the engine as a FieldError naming workflow_type,
// the server as a bad tool argument).
type NameError struct {
	// Name is the name as given.
	Name string
}

// Error says what a workflow name must be.
func (e *NameError) Error() string {
	return fmt.Sprintf("%v: workflow name %q must be a folder name of letters, digits, '_', '-' and '.', not starting with '.'", ErrInvalidArgument, e.Name)
}

// Unwrap returns ErrInvalidArgument.
func (e *NameError) Unwrap() error { return ErrInvalidArgument }
