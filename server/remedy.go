package server

import (
	"errors"

	"github.com/mcpflow/mcpflow/engine/state"
)

// remedy returns what a client does about a domain failure, in terms of
// the tools it can call, or "" when the message itself says it all. The
// engine's messages say what is wrong and name the field; this is the one
// place that names the tools.
func remedy(err error) string {
	var field string
	if fe, ok := errors.AsType[*state.FieldError](err); ok {
		field = fe.Field
	}
	switch {
	case errors.Is(err, state.ErrPaused):
		return "call resume_session (pos_workflow action resume) to resume it, then retry"
	case errors.Is(err, state.ErrSpecMissing):
		return "move the spec back to that path; or read the session with get_workflow_state, delete it with delete_session, and start the workflow again with options.spec_path naming where the spec is now"
	case errors.Is(err, state.ErrNoProjectFolder):
		return "this server was started without a project folder; start it with one to run spec-driven workflows"
	case errors.Is(err, state.ErrNotFound):
		switch field {
		case "session_id":
			return "call list_sessions to see the sessions, or start_workflow to start one"
		case "workflow_type":
			return "call list_workflows to see the workflows"
		}
		return "call list_sessions to see the sessions and list_workflows to see the workflows"
	case errors.Is(err, state.ErrWrongPhase):
		return "call get_current_phase to see which phase to complete"
	case errors.Is(err, state.ErrAlreadyCompleted):
		return "call get_workflow_state to see where the session stands"
	case errors.Is(err, state.ErrConflict):
		return "another client changed the session at the same moment: call get_current_phase and retry"
	case errors.Is(err, state.ErrCorrupt) && field == "session_id":
		return "call delete_session to delete it"
	case errors.Is(err, state.ErrInvalidArgument):
		switch field {
		case "session_id":
			return "pass the session_id that start_workflow returned (list_sessions shows them all)"
		case "workflow_type":
			return "call list_workflows to see the workflows"
		}
	}
	return ""
}

// withRemedy appends err's remedy to msg, if it has one.
func withRemedy(msg string, err error) string {
	if r := remedy(err); r != "" {
		return msg + "; " + r
	}
	return msg
}
