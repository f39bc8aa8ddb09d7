package checkpoint

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fullGate = `
checkpoint:
  strict: true
  allow_override: true
evidence_schema:
  done:
    type: boolean
    required: true
    description: Finished
    enum: [true]
  count:
    type: integer
    required: true
    min: 1
    max: 10
    enum: [1, 2, 5]
  ratio:
    type: number
    min: 0
    max: 1
  name:
    type: string
    min_length: 2
    max_length: 8
    pattern: '^[a-z]+$'
    enum: [alpha, beta]
  info:
    type: object
  items:
    type: list
    min_items: 2
  legacy:
    type: dict
    validator: non_empty
validators:
  non_empty: "lambda x: len(x) > 0"
cross_field_validation:
  - rule: "lambda e: e['count'] > 0"
    error_message: "count"
unknown_top_level: tolerated
`

func TestParseGateFull(t *testing.T) {
	g, err := ParseGate([]byte(fullGate), "wf/phases/1/gate-definition.yaml")
	require.NoError(t, err)
	assert.True(t, g.Strict)
	assert.True(t, g.AllowOverride)
	assert.False(t, g.Permissive)
	assert.Equal(t, "wf/phases/1/gate-definition.yaml", g.Source)
	names := make([]string, len(g.Fields))
	for i, f := range g.Fields {
		names[i] = f.Name
	}
	assert.Equal(t, []string{"done", "count", "ratio", "name", "info", "items", "legacy"}, names, "schema order is kept")
	count := g.Fields[1]
	assert.Equal(t, TypeInteger, count.Type)
	require.NotNil(t, count.Min)
	require.NotNil(t, count.Max)
	assert.InDelta(t, 1.0, *count.Min, 0)
	assert.InDelta(t, 10.0, *count.Max, 0)
	assert.Equal(t, []any{1.0, 2.0, 5.0}, count.Enum)
	name := g.Fields[3]
	require.NotNil(t, name.Pattern)
	assert.Equal(t, 2, *name.MinLength)
	assert.Equal(t, 8, *name.MaxLength)
	assert.Equal(t, []any{"alpha", "beta"}, name.Enum)
	assert.Equal(t, 2, *g.Fields[5].MinItems)
	assert.Equal(t, TypeObject, g.Fields[6].Type, "dict is prAxIs OS's name for object")
	require.Len(t, g.Unsupported, 3, "field validator, validators entry and cross-field rule each warn")
	assert.Contains(t, g.Unsupported[0], "evidence_schema.legacy.validator")
	assert.Contains(t, g.Unsupported[1], "validators.non_empty")
	assert.Contains(t, g.Unsupported[2], "cross_field_validation[0]")
}

func TestParseGateEmptyIsNoFields(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "checkpoint:\nevidence_schema:\n"} {
		g, err := ParseGate([]byte(src), "g.yaml")
		require.NoError(t, err, "%q", src)
		assert.Empty(t, g.Fields)
	}
}

// TestParseGateErrorsNameTheField: every refusal wraps ErrInvalidGate and
// names the field at fault.
func TestParseGateErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, field string
	}{
		{"not yaml", "a: [1, 2", "(document)"},
		{"top is a list", "- 1\n- 2\n", "(document)"},
		{"checkpoint not mapping", "checkpoint: yes-please\n", "checkpoint"},
		{"strict not bool", "checkpoint:\n  strict: maybe\n", "checkpoint.strict"},
		{"allow_override not bool", "checkpoint:\n  allow_override: 1\n", "checkpoint.allow_override"},
		{"schema is a list", "evidence_schema: [a, b]\n", "evidence_schema"},
		{"field not mapping", "evidence_schema:\n  a: integer\n", "evidence_schema.a"},
		{"type missing", "evidence_schema:\n  a:\n    required: true\n", "evidence_schema.a.type"},
		{"type unknown", "evidence_schema:\n  a:\n    type: date\n", "evidence_schema.a.type"},
		{"type is a list", "evidence_schema:\n  a:\n    type: [string]\n", "evidence_schema.a.type"},
		{"required not bool", "evidence_schema:\n  a:\n    type: string\n    required: often\n", "evidence_schema.a.required"},
		{"description a mapping", "evidence_schema:\n  a:\n    type: string\n    description: {x: 1}\n", "evidence_schema.a.description"},
		{"min on string", "evidence_schema:\n  a:\n    type: string\n    min: 1\n", "evidence_schema.a.min"},
		{"max not number", "evidence_schema:\n  a:\n    type: integer\n    max: ten\n", "evidence_schema.a.max"},
		{"max below min", "evidence_schema:\n  a:\n    type: number\n    min: 5\n    max: 1\n", "evidence_schema.a.max"},
		{"min_length on list", "evidence_schema:\n  a:\n    type: list\n    min_length: 1\n", "evidence_schema.a.min_length"},
		{"max_length negative", "evidence_schema:\n  a:\n    type: string\n    max_length: -1\n", "evidence_schema.a.max_length"},
		{"max_length below min_length", "evidence_schema:\n  a:\n    type: string\n    min_length: 5\n    max_length: 2\n", "evidence_schema.a.max_length"},
		{"min_items fractional", "evidence_schema:\n  a:\n    type: list\n    min_items: 1.5\n", "evidence_schema.a.min_items"},
		{"min_items on string", "evidence_schema:\n  a:\n    type: string\n    min_items: 1\n", "evidence_schema.a.min_items"},
		{"pattern on integer", "evidence_schema:\n  a:\n    type: integer\n    pattern: x\n", "evidence_schema.a.pattern"},
		{"pattern not RE2", "evidence_schema:\n  a:\n    type: string\n    pattern: '(?=x)'\n", "evidence_schema.a.pattern"},
		{"enum on list", "evidence_schema:\n  a:\n    type: list\n    enum: [1]\n", "evidence_schema.a.enum"},
		{"enum empty", "evidence_schema:\n  a:\n    type: string\n    enum: []\n", "evidence_schema.a.enum"},
		{"enum wrong element", "evidence_schema:\n  a:\n    type: integer\n    enum: [1, 2.5]\n", "evidence_schema.a.enum[1]"},
		{"enum bool element", "evidence_schema:\n  a:\n    type: boolean\n    enum: [yes]\n", "evidence_schema.a.enum[0]"},
		{"duplicate field", "evidence_schema:\n  a:\n    type: string\n  a:\n    type: integer\n", "evidence_schema.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGate([]byte(tt.yaml), "wf/phases/2/gate-definition.yaml")
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidGate)
			assert.Contains(t, err.Error(), tt.field+" ", "error must name the field: %v", err)
			assert.Contains(t, err.Error(), "wf/phases/2/gate-definition.yaml")
		})
	}
}

func TestParseGateTooLarge(t *testing.T) {
	_, err := ParseGate([]byte(strings.Repeat("#", MaxGateBytes+1)), "big.yaml")
	require.ErrorIs(t, err, ErrInvalidGate)
	assert.Contains(t, err.Error(), "big.yaml")
}

func TestParseGateAliasesAreNotExpanded(t *testing.T) {
	// A billion-laughs document: aliases are never expanded by ParseGate.
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nevidence_schema:\n  f: *c\n"
	_, err := ParseGate([]byte(src), "g.yaml")
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInvalidGate)
	assert.Contains(t, err.Error(), "evidence_schema.f")
}
