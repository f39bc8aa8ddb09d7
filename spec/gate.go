package spec

import "github.com/mcpflow/mcpflow/checkpoint"

// Gate returns the gate of a dynamic phase built from its validation-gate
// items: a strict gate with one required boolean field per item, which
// must be true. A phase without items gets checkpoint.PermissiveGate.
// source becomes Gate.Source.
func (ph *Phase) Gate(source string) *checkpoint.Gate {
	items := ph.GateItems()
	if len(items) == 0 {
		return checkpoint.PermissiveGate()
	}
	g := &checkpoint.Gate{Strict: true, Source: source, Fields: make([]checkpoint.Field, len(items))}
	for i, it := range items {
		g.Fields[i] = checkpoint.Field{Name: it.Field, Type: checkpoint.TypeBoolean, Required: true, Description: it.Text, Enum: []any{true}}
	}
	return g
}
