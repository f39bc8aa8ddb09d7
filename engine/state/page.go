package state

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
)

// Listing: every Store lists its sessions in one order, the newest
// created first and, among sessions created in the same microsecond, by
// session ID. A session's place in that order is its ListKey. Since
// created_at never changes once a session is saved, a place never moves:
// a page that starts after a given key is stable under concurrent
// creates, saves and deletes of other sessions.

// DefaultPageLimit is the page size a caller gets when it asks for none.
const DefaultPageLimit = 50

// MaxPageLimit is the largest page ListPage returns.
const MaxPageLimit = 500

// ListKey is a session's place in the listing order: Created is its
// created_at in Unix microseconds, ID its session ID. A session whose
// state cannot be decoded has Created math.MinInt64 and lists last.
type ListKey struct {
	Created int64
	ID      string
}

// KeyOf returns the listing key of a summary.
func KeyOf(sum *SessionSummary) ListKey {
	if sum.Error != "" {
		return ListKey{Created: math.MinInt64, ID: sum.SessionID}
	}
	return ListKey{Created: sum.CreatedAt.UnixMicro(), ID: sum.SessionID}
}

// KeyOfState returns the listing key of a state.
func KeyOfState(st *SessionState) ListKey {
	return ListKey{Created: st.CreatedAt.UnixMicro(), ID: st.SessionID}
}

// Compare returns -1 when k lists before o, +1 when after, 0 when they
// are the same place.
func (k ListKey) Compare(o ListKey) int {
	switch {
	case k.Created > o.Created:
		return -1
	case k.Created < o.Created:
		return 1
	case k.ID < o.ID:
		return -1
	case k.ID > o.ID:
		return 1
	}
	return 0
}

// String returns the key as 16 hexadecimal digits followed by the session
// ID; strings of keys sort bytewise in listing order (the Redis store
// keeps them in sorted sets ordered by bytes).
func (k ListKey) String() string {
	var b [8]byte
	// Flip the sign bit so that the int64 order is the uint64 order, then
	// invert, so that newer (larger) times come first.
	binary.BigEndian.PutUint64(b[:], ^(uint64(k.Created) ^ (1 << 63)))
	return hex.EncodeToString(b[:]) + k.ID
}

// ParseListKey parses what String returns. The error wraps
// ErrInvalidArgument.
func ParseListKey(s string) (ListKey, error) {
	if len(s) != 16+36 {
		return ListKey{}, Errorf(ErrInvalidArgument, "list key has %d bytes, want 52", len(s))
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], []byte(s[:16])); err != nil || s[:16] != hex.EncodeToString(b[:]) {
		return ListKey{}, Errorf(ErrInvalidArgument, "list key: time is not 16 lower-case hexadecimal digits")
	}
	id := s[16:]
	if !isCanonicalID(id) {
		return ListKey{}, Errorf(ErrInvalidArgument, "list key: session id is not a canonical UUID")
	}
	return ListKey{Created: int64(^binary.BigEndian.Uint64(b[:]) ^ (1 << 63)), ID: id}, nil
}

// StatusGateFailed is the PageQuery Status that keeps the active sessions
// whose last gate attempt failed (SessionSummary.GateFailed; prAxIs OS's
// session status "error"). It is never a session's own Status.
const StatusGateFailed Status = "error"

// StatusPaused is the PageQuery Status that keeps the active sessions
// that are paused (SessionSummary.Paused; prAxIs OS's session status
// "paused", which it ranks before "error"). It is never a session's own
// Status.
const StatusPaused Status = "paused"

// SessionStatus returns prAxIs OS's session_status of a session whose
// Status is status: StatusCompleted, else StatusPaused when it is paused,
// else StatusGateFailed when its current phase's last gate attempt failed,
// else StatusActive; the order of precedence prAxIs OS's session handlers
// use. It is the one reading of that status for every listing (the tools,
// the sessions command, the dashboard) and for the PageQuery filters.
func SessionStatus(status Status, paused, gateFailed bool) Status {
	switch {
	case status == StatusCompleted:
		return StatusCompleted
	case paused:
		return StatusPaused
	case gateFailed:
		return StatusGateFailed
	}
	return StatusActive
}

// PageQuery asks Store.ListPage for one page.
type PageQuery struct {
	// Status keeps the sessions of that status (StatusActive,
	// StatusCompleted, StatusGateFailed or StatusPaused); "" keeps every session, with
	// those whose state cannot be decoded (Error set).
	Status Status
	// After is where the page starts: just after this key. nil starts at
	// the newest session.
	After *ListKey
	// Limit is the most sessions returned, 1 to MaxPageLimit.
	Limit int
}

// Check returns an error wrapping ErrInvalidArgument, naming the field,
// when q cannot be asked.
func (q PageQuery) Check() error {
	switch q.Status {
	case "", StatusActive, StatusCompleted, StatusGateFailed, StatusPaused:
	default:
		return &FieldError{Kind: ErrInvalidArgument, Field: "status", Value: Quote(string(q.Status)), Problem: fmt.Sprintf("must be \"\" (all), %q, %q, %q or %q", StatusActive, StatusCompleted, StatusGateFailed, StatusPaused)}
	}
	if q.Limit < 1 || q.Limit > MaxPageLimit {
		return &FieldError{Kind: ErrInvalidArgument, Field: "limit", Value: fmt.Sprint(q.Limit), Problem: fmt.Sprintf("must be 1 to %d", MaxPageLimit)}
	}
	return nil
}

// Page is one page of sessions in listing order.
type Page struct {
	// Sessions holds at most the query's Limit summaries. It may hold
	// fewer, even none, while Next is set: a store bounds the work of one
	// page.
	Sessions []SessionSummary
	// Next is where the next page starts (its PageQuery.After), or nil
	// when the listing is done.
	Next *ListKey
}

// Matches reports whether sum belongs in a listing of status ("" for
// all).
func Matches(sum *SessionSummary, status Status) bool {
	switch {
	case status == "":
		return true
	case sum.Error != "":
		return false
	case status == StatusGateFailed, status == StatusPaused:
		return SessionStatus(sum.Status, sum.Paused, sum.GateFailed) == status
	}
	return sum.Status == status
}
