package checkpoint

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGateErrorHasItsParts: every ParseGate error is a GateError whose
// Problem is the message after the source, and whose YAML error, if any,
// stays wrapped.
func TestGateErrorHasItsParts(t *testing.T) {
	_, err := ParseGate([]byte("evidence_schema: [1]\n"), "p/gate.yaml")
	require.ErrorIs(t, err, ErrInvalidGate)
	ge, ok := errors.AsType[*GateError](err)
	require.True(t, ok, "%T", err)
	assert.Equal(t, "p/gate.yaml", ge.Source)
	assert.Equal(t, "checkpoint: invalid gate definition: p/gate.yaml: "+ge.Problem(), err.Error())
	assert.Contains(t, ge.Problem(), "evidence_schema (line 1): ")

	_, err = ParseGate([]byte("a: [\n"), "p/gate.yaml")
	ge, ok = errors.AsType[*GateError](err)
	require.True(t, ok)
	require.Error(t, ge.Err, "the YAML library's error is kept")
	require.ErrorIs(t, err, ge.Err)
	assert.Equal(t, "(document) is not valid YAML: "+ge.Err.Error(), ge.Problem())
}
