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
