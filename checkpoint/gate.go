package checkpoint

import (
	"errors"
	"regexp"
)

// ErrInvalidGate is wrapped by every error ParseGate returns.
var ErrInvalidGate = errors.New("checkpoint: invalid gate definition")

// FieldType is the type an evidence field must have.
type FieldType string

// The evidence field types. Types are exact: an integer must be integral, a
// boolean is not an integer, a list is a JSON array and an object is a JSON
// object.
const (
	TypeBoolean FieldType = "boolean"
	TypeInteger FieldType = "integer"
	TypeNumber  FieldType = "number"
	TypeString  FieldType = "string"
	TypeObject  FieldType = "object"
	TypeList    FieldType = "list"
)

// GateSourceNone is Gate.Source for the permissive gate of a phase that has
// no gate-definition.yaml.
const GateSourceNone = "none"

// Gate is a parsed gate-definition.yaml. A Gate is immutable once returned
// by ParseGate or a Loader and may be shared by any number of goroutines.
type Gate struct {
	// Strict makes validation errors fail the gate. When false they are
	// reported as warnings and the gate passes.
	Strict bool
	// AllowOverride is the checkpoint's allow_override flag, reported in
	// Diagnostics; mcpflow does not let agents override a failed gate.
	AllowOverride bool
	// Fields is the evidence schema in the order the YAML lists it.
	Fields []Field
	// Checks are what the server checks itself in the project folder,
	// in the order the YAML lists them; a gate with checkpoint.changes_code
	// ends them with a KindBypass check.
	Checks []Check
	// ChangesCode is checkpoint.changes_code: the phase is meant to change
	// the project, so completing it with no change since it opened is a
	// bypass.
	ChangesCode bool
	// Unsupported lists one warning per construct that mcpflow reads but
	// never executes: each entry of validators and cross_field_validation,
	// and each field-level validator reference.
	Unsupported []string
	// Permissive is true for the gate of a phase without a gate file: it
	// accepts any evidence and warns that nothing was checked.
	Permissive bool
	// Source names where the gate came from: a path relative to the
	// workflows folder, or GateSourceNone.
	Source string
	// Approval says whether evidence that passes must also be approved
	// by a human before the session advances: the gate's approval key
	// (top level or under checkpoint). ApprovalDefault leaves it to the
	// workflow's metadata.json.
	Approval Approval
}

// Approval is a gate's approval setting.
type Approval string

// The approval settings.
const (
	// ApprovalDefault is a gate that does not say: the workflow's
	// metadata.json "approval" decides, and without it none is needed.
	ApprovalDefault Approval = ""
	// ApprovalRequired is "approval: required".
	ApprovalRequired Approval = "required"
	// ApprovalNone is "approval: none": no approval even when the
	// workflow requires it by default.
	ApprovalNone Approval = "none"
)

// ParseApproval reads an approval setting: "required" or "none" (or ""
// for the default). ok is false for anything else.
func ParseApproval(s string) (a Approval, ok bool) {
	switch a := Approval(s); a {
	case ApprovalDefault, ApprovalRequired, ApprovalNone:
		return a, true
	}
	return "", false
}

// Field is one entry of evidence_schema.
type Field struct {
	Name        string
	Type        FieldType
	Required    bool
	Description string

	// Min and Max bound integer and number values (inclusive).
	Min, Max *float64
	// MinLength and MaxLength bound a string's length in characters.
	MinLength, MaxLength *int
	// Pattern must match somewhere in a string value (RE2 syntax; anchor
	// it with ^ and $ to match the whole value).
	Pattern *regexp.Regexp
	// Enum lists the allowed values of a boolean, integer, number or
	// string field.
	Enum []any
	// MinItems is the least number of elements of a list.
	MinItems *int
}

// PermissiveGate returns the gate used for a phase that has no gate file.
func PermissiveGate() *Gate {
	return &Gate{Permissive: true, Source: GateSourceNone}
}
