package checkpoint

// GateError is the error of a gate-definition.yaml that does not parse:
// every error ParseGate returns is one. errors.Is matches ErrInvalidGate,
// and Err when it is set; errors.As finds the GateError, so that a caller
// can show Problem under a name of its own for the file.
type GateError struct {
	// Source is the file as ParseGate was told to name it.
	Source string
	// Detail names the field at fault, with its line, and says what is
	// wrong, for example "evidence_schema.tests.type (line 4): must be
	// one of ...".
	Detail string
	// Err is the underlying failure (the YAML library's), or nil. Its
	// text follows Detail.
	Err error
}

// Problem returns Detail, followed by Err's text when Err is set.
func (e *GateError) Problem() string {
	if e.Err == nil {
		return e.Detail
	}
	return e.Detail + ": " + e.Err.Error()
}

// Error returns "checkpoint: invalid gate definition: <source>: <problem>".
func (e *GateError) Error() string {
	return ErrInvalidGate.Error() + ": " + e.Source + ": " + e.Problem()
}

// Unwrap returns ErrInvalidGate, and Err when it is set.
func (e *GateError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidGate}
	}
	return []error{ErrInvalidGate, e.Err}
}
