package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDependencyIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"None", []string{}},
		{"none.", []string{}},
		{"None (can run in parallel with 1.2)", []string{}},
		{"Task 1.2 (WorkflowEngine locking), Task 2.1 (CacheMetrics)", []string{"1.2", "2.1"}},
		{"Task 1.1, Task 1.2", []string{"1.1", "1.2"}},
		{"1-3 (schema) and Task 01.3 again", []string{"1.3"}},
		{"Phase 1 complete, design approved", []string{"Phase 1 complete", "design approved"}},
	} {
		task := Task{Dependencies: tc.in}
		assert.Equal(t, tc.want, task.DependencyIDs(), "%q", tc.in)
	}
}
