package checkpoint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseWorkflowName(t *testing.T) {
	for _, name := range []string{"bug_fix", "a", "v1.2-beta", "A_b-C.d"} {
		wf, err := ParseWorkflowName(name)
		require.NoError(t, err, name)
		assert.Equal(t, name, wf.String())
		assert.False(t, wf.IsZero())
	}
	for _, name := range []string{"", ".", "..", ".hidden", "../wf", "/etc", "a/b", `a\b`, "a\x00b", "a b", string(make([]byte, 129))} {
		wf, err := ParseWorkflowName(name)
		require.ErrorIs(t, err, ErrInvalidArgument, "%q", name)
		assert.True(t, wf.IsZero(), "%q", name)
		var ne *NameError
		require.ErrorAs(t, err, &ne)
		assert.Equal(t, name, ne.Name)
	}
	// The text the gate Loader gave for a bad name before the type.
	_, err := ParseWorkflowName("../wf")
	require.EqualError(t, err, `checkpoint: invalid argument: workflow name "../wf" must be a folder name of letters, digits, '_', '-' and '.', not starting with '.'`)
	assert.Equal(t, "x", MustParseWorkflowName("x").String())
	assert.Panics(t, func() { MustParseWorkflowName("..") })
	assert.True(t, WorkflowName{}.IsZero())
}
