package checkpoint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseGateApproval(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Approval
	}{
		{"absent", "checkpoint:\n  strict: true\n", ApprovalDefault},
		{"top level", "approval: required\n", ApprovalRequired},
		{"under checkpoint", "checkpoint:\n  strict: true\n  approval: required\n", ApprovalRequired},
		{"none", "approval: none\n", ApprovalNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGate([]byte(tc.yaml), "g.yaml")
			require.NoError(t, err)
			assert.Equal(t, tc.want, g.Approval)
		})
	}
}

func TestParseGateApprovalErrorNamesFieldAndLine(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"evidence_schema: {}\napproval: yes please\n", "g.yaml: approval (line 2): must be required or none, got"},
		{"checkpoint:\n  strict: true\n  approval: [required]\n", "g.yaml: checkpoint.approval (line 3): must be required or none"},
	} {
		_, err := ParseGate([]byte(tc.yaml), "g.yaml")
		require.ErrorIs(t, err, ErrInvalidGate)
		assert.Contains(t, err.Error(), tc.want)
	}
}
