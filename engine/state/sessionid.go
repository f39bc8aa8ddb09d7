package state

import "github.com/google/uuid"

// SessionID is a session's ID: a UUID in canonical form (lower case,
// hyphenated), safe to use as a file name. Only ParseSessionID,
// MustParseSessionID and NewSessionID make one, so a SessionID is checked
// once, where the ID enters the program (a tool argument, a command-line
// argument, a URL), and the layers below take it as it is. The zero
// SessionID is no session's ID.
type SessionID struct{ id string }

// ParseSessionID checks that id is a UUID and returns its canonical form.
// The error wraps ErrInvalidArgument and names session_id.
func ParseSessionID(id string) (SessionID, error) {
	countParse()
	if len(id) != 36 {
		return SessionID{}, badSessionID(id)
	}
	if isCanonicalID(id) {
		// Already canonical: no parse, no allocation.
		return SessionID{id}, nil
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return SessionID{}, badSessionID(id)
	}
	return SessionID{u.String()}, nil
}

// MustParseSessionID is ParseSessionID for an ID known to be good (a
// constant, a test's): it panics when id is not a UUID.
func MustParseSessionID(id string) SessionID {
	sid, err := ParseSessionID(id)
	if err != nil {
		panic(err)
	}
	return sid
}

// NewSessionID returns a new random session ID.
func NewSessionID() SessionID { return SessionID{uuid.NewString()} }

// String returns the ID in canonical form ("" for the zero SessionID).
func (s SessionID) String() string { return s.id }

// IsZero reports whether s is the zero SessionID.
func (s SessionID) IsZero() bool { return s.id == "" }

func badSessionID(id string) error {
	return &FieldError{Kind: ErrInvalidArgument, Field: "session_id", Value: Quote(id), Problem: "must be a UUID such as 123e4567-e89b-42d3-a456-426614174000, the ID a session was started with"}
}

// isCanonicalID reports whether id is a UUID in its canonical form, the
// lower-case hex with dashes that ParseSessionID returns, without
// allocating.
func isCanonicalID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
