package state

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the Engine returns wraps one of these (or a
// context error) and names the argument or field at fault, in the domain's
// words: how the user fixes it (which tool to call, which flag to set) is
// for the caller to say; a FieldError tells it which field. Test with
// errors.Is.
var (
	// ErrNotFound: the session or workflow does not exist.
	ErrNotFound = errors.New("engine: not found")
	// ErrInvalidArgument: an argument is malformed (not a UUID, a bad
	// workflow name, a negative phase, evidence too large, ...).
	ErrInvalidArgument = errors.New("engine: invalid argument")
	// ErrAlreadyCompleted: the phase, or the whole workflow, is already
	// completed.
	ErrAlreadyCompleted = errors.New("engine: already completed")
	// ErrWrongPhase: the phase is not the session's current phase.
	ErrWrongPhase = errors.New("engine: wrong phase")
	// ErrConflict: the state changed under a conditional save (Store.Save
	// with a stale version).
	ErrConflict = errors.New("engine: conflict")
	// ErrCorrupt: a state file or workflow definition cannot be decoded.
	// It concerns that one session or workflow only.
	ErrCorrupt = errors.New("engine: corrupt")
	// ErrClosed: the Engine has been closed.
	ErrClosed = errors.New("engine: closed")
	// ErrNotAwaiting: an approval or rejection names a phase that does
	// not await a human's decision (never did, or was decided already).
	ErrNotAwaiting = errors.New("engine: phase does not await approval")
)

// ErrSpecMissing is the failure of a session whose spec (its spec_path)
// is no longer where the session names it: the kind of a FieldError whose
// Field is that spec_path field (metadata.spec_path or
// options.spec_path). The session itself is intact.
var ErrSpecMissing = errors.New("engine: spec missing")

// ErrPaused is the refusal of a mutation of a paused session: it refuses
// mutations until it is resumed.
var ErrPaused = errors.New("engine: session paused")

// ErrNoProjectFolder is the failure of a workflow that needs the project
// folder (to find a spec in) when the Engine was configured without one.
// It comes wrapped in a FieldError of kind ErrInvalidArgument.
var ErrNoProjectFolder = errors.New("engine: no project folder")

// FieldError is a failure that concerns one argument or field. Its message
// is in the domain's words only: it names the field and the value and says
// what is wrong, and it leaves the remedy to the caller, which knows how
// the user reached the engine (server/ names the tools to call, cmd/ the
// flags to set). errors.Is matches Kind and, when set, Err; errors.As finds
// the FieldError, so that a caller can read Field.
type FieldError struct {
	// Kind is the sentinel the failure is one of: ErrNotFound,
	// ErrInvalidArgument, ErrCorrupt, ...
	Kind error
	// Field names the argument or field at fault, e.g. "session_id" or
	// "workflow_type".
	Field string
	// Value is the value at fault as the message shows it (quoted where
	// it came from the caller), or "" when the message shows none.
	Value string
	// Problem says what is wrong, e.g. "no such session".
	Problem string
	// Err is the underlying failure, or nil. Its text follows Problem.
	Err error
}

// Error returns "<kind>: <field> <value>: <problem>[: <err>]".
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(": ")
	b.WriteString(e.Field)
	if e.Value != "" {
		b.WriteString(" ")
		b.WriteString(e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Kind, and Err when it is set.
func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Quote quotes a caller-supplied value for an error message, cut short.
func Quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}
