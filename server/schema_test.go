package server

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPortablePropertyRewrites(t *testing.T) {
	in := `{"type":"object","properties":{
		"list":{"type":["null","array"],"items":{"type":"object","properties":{"tags":{"type":["null","array"],"items":{"type":"string"}}}}},
		"next":{"type":["null","integer"],"description":"or null"},
		"free":{"description":"anything"},
		"total_phases":{},
		"plain":{"type":"string"}}}`
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(in), &s))
	portable(s)
	out, err := json.Marshal(s)
	require.NoError(t, err)
	want := `{"properties":{
		"free":{"additionalProperties":true,"description":"anything","type":"object"},
		"list":{"items":{"properties":{"tags":{"items":{"type":"string"},"type":"array"}},"type":"object"},"type":"array"},
		"next":{"anyOf":[{"type":"null"},{"type":"integer"}],"description":"or null"},
		"plain":{"type":"string"},
		"total_phases":{"anyOf":[{"minimum":0,"type":"integer"},{"enum":["dynamic"],"type":"string"}]}},
		"type":"object"}`
	assert.JSONEq(t, want, string(out))
}

// TestEveryToolHasBehaviourHints: readOnlyHint, destructiveHint and
// idempotentHint are set, not left to the client's defaults, on every
// tool, and the read-only tools say so.
func TestEveryToolHasBehaviourHints(t *testing.T) {
	s := &Server{}
	for _, st := range append(s.tools(), s.reindexTool()) {
		a := st.Tool.Annotations
		require.NotNil(t, a.ReadOnlyHint, st.Tool.Name)
		require.NotNil(t, a.DestructiveHint, st.Tool.Name)
		require.NotNil(t, a.IdempotentHint, st.Tool.Name)
		switch st.Tool.Name {
		case ToolStartWorkflow, ToolCompletePhase, ToolDeleteSession, ToolReindexStandards:
			assert.False(t, *a.ReadOnlyHint, st.Tool.Name)
		default:
			assert.True(t, *a.ReadOnlyHint, st.Tool.Name)
		}
		assert.Equal(t, st.Tool.Name == ToolDeleteSession, *a.DestructiveHint, st.Tool.Name)
	}
}
