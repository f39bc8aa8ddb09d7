package engine

import "errors"

// Sentinel errors. Every error the Engine returns wraps one of these (or a
// context error), names the argument or field at fault, and says how to fix
// it. Test with errors.Is.
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
)
