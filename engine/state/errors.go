package state

import (
	"fmt"
	"strings"
)

// kind is the type of the package's sentinel errors. Its text is the
// package's name, "engine: ", and the problem; Message shows the problem
// alone.
type kind struct{ problem string }

func (k *kind) Error() string { return pkgPrefix + k.problem }

// pkgPrefix begins the text of the package's errors.
const pkgPrefix = "engine: "

// Error is a failure of the engine or a store that names no single field:
// Kind is the sentinel it is one of, Detail says the rest. Errorf makes
// one. errors.Is matches Kind and whatever Detail wraps.
type Error struct {
	// Kind is the sentinel the failure is one of: ErrNotFound,
	// ErrInvalidArgument, ErrCorrupt, ... It is nil for a failure of
	// none of them (a file system's, say), whose text is then the
	// package's name and Detail.
	Kind error
	// Detail says what is wrong, after the kind.
	Detail error
}

// Errorf returns an *Error of kind whose Detail is
// fmt.Errorf(format, a...): its text is "<kind>: <detail>", as
// fmt.Errorf("%w: "+format, kind, a...) would write it, or
// "engine: <detail>" when kind is nil.
func Errorf(kind error, format string, a ...any) error {
	return &Error{Kind: kind, Detail: fmt.Errorf(format, a...)}
}

// Error returns "<kind>: <detail>", or "engine: <detail>" without a Kind.
func (e *Error) Error() string {
	if e.Kind == nil {
		return pkgPrefix + e.Detail.Error()
	}
	return e.Kind.Error() + ": " + e.Detail.Error()
}

// Unwrap returns Kind, when set, and Detail.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Detail}
	}
	return []error{e.Kind, e.Detail}
}

// Message returns err's text for a person, who has no use for the
// package's name: a sentinel of this package, a FieldError or an Error
// without the "engine: " their text begins with. Any other error, one
// that wraps those included, keeps its text as it is: its own words come
// first. Only err itself is looked at, not what it wraps, since its text
// is the message.
func Message(err error) string {
	switch e := err.(type) { //nolint:errorlint // err itself: its text is the message, whatever it wraps
	case *kind:
		return e.problem
	case *FieldError:
		return e.text(Message(e.Kind))
	case *Error:
		if e.Kind == nil {
			return e.Detail.Error()
		}
		return Message(e.Kind) + ": " + e.Detail.Error()
	}
	return err.Error()
}

// Sentinel errors. Every error the Engine returns wraps one of these (or a
// context error) and names the argument or field at fault, in the domain's
// words: how the user fixes it (which tool to call, which flag to set) is
// for the caller to say; a FieldError tells it which field. Test with
// errors.Is.
var (
	// ErrNotFound: the session or workflow does not exist.
	ErrNotFound error = &kind{"not found"}
	// ErrInvalidArgument: an argument is malformed (not a UUID, a bad
	// workflow name, a negative phase, evidence too large, ...).
	ErrInvalidArgument error = &kind{"invalid argument"}
	// ErrAlreadyCompleted: the phase, or the whole workflow, is already
	// completed.
	ErrAlreadyCompleted error = &kind{"already completed"}
	// ErrWrongPhase: the phase is not the session's current phase.
	ErrWrongPhase error = &kind{"wrong phase"}
	// ErrConflict: the state changed under a conditional save (Store.Save
	// with a stale version).
	ErrConflict error = &kind{"conflict"}
	// ErrCorrupt: a state file or workflow definition cannot be decoded.
	// It concerns that one session or workflow only.
	ErrCorrupt error = &kind{"corrupt"}
	// ErrClosed: the Engine has been closed.
	ErrClosed error = &kind{"closed"}
	// ErrNotAwaiting: an approval or rejection names a phase that does
	// not await a human's decision (never did, or was decided already).
	ErrNotAwaiting error = &kind{"phase does not await approval"}
)

// ErrSpecMissing is the failure of a session whose spec (its spec_path)
// is no longer where the session names it: the kind of a FieldError whose
// Field is that spec_path field (metadata.spec_path or
// options.spec_path). The session itself is intact.
var ErrSpecMissing error = &kind{"spec missing"}

// ErrPaused is the refusal of a mutation of a paused session: it refuses
// mutations until it is resumed.
var ErrPaused error = &kind{"session paused"}

// ErrNoProjectFolder is the failure of a workflow that needs the project
// folder (to find a spec in) when the Engine was configured without one.
// It comes wrapped in a FieldError of kind ErrInvalidArgument.
var ErrNoProjectFolder error = &kind{"no project folder"}

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
func (e *FieldError) Error() string { return e.text(e.Kind.Error()) }

// text returns the message with kindText in place of the kind's.
func (e *FieldError) text(kindText string) string {
	var b strings.Builder
	b.WriteString(kindText)
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

// NoSession returns the FieldError of a session_id that names no session,
// of kind ErrNotFound; detail, when not "", says more in parentheses.
func NoSession(id, detail string) error {
	problem := "no such session"
	if detail != "" {
		problem += " (" + detail + ")"
	}
	return &FieldError{Kind: ErrNotFound, Field: "session_id", Value: id, Problem: problem}
}
