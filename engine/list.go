package engine

import (
	"context"
	"encoding/base64"

	"github.com/mcpflow/mcpflow/engine/state"
)

// StatusGateFailed is ListSessions' filter for the active sessions whose
// current phase's last gate attempt failed (prAxIs OS's session status
// "error").
const StatusGateFailed = string(state.StatusGateFailed)

// StatusPaused is ListSessions' filter for the paused sessions (prAxIs
// OS's session status "paused", which comes before "error").
const StatusPaused = string(state.StatusPaused)

// ListSessions returns one page of the store's sessions, newest created
// first (state.ListKey order). q.Status "" lists every session, with
// those whose state cannot be read (Error set); "active", "completed" and
// StatusGateFailed filter. q.Limit 0 asks for state.DefaultPageLimit sessions. Pass the
// returned Page.Next as the next query's After to read on: a session that
// exists throughout is listed exactly once, whatever is created, saved or
// deleted in between. The cost of a page is bounded by its limit, not by
// the number of sessions.
func (e *Engine) ListSessions(ctx context.Context, q state.PageQuery) (state.Page, error) {
	if err := e.check(ctx); err != nil {
		return state.Page{}, err
	}
	if q.Limit == 0 {
		q.Limit = state.DefaultPageLimit
	}
	if err := q.Check(); err != nil {
		return state.Page{}, err
	}
	return e.store.ListPage(ctx, q)
}

// RecentSessions calls fn with the summaries of the newest sessions, in
// listing order, until fn returns false or most sessions have been seen,
// whichever comes first; sessions whose state cannot be read are skipped.
// Its work is bounded by most: completions use it.
func (e *Engine) RecentSessions(ctx context.Context, most int, fn func(*state.SessionSummary) bool) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	q := state.PageQuery{Limit: min(most, state.MaxPageLimit)}
	for seen := 0; seen < most; {
		q.Limit = min(q.Limit, most-seen)
		p, err := e.store.ListPage(ctx, q)
		if err != nil {
			return err
		}
		for i := range p.Sessions {
			if p.Sessions[i].Error == "" && !fn(&p.Sessions[i]) {
				return nil
			}
		}
		seen += q.Limit
		if p.Next == nil {
			return nil
		}
		q.After = p.Next
	}
	return nil
}

// cursorPrefix versions the cursor format.
const cursorPrefix = "c1"

// EncodeCursor returns the opaque cursor that names the place k in the
// listing order, for a client to pass back; "" for nil (no next page).
func EncodeCursor(k *state.ListKey) string {
	if k == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + k.String()))
}

// ParseCursor reads a cursor EncodeCursor made; "" is the start of the
// listing (nil). The error is a FieldError naming cursor, of kind
// ErrInvalidArgument.
func ParseCursor(c string) (*state.ListKey, error) {
	if c == "" {
		return nil, nil
	}
	bad := func() error {
		return &state.FieldError{Kind: state.ErrInvalidArgument, Field: "cursor", Value: state.Quote(c),
			Problem: "is not a cursor this server gave; pass the next_cursor of the previous page, or omit it for the first page"}
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < len(cursorPrefix) || string(raw[:len(cursorPrefix)]) != cursorPrefix {
		return nil, bad()
	}
	k, err := state.ParseListKey(string(raw[len(cursorPrefix):]))
	if err != nil {
		return nil, bad()
	}
	return &k, nil
}
