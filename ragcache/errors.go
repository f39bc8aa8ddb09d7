package ragcache

import (
	"errors"
	"fmt"
)

// ErrInvalidQuery is wrapped by every error Search and Query.Canonical
// return for a bad Query. Use errors.As with *QueryError to learn the field.
var ErrInvalidQuery = errors.New("ragcache: invalid query")

// ErrInvalidConfig is wrapped by every error Open returns for a bad Config.
var ErrInvalidConfig = errors.New("ragcache: invalid config")

// ErrClosed is returned by Search and Reindex after Close.
var ErrClosed = errors.New("ragcache: index closed")

// QueryError describes one invalid field of a Query. It wraps
// ErrInvalidQuery.
type QueryError struct {
	// Field names the offending field as the search tool's arguments call
	// it: "query" (Query.Text), "limit" (Query.Limit), "phase" or "tags".
	// An adapter that names the limit differently (for example n_results)
	// should rename it.
	Field string
	// Problem says what is wrong and how to fix it, without the field name.
	Problem string
}

// Error returns "ragcache: invalid query: <field>: <problem>".
func (e *QueryError) Error() string {
	return fmt.Sprintf("%v: %s: %s", ErrInvalidQuery, e.Field, e.Problem)
}

// Unwrap returns ErrInvalidQuery.
func (e *QueryError) Unwrap() error { return ErrInvalidQuery }

func queryErr(field, format string, args ...any) error {
	return &QueryError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
