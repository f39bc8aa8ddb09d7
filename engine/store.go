package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Version counts the saves of one session's state. A state that was never
// saved has version 0; each successful Save adds one.
type Version int64

// Store persists session states. It is the seam for a store shared between
// processes (Redis, a database): the Engine needs nothing else from it.
//
// Implementations must be safe for concurrent use by multiple goroutines.
// Errors wrap ErrNotFound, ErrConflict, ErrCorrupt or ErrInvalidArgument as
// documented on each method, and concern one session only.
type Store interface {
	// Load returns the state saved for id and its version. It returns
	// ErrNotFound when there is none and ErrCorrupt when the saved state
	// cannot be decoded.
	Load(ctx context.Context, id string) (*SessionState, Version, error)
	// Save stores st under st.SessionID if the saved version is still
	// expected, and returns the new version (expected+1). expected 0
	// means "create": the session must not exist yet. It returns
	// ErrConflict when the saved version differs from expected (or the
	// session exists on create), and ErrNotFound when expected is above 0
	// and the session no longer exists. Save must be atomic: a reader, or
	// a process that crashes during Save, sees the old state or the new
	// one, never a mix.
	Save(ctx context.Context, st *SessionState, expected Version) (Version, error)
	// Delete removes the session. It returns ErrNotFound when there is
	// none.
	Delete(ctx context.Context, id string) error
	// List returns a summary of every saved session, in no particular
	// order. A session whose state cannot be decoded is listed with its
	// Error set; List itself fails only when the store cannot be read.
	List(ctx context.Context) ([]SessionSummary, error)
}

// ParseSessionID checks that id is a UUID and returns its canonical form
// (lower case, hyphenated), so that it is safe to use as a file name. The
// error wraps ErrInvalidArgument and names session_id.
func ParseSessionID(id string) (string, error) {
	if len(id) != 36 {
		return "", badSessionID(id)
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return "", badSessionID(id)
	}
	return u.String(), nil
}

func badSessionID(id string) error {
	return &FieldError{Kind: ErrInvalidArgument, Field: "session_id", Value: quoteArg(id), Problem: "must be a UUID such as 123e4567-e89b-42d3-a456-426614174000, the ID a session was started with"}
}

// CheckStateSize returns the error a Store's Save gives, before writing
// anything, for an encoded state of size bytes when the store reads back at
// most limit bytes: a save that could not be read back must never be
// acknowledged. The error wraps ErrInvalidArgument and says what to do.
func CheckStateSize(id string, size, limit int) error {
	if size <= limit {
		return nil
	}
	return fmt.Errorf("%w: session_id %s: the saved state would be %d bytes, over the store's limit of %d bytes; submit smaller evidence, or start a new session for the rest of the work", ErrInvalidArgument, id, size, limit)
}

// quoteArg quotes a caller-supplied value for an error message, cut short.
func quoteArg(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// summarize returns the summary of st.
func summarize(st *SessionState) SessionSummary {
	return SessionSummary{
		SessionID:       st.SessionID,
		WorkflowType:    st.WorkflowType,
		TargetFile:      st.TargetFile,
		CurrentPhase:    st.CurrentPhase,
		CompletedPhases: append([]int{}, st.CompletedPhases...),
		Status:          st.Status,
		CreatedAt:       st.CreatedAt,
		UpdatedAt:       st.UpdatedAt,
	}
}

func isStateFile(name string) (string, bool) {
	id, ok := strings.CutSuffix(name, ".json")
	if !ok {
		return "", false
	}
	if canon, err := ParseSessionID(id); err != nil || canon != id {
		return "", false
	}
	return id, true
}
