package checkpoint

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mcpflow/mcpflow/internal/jsonnum"
)

// MaxGateBytes is the largest gate file ParseGate accepts.
const MaxGateBytes = 1 << 20

// ParseGate parses a gate-definition.yaml. source names the file in errors
// and becomes Gate.Source. Every error wraps ErrInvalidGate and names the
// YAML field it concerns (for example evidence_schema.tests.type) and the
// line. Unknown keys are tolerated. Python validators are recorded in
// Gate.Unsupported, never run.
func ParseGate(data []byte, source string) (*Gate, error) {
	if len(data) > MaxGateBytes {
		return nil, &GateError{Source: source, Detail: fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxGateBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &GateError{Source: source, Detail: "(document) is not valid YAML", Err: err}
	}
	g := &Gate{Source: source}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		// An empty file: a gate with no fields.
		return g, nil
	}
	root := doc.Content[0]
	p := &gateParser{source: source}
	if root.Kind != yaml.MappingNode {
		return nil, p.errf(root, "(document)", "must be a mapping with checkpoint and evidence_schema, got %s", kindName(root))
	}
	var bypass *Check
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "checkpoint":
			var err error
			if bypass, err = p.checkpoint(v, g); err != nil {
				return nil, err
			}
		case "evidence_schema":
			if err := p.schema(v, g); err != nil {
				return nil, err
			}
		case "checks":
			if err := p.checks(v, g); err != nil {
				return nil, err
			}
		case "validators":
			p.validators(v, g)
		case "cross_field_validation":
			p.crossField(v, g)
		case "approval":
			if err := p.approval(v, "approval", g); err != nil {
				return nil, err
			}
		}
	}
	if bypass != nil {
		g.Checks = append(g.Checks, *bypass)
	}
	return g, nil
}

type gateParser struct{ source string }

func (p *gateParser) errf(n *yaml.Node, field, format string, args ...any) error {
	return &GateError{Source: p.source, Detail: fmt.Sprintf("%s (line %d): %s", field, n.Line, fmt.Sprintf(format, args...))}
}

func (p *gateParser) checkpoint(n *yaml.Node, g *Gate) (*Check, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "checkpoint", "must be a mapping with strict and allow_override, got %s", kindName(n))
	}
	var onBypass *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var dst *bool
		switch k.Value {
		case "strict":
			dst = &g.Strict
		case "allow_override":
			dst = &g.AllowOverride
		case "approval":
			if err := p.approval(v, "checkpoint.approval", g); err != nil {
				return nil, err
			}
			continue
		case "changes_code":
			dst = &g.ChangesCode
		case "on_bypass":
			onBypass = v
			continue
		default:
			continue
		}
		b, ok := boolValue(v)
		if !ok {
			return nil, p.errf(v, "checkpoint."+k.Value, "must be true or false, got %s", describe(v))
		}
		*dst = b
	}
	if onBypass != nil && !g.ChangesCode {
		return nil, p.errf(onBypass, "checkpoint.on_bypass", "applies only with changes_code: true")
	}
	if !g.ChangesCode {
		return nil, nil
	}
	c := &Check{Kind: KindBypass, Line: n.Line}
	if onBypass != nil {
		var strict bool
		switch onBypass.Value {
		case "fail":
			strict = true
		case "warn":
		default:
			return nil, p.errf(onBypass, "checkpoint.on_bypass", "must be fail or warn, got %s", describe(onBypass))
		}
		c.Strict = &strict
	}
	return c, nil
}

// approval reads an approval setting: required or none.
func (p *gateParser) approval(v *yaml.Node, field string, g *Gate) error {
	a, ok := ParseApproval(v.Value)
	if v.Kind != yaml.ScalarNode || !ok || a == ApprovalDefault {
		return p.errf(v, field, "must be required or none, got %s", describe(v))
	}
	g.Approval = a
	return nil
}

func (p *gateParser) schema(n *yaml.Node, g *Gate) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "evidence_schema", "must be a mapping from field name to {type, required, description}, got %s", kindName(n))
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		path := "evidence_schema." + name
		if k.Kind != yaml.ScalarNode || name == "" {
			return p.errf(k, "evidence_schema", "field names must be non-empty strings, got %s", describe(k))
		}
		if seen[name] {
			return p.errf(k, path, "is defined twice")
		}
		seen[name] = true
		f, err := p.field(v, name, path, g)
		if err != nil {
			return err
		}
		g.Fields = append(g.Fields, f)
	}
	return nil
}

func (p *gateParser) field(n *yaml.Node, name, path string, g *Gate) (Field, error) {
	f := Field{Name: name}
	if n.Kind != yaml.MappingNode {
		return f, p.errf(n, path, "must be a mapping with type, required and description, got %s", kindName(n))
	}
	vals := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		vals[n.Content[i].Value] = n.Content[i+1]
	}
	t, ok := vals["type"]
	if !ok {
		return f, p.errf(n, path+".type", "is missing; use one of boolean, integer, number, string, object, list")
	}
	f.Type = FieldType(strings.TrimSpace(t.Value))
	switch {
	case t.Kind != yaml.ScalarNode:
		return f, p.errf(t, path+".type", "must be one of boolean, integer, number, string, object, list, got %s", kindName(t))
	case f.Type == "bool":
		f.Type = TypeBoolean
	case f.Type == "int":
		f.Type = TypeInteger
	case f.Type == "float":
		f.Type = TypeNumber
	case f.Type == "str":
		f.Type = TypeString
	case f.Type == "dict":
		f.Type = TypeObject
	case f.Type == "array":
		f.Type = TypeList
	}
	if !slices.Contains([]FieldType{TypeBoolean, TypeInteger, TypeNumber, TypeString, TypeObject, TypeList}, f.Type) {
		return f, p.errf(t, path+".type", "must be one of boolean, integer, number, string, object, list, got %q", t.Value)
	}
	if v, ok := vals["required"]; ok && !isNull(v) {
		b, ok := boolValue(v)
		if !ok {
			return f, p.errf(v, path+".required", "must be true or false, got %s", describe(v))
		}
		f.Required = b
	}
	if v, ok := vals["description"]; ok && !isNull(v) {
		if v.Kind != yaml.ScalarNode {
			return f, p.errf(v, path+".description", "must be text, got %s", kindName(v))
		}
		f.Description = v.Value
	}
	if v, ok := vals["validator"]; ok && !isNull(v) {
		g.Unsupported = append(g.Unsupported, fmt.Sprintf("%s.validator: validator %s is a Python expression and is not run; only type, required and the constraints min, max, min_length, max_length, pattern, enum, min_items are checked", path, describe(v)))
	}
	numeric := f.Type == TypeInteger || f.Type == TypeNumber
	var err error
	for _, c := range []struct {
		key string
		dst **float64
	}{{"min", &f.Min}, {"max", &f.Max}} {
		v, ok := vals[c.key]
		if !ok || isNull(v) {
			continue
		}
		if !numeric {
			return f, p.errf(v, path+"."+c.key, "applies to integer and number fields only, and this field is %s", f.Type)
		}
		x, ok := floatValue(v)
		if !ok {
			return f, p.errf(v, path+"."+c.key, "must be a number, got %s", describe(v))
		}
		*c.dst = &x
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return f, p.errf(vals["max"], path+".max", "is %v, below min %v", *f.Max, *f.Min)
	}
	for _, c := range []struct {
		key  string
		dst  **int
		only FieldType
	}{{"min_length", &f.MinLength, TypeString}, {"max_length", &f.MaxLength, TypeString}, {"min_items", &f.MinItems, TypeList}} {
		v, ok := vals[c.key]
		if !ok || isNull(v) {
			continue
		}
		if f.Type != c.only {
			return f, p.errf(v, path+"."+c.key, "applies to %s fields only, and this field is %s", c.only, f.Type)
		}
		if *c.dst, err = p.count(v, path+"."+c.key); err != nil {
			return f, err
		}
	}
	if f.MinLength != nil && f.MaxLength != nil && *f.MinLength > *f.MaxLength {
		return f, p.errf(vals["max_length"], path+".max_length", "is %d, below min_length %d", *f.MaxLength, *f.MinLength)
	}
	if v, ok := vals["pattern"]; ok && !isNull(v) {
		if f.Type != TypeString {
			return f, p.errf(v, path+".pattern", "applies to string fields only, and this field is %s", f.Type)
		}
		if v.Kind != yaml.ScalarNode {
			return f, p.errf(v, path+".pattern", "must be a regular expression, got %s", kindName(v))
		}
		re, err := regexp.Compile(v.Value)
		if err != nil {
			return f, p.errf(v, path+".pattern", "is not a valid RE2 regular expression (lookarounds and backreferences are not supported): %v", err)
		}
		f.Pattern = re
	}
	if v, ok := vals["enum"]; ok && !isNull(v) {
		if f.Enum, err = p.enum(v, path+".enum", f.Type); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (p *gateParser) count(v *yaml.Node, path string) (*int, error) {
	x, ok := floatValue(v)
	n, err := jsonnum.Int(x, 0, math.MaxInt32)
	if !ok || err != nil {
		return nil, p.errf(v, path, "must be a whole number from 0 to %d, got %s", math.MaxInt32, describe(v))
	}
	return &n, nil
}

func (p *gateParser) enum(n *yaml.Node, path string, t FieldType) ([]any, error) {
	if t == TypeObject || t == TypeList {
		return nil, p.errf(n, path, "applies to boolean, integer, number and string fields only, and this field is %s", t)
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(n, path, "must be a non-empty list of allowed values, got %s", describe(n))
	}
	out := make([]any, 0, len(n.Content))
	for i, e := range n.Content {
		ep := fmt.Sprintf("%s[%d]", path, i)
		var val any
		ok := false
		switch t {
		case TypeBoolean:
			val, ok = boolValue(e)
		case TypeInteger:
			var x float64
			x, ok = floatValue(e)
			ok = ok && jsonnum.IsWhole(x)
			val = x
		case TypeNumber:
			val, ok = floatValue(e)
		case TypeString:
			ok = e.Kind == yaml.ScalarNode && !isNull(e)
			val = e.Value
		}
		if !ok {
			return nil, p.errf(e, ep, "must be a %s like the field, got %s", t, describe(e))
		}
		out = append(out, val)
	}
	return out, nil
}

func (p *gateParser) validators(n *yaml.Node, g *Gate) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			g.Unsupported = append(g.Unsupported, fmt.Sprintf("validators.%s: Python validator is not run; only type, required and constraints are checked", n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i := range n.Content {
			g.Unsupported = append(g.Unsupported, fmt.Sprintf("validators[%d]: Python validator is not run; only type, required and constraints are checked", i))
		}
	default:
		if !isNull(n) {
			g.Unsupported = append(g.Unsupported, "validators: Python validators are not run; only type, required and constraints are checked")
		}
	}
}

func (p *gateParser) crossField(n *yaml.Node, g *Gate) {
	switch n.Kind {
	case yaml.SequenceNode:
		for i := range n.Content {
			g.Unsupported = append(g.Unsupported, fmt.Sprintf("cross_field_validation[%d]: Python rule is not run; check it by hand", i))
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			g.Unsupported = append(g.Unsupported, fmt.Sprintf("cross_field_validation.%s: Python rule is not run; check it by hand", n.Content[i].Value))
		}
	default:
		if !isNull(n) {
			g.Unsupported = append(g.Unsupported, "cross_field_validation: Python rules are not run; check them by hand")
		}
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func boolValue(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, false
	}
	b, err := strconv.ParseBool(strings.ToLower(n.Value))
	return b, err == nil
}

func floatValue(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, false
	}
	var x float64
	if err := n.Decode(&x); err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	default:
		if isNull(n) {
			return "null"
		}
		return "a scalar"
	}
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	}
	return kindName(n)
}
