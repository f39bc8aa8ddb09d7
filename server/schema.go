package server

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Output schemas are generated from the result types by mcp-go
// (WithOutputSchema), which spells every slice and pointer as a type union
// such as ["null", "array"] and every `any` field as the empty schema.
// Both are legal JSON Schema, but clients that map tool schemas onto a
// single-type dialect reject or loosen them, and the MCP Inspector's
// --strict check warns about each. portableSchemas rewrites them:
//
//   - ["null", "array"] becomes "array": every list this server returns is
//     [] when empty, never null (tests run with output validation on, so a
//     nil slice fails them);
//   - any other ["null", T] becomes anyOf [{"type": "null"}, {T}], since
//     those fields (next_phase, next_phase_content) really are null;
//   - an empty schema becomes the type the field holds: a free-form object,
//     or for total_phases a whole number or "dynamic".

// totalPhasesSchema is workflowOut.TotalPhases: a count or "dynamic".
var totalPhasesSchema = map[string]any{
	"anyOf": []any{
		map[string]any{"type": "integer", "minimum": 0},
		map[string]any{"type": "string", "enum": []any{"dynamic"}},
	},
}

// portableSchemas rewrites the output schema of every tool in place, as
// described above. It fails only if a schema cannot be encoded, which is
// a programming error in a result type.
func portableSchemas(tools []mcpserver.ServerTool) error {
	for i := range tools {
		t := &tools[i].Tool
		if t.OutputSchema.Type == "" {
			continue
		}
		raw, err := json.Marshal(t.OutputSchema)
		if err != nil {
			return fmt.Errorf("server: tool %s: encode output schema: %w", t.Name, err)
		}
		var schema map[string]any
		if err := json.Unmarshal(raw, &schema); err != nil {
			return fmt.Errorf("server: tool %s: decode output schema: %w", t.Name, err)
		}
		portable(schema)
		out, err := json.Marshal(schema)
		if err != nil {
			return fmt.Errorf("server: tool %s: encode output schema: %w", t.Name, err)
		}
		t.OutputSchema = mcp.ToolOutputSchema{}
		t.RawOutputSchema = out
	}
	return nil
}

// portable rewrites one object schema and, recursively, its properties
// and items.
func portable(s map[string]any) {
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			ps, ok := p.(map[string]any)
			if !ok {
				continue
			}
			props[name] = portableProperty(name, ps)
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		portable(items)
	}
}

// portableProperty returns the portable form of the property schema p.
func portableProperty(name string, p map[string]any) map[string]any {
	if !hasKeyword(p) {
		if name == "total_phases" {
			return withDescription(totalPhasesSchema, p)
		}
		return withDescription(map[string]any{"type": "object", "additionalProperties": true}, p)
	}
	portable(p)
	types, ok := p["type"].([]any)
	if !ok || len(types) != 2 || (types[0] != "null" && types[1] != "null") {
		return p
	}
	other := types[0]
	if other == "null" {
		other = types[1]
	}
	if other == "array" {
		p["type"] = "array"
		return p
	}
	branch := make(map[string]any, len(p))
	for k, v := range p {
		if k != "description" {
			branch[k] = v
		}
	}
	branch["type"] = other
	out := map[string]any{"anyOf": []any{map[string]any{"type": "null"}, branch}}
	if d, ok := p["description"]; ok {
		out["description"] = d
	}
	return out
}

// hasKeyword reports whether s constrains its value at all.
func hasKeyword(s map[string]any) bool {
	for k := range s {
		switch k {
		case "description", "title", "$comment", "examples", "default":
		default:
			return true
		}
	}
	return false
}

// withDescription returns a copy of s with p's description.
func withDescription(s, p map[string]any) map[string]any {
	out := make(map[string]any, len(s)+1)
	maps.Copy(out, s)
	if d, ok := p["description"]; ok {
		out["description"] = d
	}
	return out
}
