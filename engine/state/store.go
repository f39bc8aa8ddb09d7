package state

import "context"

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
	// It costs the whole store: callers that serve clients use ListPage.
	List(ctx context.Context) ([]SessionSummary, error)
	// ListPage returns one page of summaries in listing order (see
	// ListKey), of the sessions that follow q.After and match q.Status.
	// Its cost is bounded by q.Limit, not by the number of sessions. A
	// session that exists from the first page to the last, with the same
	// created_at, is listed exactly once; one created or deleted
	// meanwhile may or may not be. A session whose state cannot be
	// decoded is listed with its Error set when q.Status is "". It
	// returns an error wrapping ErrInvalidArgument when q fails Check.
	ListPage(ctx context.Context, q PageQuery) (Page, error)
}

// SharedStore is a Store that other processes write at the same time, and
// that can tell cheaply whether the version a caller holds is still
// current (the Redis store answers from its client-side cache, which Redis
// invalidates). With one, the Engine checks the version before every call
// on a session, so that its session cache only saves decoding: it never
// serves a version older than the store's.
type SharedStore interface {
	Store
	// LoadNewer is Load for a caller that holds version have: when the
	// stored version is still have, it returns a nil state and have,
	// without decoding.
	// id was checked by ParseSessionID; LoadNewer takes it as it is.
	LoadNewer(ctx context.Context, id SessionID, have Version) (*SessionState, Version, error)
}

// SessionStarter is implemented by a Store shared between processes that
// can create a session or find the pair's active one in one atomic step.
// When the Engine's Store implements it, Start asks the store instead of
// the engine's own pair index, so that concurrent Starts of one pair in
// any number of processes create one session.
type SessionStarter interface {
	// CreateOrResume saves st, a new active session, unless its
	// (workflow_type, target_file) pair already has an active session,
	// which it returns instead with created false. It returns the stored
	// state and its version.
	CreateOrResume(ctx context.Context, st *SessionState) (stored *SessionState, ver Version, created bool, err error)
}

// CheckStateSize returns the error a Store's Save gives, before writing
// anything, for an encoded state of size bytes when the store reads back at
// most limit bytes: a save that could not be read back must never be
// acknowledged. The error wraps ErrInvalidArgument and says what to do.
func CheckStateSize(id string, size, limit int) error {
	if size <= limit {
		return nil
	}
	return Errorf(ErrInvalidArgument, "session_id %s: the saved state would be %d bytes, over the store's limit of %d bytes; submit smaller evidence, or start a new session for the rest of the work", id, size, limit)
}
