package checkpoint

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustGate(t *testing.T, src string) *Gate {
	t.Helper()
	g, err := ParseGate([]byte(src), "test.yaml")
	require.NoError(t, err)
	return g
}

// decode gives evidence the shape encoding/json gives it.
func decode(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &m))
	return m
}

func TestValidateRules(t *testing.T) {
	g := mustGate(t, fullGate)
	base := `"done": true, "count": 2`
	tests := []struct {
		name     string
		evidence string
		// failed is the field expected in FieldsFailed or FieldsMissing
		// with an error starting with it; "" means the gate passes.
		failed string
		msg    string
	}{
		{"minimal valid", `{` + base + `}`, "", ""},
		{"all fields valid", `{` + base + `, "ratio": 0.5, "name": "beta", "info": {"a": 1}, "items": [1, 2], "legacy": {}}`, "", ""},
		{"required missing", `{"count": 2}`, "done", "required boolean field is missing"},
		{"required null", `{"done": null, "count": 2}`, "done", "is null"},
		{"optional absent is fine", `{` + base + `}`, "", ""},
		{"optional null is absent", `{` + base + `, "ratio": null}`, "", ""},
		{"bool is not integer", `{"done": true, "count": true}`, "count", "must be an integer, got a boolean"},
		{"string is not integer", `{"done": true, "count": "2"}`, "count", `must be an integer, got a string "2"`},
		{"integer must be integral", `{"done": true, "count": 2.5}`, "count", "must be an integer (a whole number), got 2.5"},
		{"integral float is integer", `{"done": true, "count": 2.0}`, "", ""},
		{"integer below min", `{"done": true, "count": 0}`, "count", "must be at least 1, got 0"},
		{"integer above max", `{"done": true, "count": 11}`, "count", "must be at most 10, got 11"},
		{"integer not in enum", `{"done": true, "count": 3}`, "count", "must be one of [1, 2, 5], got 3"},
		{"number is not bool", `{` + base + `, "ratio": false}`, "ratio", "must be a number, got a boolean"},
		{"number above max", `{` + base + `, "ratio": 1.5}`, "ratio", "must be at most 1, got 1.5"},
		{"number below min", `{` + base + `, "ratio": -0.1}`, "ratio", "must be at least 0, got -0.1"},
		{"bool is not string", `{"done": 1, "count": 2}`, "done", "must be true or false, got the integer 1"},
		{"bool not in enum", `{"done": false, "count": 2}`, "done", "must be one of [true], got false"},
		{"string too short", `{` + base + `, "name": "a"}`, "name", "must be at least 2 characters long, got 1"},
		{"string too long", `{` + base + `, "name": "abcdefghi"}`, "name", "must be at most 8 characters long, got 9"},
		{"string length counts characters", `{` + base + `, "name": "ééééééééé"}`, "name", "got 9"},
		{"string pattern", `{` + base + `, "name": "Beta"}`, "name", "must match the pattern ^[a-z]+$"},
		{"string enum", `{` + base + `, "name": "gamma"}`, "name", `must be one of ["alpha", "beta"], got "gamma"`},
		{"object is not list", `{` + base + `, "info": [1]}`, "info", "must be an object (a JSON object), got a list"},
		{"list is not object", `{` + base + `, "items": {"a": 1}}`, "items", "must be a list (a JSON array), got an object"},
		{"string is not list", `{` + base + `, "items": "a,b"}`, "items", "must be a list (a JSON array)"},
		{"list min_items", `{` + base + `, "items": [1]}`, "items", "must have at least 2 items, got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Validate(g, decode(t, tt.evidence))
			if tt.failed == "" {
				assert.True(t, r.CheckpointPassed, "errors: %v", r.Errors)
				assert.Empty(t, r.Errors)
				assert.Empty(t, r.Remediation)
				return
			}
			assert.False(t, r.CheckpointPassed)
			require.Len(t, r.Errors, 1, "errors: %v", r.Errors)
			assert.True(t, strings.HasPrefix(r.Errors[0], tt.failed+": "), "error %q must start with the field", r.Errors[0])
			assert.Contains(t, r.Errors[0], tt.msg)
			bad := append(append([]string{}, r.Diagnostics.FieldsMissing...), r.Diagnostics.FieldsFailed...)
			assert.Equal(t, []string{tt.failed}, bad)
			assert.Contains(t, r.Remediation, tt.failed)
		})
	}
}

func TestValidateGoTypes(t *testing.T) {
	g := mustGate(t, fullGate)
	r := Validate(g, map[string]any{"done": true, "count": int64(5), "ratio": float32(0.25), "items": []string{"a", "b"}, "info": map[string]any{}})
	assert.True(t, r.CheckpointPassed, "%v", r.Errors)
	r = Validate(g, map[string]any{"done": true, "count": json.Number("2"), "items": []byte("ab")})
	assert.Equal(t, []string{"items"}, r.Diagnostics.FieldsFailed, "[]byte encodes as a string, not a list")
}

func TestValidateDiagnostics(t *testing.T) {
	g := mustGate(t, fullGate)
	r := Validate(g, decode(t, `{"count": 0, "extra": 1, "name": "x"}`))
	assert.False(t, r.CheckpointPassed)
	assert.Equal(t, []string{"count", "extra", "name"}, r.Diagnostics.FieldsSubmitted)
	assert.Equal(t, []string{"done", "count"}, r.Diagnostics.FieldsRequired)
	assert.Equal(t, []string{"done"}, r.Diagnostics.FieldsMissing)
	assert.Equal(t, []string{"count", "name"}, r.Diagnostics.FieldsFailed)
	assert.True(t, r.Diagnostics.StrictMode)
	assert.True(t, r.Diagnostics.AllowOverride)
	assert.Equal(t, "test.yaml", r.Diagnostics.GateSource)
	assert.Len(t, r.Errors, 3)
	assert.Contains(t, strings.Join(r.Warnings, "\n"), "extra: not in this gate's evidence_schema")
	assert.Contains(t, strings.Join(r.Warnings, "\n"), "Python", "unsupported validators are warned about")
	assert.Contains(t, r.Remediation, "add done (boolean: Finished, one of [true])")
	assert.Contains(t, r.Remediation, "fix count (integer: at least 1, at most 10, one of [1, 2, 5])")

}

func TestValidateLenientTurnsErrorsIntoWarnings(t *testing.T) {
	g := mustGate(t, "checkpoint:\n  strict: false\nevidence_schema:\n  n:\n    type: integer\n    required: true\n  s:\n    type: string\n    max_length: 1\n")
	r := Validate(g, decode(t, `{"s": "long"}`))
	assert.True(t, r.CheckpointPassed)
	assert.Empty(t, r.Errors)
	assert.Empty(t, r.Remediation)
	assert.Contains(t, r.Warnings, "lenient: n: required integer field is missing")
	assert.Contains(t, r.Warnings, "lenient: s: must be at most 1 characters long, got 4")
	assert.Equal(t, []string{"n"}, r.Diagnostics.FieldsMissing)
	assert.Equal(t, []string{"s"}, r.Diagnostics.FieldsFailed)
	assert.False(t, r.Diagnostics.StrictMode)
}

func TestValidateDefaultIsLenient(t *testing.T) {
	// prAxIs OS's default: a gate without checkpoint.strict is lenient.
	g := mustGate(t, "evidence_schema:\n  n:\n    type: integer\n    required: true\n")
	assert.True(t, Validate(g, nil).CheckpointPassed)
}

func TestValidatePermissive(t *testing.T) {
	for _, g := range []*Gate{PermissiveGate(), nil} {
		r := Validate(g, map[string]any{"anything": 1})
		assert.True(t, r.CheckpointPassed)
		require.Len(t, r.Warnings, 1)
		assert.Contains(t, r.Warnings[0], "no gate-definition.yaml")
		assert.Equal(t, GateSourceNone, r.Diagnostics.GateSource)
	}
}

func TestCopyEvidence(t *testing.T) {
	c, err := CopyEvidence(map[string]any{"a": 1}, 0)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"a": 1.0}, c)

	_, err = CopyEvidence(map[string]any{"a": strings.Repeat("x", 100)}, 50)
	require.ErrorIs(t, err, ErrEvidenceTooLarge)
	assert.Contains(t, err.Error(), "evidence is 108 bytes encoded, more than the 50 allowed")

	_, err = CopyEvidence(map[string]any{"a": strings.Repeat("x", DefaultMaxEvidenceBytes)}, 0)
	require.ErrorIs(t, err, ErrEvidenceTooLarge)

	_, err = CopyEvidence(map[string]any{"c": make(chan int)}, 0)
	require.ErrorIs(t, err, ErrInvalidEvidence)
	assert.Contains(t, err.Error(), "evidence")
}
