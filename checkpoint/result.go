package checkpoint

// Result is the outcome of checking evidence against a gate.
type Result struct {
	// CheckpointPassed is true when the gate lets the phase complete.
	CheckpointPassed bool `json:"checkpoint_passed"`
	// Errors are the problems that failed the gate, each starting with the
	// field it concerns. Empty when the gate passed.
	Errors []string `json:"errors"`
	// Warnings are problems that did not fail the gate: lenient-mode
	// errors, unknown fields, unsupported validators, a missing gate file.
	Warnings []string `json:"warnings"`
	// Diagnostics describes what was checked.
	Diagnostics Diagnostics `json:"diagnostics"`
	// Remediation says what to submit next to pass, or is empty.
	Remediation string `json:"remediation,omitempty"`
}

// Diagnostics describes what a validation looked at.
type Diagnostics struct {
	// FieldsSubmitted are the evidence keys received, sorted.
	FieldsSubmitted []string `json:"fields_submitted"`
	// FieldsRequired are the schema's required fields, in schema order.
	FieldsRequired []string `json:"fields_required"`
	// FieldsMissing are required fields absent from the evidence.
	FieldsMissing []string `json:"fields_missing"`
	// FieldsFailed are submitted fields whose type or constraints failed.
	FieldsFailed []string `json:"fields_failed"`
	// StrictMode is the gate's checkpoint.strict.
	StrictMode bool `json:"strict_mode"`
	// AllowOverride is the gate's checkpoint.allow_override.
	AllowOverride bool `json:"allow_override"`
	// GateSource is where the gate came from, or "none".
	GateSource string `json:"gate_source"`
}
