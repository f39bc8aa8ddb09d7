package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mcpflow/mcpflow/internal/jsonvalue"
)

// DefaultMaxEvidenceBytes is the largest evidence, JSON-encoded, that
// CopyEvidence accepts when given a limit of 0: 1 MiB.
const DefaultMaxEvidenceBytes = 1 << 20

// ErrEvidenceTooLarge is wrapped by the error CopyEvidence returns for
// evidence over the limit.
var ErrEvidenceTooLarge = errors.New("checkpoint: evidence too large")

// ErrInvalidEvidence is wrapped by the error CopyEvidence returns for
// evidence that cannot be encoded as JSON, or whose encoding does not
// decode.
var ErrInvalidEvidence = errors.New("checkpoint: invalid evidence")

// CopyEvidence returns a private copy of evidence, the value that
// encoding/json would decode from its JSON encoding (numbers as float64,
// objects as map[string]any, arrays as []any), and refuses evidence whose
// encoding is longer than limit bytes (0 selects DefaultMaxEvidenceBytes)
// or impossible, with an error naming the evidence (a *DecodeError when
// the encoding does not decode).
//
// It measures and copies in one walk, without building the encoding: the
// size is the length of json.Marshal(evidence), byte for byte. Values
// other than the plain ones that JSON decoding and Go callers give (nil,
// bool, string, the integer and float64 types, json.Number, []any and
// map[string]any), strings that are not valid UTF-8, NaN, infinities and
// nesting deeper than jsonvalue.MaxDepth go the long way, through encoding/json,
// with the same result.
func CopyEvidence(evidence map[string]any, limit int) (map[string]any, error) {
	if limit <= 0 {
		limit = DefaultMaxEvidenceBytes
	}
	c, n, ok := jsonvalue.CopyObject(evidence, limit)
	if !ok {
		return copyViaJSON(evidence, limit)
	}
	if n > limit {
		return nil, tooLarge(n, limit)
	}
	if c == nil {
		c = map[string]any{}
	}
	return c, nil
}

func tooLarge(n, limit int) error {
	return fmt.Errorf("%w: evidence is %d bytes encoded, more than the %d allowed; send summaries (counts, paths, short excerpts) instead of whole files or logs", ErrEvidenceTooLarge, n, limit)
}

// copyViaJSON is CopyEvidence through encoding/json, for the values the
// walk leaves to it.
func copyViaJSON(evidence map[string]any, limit int) (map[string]any, error) {
	b, err := json.Marshal(evidence)
	if err != nil {
		return nil, fmt.Errorf("%w: evidence cannot be encoded as JSON (%w); send plain JSON values", ErrInvalidEvidence, err)
	}
	if len(b) > limit {
		return nil, tooLarge(len(b), limit)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &DecodeError{Err: err}
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// DecodeError is the error CopyEvidence returns for evidence whose JSON
// encoding does not decode (a json.Number out of float64's range, nesting
// deeper than encoding/json decodes). Its text is the decoder's, so that
// the caller names the argument; it wraps ErrInvalidEvidence and Err.
type DecodeError struct {
	// Err is encoding/json's error.
	Err error
}

// Error returns the decoder's error text.
func (e *DecodeError) Error() string { return e.Err.Error() }

// Unwrap returns ErrInvalidEvidence and Err.
func (e *DecodeError) Unwrap() []error { return []error{ErrInvalidEvidence, e.Err} }
