package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSteps(t *testing.T) {
	md := "# Task\n\n🔍 QUERY-AND-DECIDE: which package owns it\n\n🛑 EXECUTE-NOW: count the tests\n```bash\ngo test ./... | wc -l\n```\n\n📊 COUNT-AND-DOCUMENT: number of tests\n\n🛑 EXECUTE-NOW:\n```\nmake lint\n```\n"
	assert.Equal(t, []Step{
		{Type: "decision_point", Description: "which package owns it"},
		{Type: "execute_command", Description: "count the tests", Command: "go test ./... | wc -l", EvidenceRequired: "number of tests"},
		{Type: "execute_command", Description: "Execute command", Command: "make lint"},
	}, Steps(md))
	assert.Empty(t, Steps("# Task\n\nRead the file.\n"))
	assert.NotNil(t, Steps(""))
}
