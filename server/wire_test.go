package server

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine"
)

// TestStartOutFieldNames: start_workflow's result carries the prAxIs OS
// field names. (Moved here from the engine's TestStartCreatesSession when
// the engine's results lost their JSON tags: the names are the server's.)
func TestStartOutFieldNames(t *testing.T) {
	en, err := engine.New(engine.Config{StateDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = en.Close() })
	r, err := en.Start(t.Context(), engine.MustParseWorkflowName("bug_fix"), "src/a.go", map[string]any{"depth": "full"})
	require.NoError(t, err)

	b, err := json.Marshal(newStartOut(r))
	require.NoError(t, err)
	for _, k := range []string{"session_id", "workflow_type", "target_file", "current_phase", "phase_content", "tasks", "resumed"} {
		assert.Contains(t, string(b), `"`+k+`"`)
	}
}

// gateForWire is strict, with an override, and checks a boolean, an
// integer and a string.
const gateForWire = `
checkpoint: {strict: true, allow_override: true}
evidence_schema:
  done: {type: boolean, required: true, enum: [true]}
  count: {type: integer, required: true, min: 1, max: 10}
  name: {type: string, min_length: 2}
`

// TestValidationOutFieldNames: complete_phase's validation_result has the
// checkpoint result's fields under their wire names. (Moved here from
// checkpoint's TestValidateDiagnostics when checkpoint.Result lost its
// JSON tags.)
func TestValidationOutFieldNames(t *testing.T) {
	g, err := checkpoint.ParseGate([]byte(gateForWire), "test.yaml")
	require.NoError(t, err)
	r := checkpoint.Validate(g, map[string]any{"count": 0.0, "extra": 1.0, "name": "x"})
	require.False(t, r.CheckpointPassed)

	b, err := json.Marshal(newValidationOut(&r, time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	for _, k := range []string{`"checkpoint_passed":false`, `"fields_submitted"`, `"fields_required"`, `"fields_missing"`, `"fields_failed"`, `"strict_mode":true`, `"gate_source":"test.yaml"`, `"remediation"`,
		`"validation_timestamp":"2026-12-04T20:00:00Z"`, `"next_steps":["Read the phase's validation gate`, `"Submit the evidence again with complete_phase"]`} {
		assert.Contains(t, string(b), k)
	}
	assert.Contains(t, string(b), `"allow_override":true`)
	assert.Contains(t, string(b), `"errors":["`)
	assert.Contains(t, string(b), `"warnings":["extra: `)
}

// TestValidationOutListsAreNeverNull: with no evidence at all the gate's
// FieldsSubmitted is nil, and the wire still says [] as its schema
// (type array, not null) requires.
func TestValidationOutListsAreNeverNull(t *testing.T) {
	g, err := checkpoint.ParseGate([]byte(gateForWire), "test.yaml")
	require.NoError(t, err)
	r := checkpoint.Validate(g, map[string]any{})
	require.Nil(t, r.Diagnostics.FieldsSubmitted, "precondition: the domain leaves it nil")

	var got map[string]any
	b, err := json.Marshal(newValidationOut(&r, time.Time{}))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	d, ok := got["diagnostics"].(map[string]any)
	require.True(t, ok, "diagnostics is an object: %s", b)
	for _, k := range []string{"fields_submitted", "fields_required", "fields_missing", "fields_failed"} {
		assert.IsType(t, []any{}, d[k], "%s in %s", k, b)
	}
	assert.IsType(t, []any{}, got["errors"])
	assert.IsType(t, []any{}, got["warnings"])
}

// TestCompletePhaseSchemaDescribesValidationResult: validation_result is
// declared field by field, not as a free-form object.
func TestCompletePhaseSchemaDescribesValidationResult(t *testing.T) {
	s := &Server{}
	tools := s.tools()
	require.NoError(t, portableSchemas(tools))
	var schema map[string]any
	for _, st := range tools {
		if st.Tool.Name == ToolCompletePhase {
			require.NoError(t, json.Unmarshal(st.Tool.RawOutputSchema, &schema))
		}
	}
	require.NotNil(t, schema, "complete_phase has an output schema")
	vr := property(t, schema, "validation_result")
	assert.Equal(t, "object", vr["type"])
	assert.Equal(t, false, vr["additionalProperties"], "not free-form")
	assert.Equal(t, "array", property(t, vr, "errors")["type"])
	assert.Equal(t, "array", property(t, vr, "warnings")["type"])
	assert.Equal(t, "string", property(t, vr, "remediation")["type"])
	assert.Equal(t, "boolean", property(t, vr, "checkpoint_passed")["type"])
	assert.ElementsMatch(t, []any{"checkpoint_passed", "errors", "warnings", "diagnostics", "next_steps", "checks"}, vr["required"], "remediation is left out when empty")
	diag := property(t, vr, "diagnostics")
	assert.Equal(t, "object", diag["type"])
	for _, k := range []string{"fields_submitted", "fields_required", "fields_missing", "fields_failed"} {
		assert.Equal(t, "array", property(t, diag, k)["type"], k)
	}
	for _, k := range []string{"strict_mode", "allow_override"} {
		assert.Equal(t, "boolean", property(t, diag, k)["type"], k)
	}
	assert.Equal(t, "string", property(t, diag, "gate_source")["type"])
}

// property returns the schema of the named property of the object schema s.
func property(t *testing.T, s map[string]any, name string) map[string]any {
	t.Helper()
	props, ok := s["properties"].(map[string]any)
	require.True(t, ok, "schema has properties: %v", s)
	p, ok := props[name].(map[string]any)
	require.True(t, ok, "schema has property %s: %v", name, props)
	return p
}
