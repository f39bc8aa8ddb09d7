package checkpoint

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/internal/jsonnum"
)

// Validate checks evidence against g. It never fails: everything it finds
// is in the Result. Required fields must be present and not null; present
// fields must have the exact declared type and meet their constraints;
// fields the schema does not know are reported as warnings. In strict mode
// any error fails the gate; in lenient mode errors are moved to Warnings
// (prefixed "lenient: ") and the gate passes.
//
// Evidence values are those of encoding/json decoding into any (bool,
// float64, string, []any, map[string]any, nil); json.Number and Go's
// integer types are accepted as numbers too.
func Validate(g *Gate, evidence map[string]any) Result {
	if g == nil {
		g = PermissiveGate()
	}
	r := Result{
		Errors:   []string{},
		Warnings: []string{},
		Diagnostics: Diagnostics{
			FieldsSubmitted: slices.Sorted(mapKeys(evidence)),
			FieldsRequired:  []string{},
			FieldsMissing:   []string{},
			FieldsFailed:    []string{},
			StrictMode:      g.Strict,
			AllowOverride:   g.AllowOverride,
			GateSource:      g.Source,
		},
	}
	if g.Permissive {
		r.CheckpointPassed = true
		r.Warnings = append(r.Warnings, "gate: this phase has no gate-definition.yaml, so the evidence was accepted without any check")
		return r
	}
	r.Warnings = append(r.Warnings, g.Unsupported...)
	known := make(map[string]bool, len(g.Fields))
	var fixes []string
	for i := range g.Fields {
		f := &g.Fields[i]
		known[f.Name] = true
		if f.Required {
			r.Diagnostics.FieldsRequired = append(r.Diagnostics.FieldsRequired, f.Name)
		}
		v, present := evidence[f.Name]
		if !present || v == nil {
			if f.Required {
				r.Diagnostics.FieldsMissing = append(r.Diagnostics.FieldsMissing, f.Name)
				how := "missing"
				if present {
					how = "null"
				}
				r.Errors = append(r.Errors, fmt.Sprintf("%s: required %s field is %s", f.Name, f.Type, how))
				fixes = append(fixes, fmt.Sprintf("add %s (%s%s)", f.Name, f.Type, describeField(f)))
			}
			continue
		}
		if msg := checkValue(f, v); msg != "" {
			r.Diagnostics.FieldsFailed = append(r.Diagnostics.FieldsFailed, f.Name)
			r.Errors = append(r.Errors, f.Name+": "+msg)
			fixes = append(fixes, fmt.Sprintf("fix %s (%s%s)", f.Name, f.Type, describeField(f)))
		}
	}
	for _, k := range r.Diagnostics.FieldsSubmitted {
		if !known[k] {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: not in this gate's evidence_schema; it is stored but not checked", k))
		}
	}
	if len(r.Errors) == 0 {
		r.CheckpointPassed = true
		return r
	}
	if !g.Strict {
		for _, e := range r.Errors {
			r.Warnings = append(r.Warnings, "lenient: "+e)
		}
		r.Errors = []string{}
		r.CheckpointPassed = true
		return r
	}
	r.Remediation = "Resubmit the phase's evidence with every field, after you " + strings.Join(fixes, "; ") + "."
	return r
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func describeField(f *Field) string {
	var parts []string
	if f.Description != "" {
		parts = append(parts, f.Description)
	}
	if f.Min != nil {
		parts = append(parts, "at least "+fmtNum(*f.Min))
	}
	if f.Max != nil {
		parts = append(parts, "at most "+fmtNum(*f.Max))
	}
	if f.MinLength != nil {
		parts = append(parts, fmt.Sprintf("at least %d characters", *f.MinLength))
	}
	if f.MaxLength != nil {
		parts = append(parts, fmt.Sprintf("at most %d characters", *f.MaxLength))
	}
	if f.Pattern != nil {
		parts = append(parts, "matching "+f.Pattern.String())
	}
	if f.MinItems != nil {
		parts = append(parts, fmt.Sprintf("at least %d items", *f.MinItems))
	}
	if len(f.Enum) > 0 {
		parts = append(parts, "one of "+fmtEnum(f.Enum))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// checkValue returns why v does not satisfy f, or "".
func checkValue(f *Field, v any) string {
	switch f.Type {
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return "must be true or false, got " + typeName(v)
		}
		return checkEnum(f, b)
	case TypeInteger, TypeNumber:
		x, ok := jsonnum.Float(v)
		if !ok {
			return fmt.Sprintf("must be a%s, got %s", article(f.Type), typeName(v))
		}
		if f.Type == TypeInteger && !jsonnum.IsWhole(x) {
			return "must be an integer (a whole number), got " + fmtNum(x)
		}
		if f.Min != nil && x < *f.Min {
			return fmt.Sprintf("must be at least %s, got %s", fmtNum(*f.Min), fmtNum(x))
		}
		if f.Max != nil && x > *f.Max {
			return fmt.Sprintf("must be at most %s, got %s", fmtNum(*f.Max), fmtNum(x))
		}
		return checkEnum(f, x)
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return "must be a string, got " + typeName(v)
		}
		n := utf8.RuneCountInString(s)
		if f.MinLength != nil && n < *f.MinLength {
			return fmt.Sprintf("must be at least %d characters long, got %d", *f.MinLength, n)
		}
		if f.MaxLength != nil && n > *f.MaxLength {
			return fmt.Sprintf("must be at most %d characters long, got %d", *f.MaxLength, n)
		}
		if f.Pattern != nil && !f.Pattern.MatchString(s) {
			return fmt.Sprintf("must match the pattern %s, got %s", f.Pattern, quoteShort(s))
		}
		return checkEnum(f, s)
	case TypeObject:
		if _, ok := v.(map[string]any); !ok {
			return "must be an object (a JSON object), got " + typeName(v)
		}
	case TypeList:
		n, ok := listLen(v)
		if !ok {
			return "must be a list (a JSON array), got " + typeName(v)
		}
		if f.MinItems != nil && n < *f.MinItems {
			return fmt.Sprintf("must have at least %d items, got %d", *f.MinItems, n)
		}
	}
	return ""
}

func checkEnum(f *Field, v any) string {
	if len(f.Enum) == 0 {
		return ""
	}
	if slices.Contains(f.Enum, v) {
		return ""
	}
	var got string
	switch x := v.(type) {
	case string:
		got = quoteShort(x)
	case float64:
		got = fmtNum(x)
	default:
		got = fmt.Sprint(v)
	}
	return fmt.Sprintf("must be one of %s, got %s", fmtEnum(f.Enum), got)
}

func article(t FieldType) string {
	if t == TypeInteger {
		return "n integer"
	}
	return " number"
}

// listLen returns the length of a JSON array: []any, or any other Go slice
// or array except []byte, which JSON encodes as a string.
func listLen(v any) (int, bool) {
	switch l := v.(type) {
	case []any:
		return len(l), true
	case []byte:
		return 0, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		return rv.Len(), true
	}
	return 0, false
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string " + quoteShort(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if x, ok := jsonnum.Float(v); ok {
		if jsonnum.IsWhole(x) {
			return "the integer " + fmtNum(x)
		}
		return "the number " + fmtNum(x)
	}
	if _, ok := listLen(v); ok {
		return "a list"
	}
	return fmt.Sprintf("a value of Go type %T", v)
}

func fmtNum(x float64) string {
	return strconv.FormatFloat(x, 'g', -1, 64)
}

func fmtEnum(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case string:
			parts[i] = strconv.Quote(x)
		case float64:
			parts[i] = fmtNum(x)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func quoteShort(s string) string {
	if len(s) > 60 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}
