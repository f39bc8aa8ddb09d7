package checkpoint

// Result is the outcome of checking evidence against a gate.
type Result struct {
	// CheckpointPassed is true when the gate lets the phase complete.
	CheckpointPassed bool
	// Errors are the problems that failed the gate, each starting with the
	// field it concerns. Empty when the gate passed.
	Errors []string
	// Warnings are problems that did not fail the gate: lenient-mode
	// errors, unknown fields, unsupported validators, a missing gate file.
	Warnings []string
	// Diagnostics describes what was checked.
	Diagnostics Diagnostics
	// Remediation says what to submit next to pass, or is empty.
	Remediation string
	// Checks are the verdicts of the checks the server performed itself
	// (Apply), in the gate's order; nil when the gate declares none.
	Checks []CheckResult
}

// Diagnostics describes what a validation looked at.
type Diagnostics struct {
	// FieldsSubmitted are the evidence keys received, sorted.
	FieldsSubmitted []string
	// FieldsRequired are the schema's required fields, in schema order.
	FieldsRequired []string
	// FieldsMissing are required fields absent from the evidence.
	FieldsMissing []string
	// FieldsFailed are submitted fields whose type or constraints failed.
	FieldsFailed []string
	// StrictMode is the gate's checkpoint.strict.
	StrictMode bool
	// AllowOverride is the gate's checkpoint.allow_override.
	AllowOverride bool
	// GateSource is where the gate came from, or "none".
	GateSource string
}
