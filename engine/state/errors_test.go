package state

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldErrorMatchesKindAndCause(t *testing.T) {
	cause := errors.New("unexpected end of JSON input")
	err := error(&FieldError{Kind: ErrCorrupt, Field: "session_id", Value: "abc", Problem: "state file abc.json", Err: cause})
	assert.Equal(t, "engine: corrupt: session_id abc: state file abc.json: unexpected end of JSON input", err.Error())
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorIs(t, err, cause)
	require.NotErrorIs(t, err, ErrNotFound)

	wrapped := fmt.Errorf("load: %w", &FieldError{Kind: ErrNotFound, Field: "workflow_type", Problem: "no such workflow"})
	fe, ok := errors.AsType[*FieldError](wrapped)
	require.True(t, ok)
	assert.Equal(t, "workflow_type", fe.Field)
	assert.Equal(t, "load: engine: not found: workflow_type: no such workflow", wrapped.Error())
}

// TestErrorfWritesWhatFmtWrote checks that Errorf's text is byte for byte
// what fmt.Errorf("%w: ...", kind, ...) wrote before it, and that it
// matches the kind and what the detail wraps.
func TestErrorfWritesWhatFmtWrote(t *testing.T) {
	cause := errors.New("permission denied")
	for _, kind := range []error{ErrNotFound, ErrInvalidArgument, ErrAlreadyCompleted, ErrWrongPhase,
		ErrConflict, ErrCorrupt, ErrClosed, ErrSpecMissing, ErrPaused, ErrNoProjectFolder} {
		err := Errorf(kind, "session_id %s: read (%w); delete it", "abc", cause)
		assert.Equal(t, fmt.Errorf("%w: session_id %s: read (%w); delete it", kind, "abc", cause).Error(), err.Error())
		require.ErrorIs(t, err, kind)
		require.ErrorIs(t, err, cause)
	}
	err := Errorf(nil, "state folder %s: %w", "/tmp/x", cause)
	assert.Equal(t, "engine: state folder /tmp/x: permission denied", err.Error())
	require.ErrorIs(t, err, cause)
	require.NotErrorIs(t, err, ErrCorrupt)
}

// TestMessageLeavesOutThePackageName checks Message on every form of the
// package's errors, and that an error wrapping one keeps its text whole.
func TestMessageLeavesOutThePackageName(t *testing.T) {
	cause := errors.New("unexpected end of JSON input")
	for _, c := range []struct {
		err  error
		want string
	}{
		{ErrNotFound, "not found"},
		{ErrPaused, "session paused"},
		{Errorf(ErrWrongPhase, "phase %d is not the current phase %d", 2, 1), "wrong phase: phase 2 is not the current phase 1"},
		{Errorf(nil, "session %s: encode state: %w", "abc", cause), "session abc: encode state: unexpected end of JSON input"},
		{&FieldError{Kind: ErrCorrupt, Field: "session_id", Value: "abc", Problem: "state file abc.json", Err: cause},
			"corrupt: session_id abc: state file abc.json: unexpected end of JSON input"},
		{&FieldError{Kind: ErrInvalidArgument, Field: "workflow_type", Problem: "must be a name"}, "invalid argument: workflow_type: must be a name"},
		{&FieldError{Kind: cause, Field: "x", Problem: "p"}, "unexpected end of JSON input: x: p"},
		{fmt.Errorf("load: %w", ErrNotFound), "load: engine: not found"},
		{fmt.Errorf("%w; retry", Errorf(ErrConflict, "state changed")), "engine: conflict: state changed; retry"},
		{cause, "unexpected end of JSON input"},
	} {
		assert.Equal(t, c.want, Message(c.err))
	}
}
