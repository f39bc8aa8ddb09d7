package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
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
// nesting deeper than maxWalkDepth go the long way, through encoding/json,
// with the same result.
func CopyEvidence(evidence map[string]any, limit int) (map[string]any, error) {
	if limit <= 0 {
		limit = DefaultMaxEvidenceBytes
	}
	w := walker{limit: limit}
	var c map[string]any
	if evidence == nil {
		w.n = len("null")
	} else {
		c = w.object(evidence, 0)
	}
	if w.slow {
		return copyViaJSON(evidence, limit)
	}
	if w.n > limit {
		return nil, tooLarge(w.n, limit)
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

// maxWalkDepth is the nesting the walk follows; deeper evidence (or a map
// that holds itself) goes through encoding/json, which reports cycles.
const maxWalkDepth = 500

// walker measures the JSON encoding of a value while it copies it. n is
// the length so far; once n is over limit nothing more is copied, only
// measured, so that the error gives the whole size. slow is set when the
// value needs encoding/json, and ends the walk.
type walker struct {
	n     int
	limit int
	slow  bool
}

// copying reports whether the walk still builds the copy.
func (w *walker) copying() bool { return w.n <= w.limit }

func (w *walker) object(m map[string]any, depth int) map[string]any {
	if depth > maxWalkDepth {
		w.slow = true
		return nil
	}
	var c map[string]any
	if w.copying() {
		c = make(map[string]any, len(m))
	}
	w.n += 2 + max(len(m)-1, 0) // braces and commas
	for k, v := range m {
		w.str(k)
		w.n++ // colon
		cv := w.value(v, depth+1)
		if w.slow {
			return nil
		}
		if c != nil {
			c[k] = cv
		}
	}
	return c
}

func (w *walker) value(v any, depth int) any {
	switch v := v.(type) {
	case nil:
		w.n += 4
		return nil
	case bool:
		if v {
			w.n += 4
		} else {
			w.n += 5
		}
		return v
	case string:
		w.str(v)
		return v
	case float64:
		w.float(v)
		return v
	case int:
		return w.integer(int64(v))
	case int64:
		return w.integer(v)
	case int32:
		return w.integer(int64(v))
	case int16:
		return w.integer(int64(v))
	case int8:
		return w.integer(int64(v))
	case uint:
		return w.unsigned(uint64(v))
	case uint64:
		return w.unsigned(v)
	case uint32:
		return w.unsigned(uint64(v))
	case uint16:
		return w.unsigned(uint64(v))
	case uint8:
		return w.unsigned(uint64(v))
	case json.Number:
		return w.number(v)
	case map[string]any:
		if v == nil {
			w.n += 4
			return nil
		}
		if c := w.object(v, depth); c != nil {
			return c
		}
		return nil
	case []any:
		return w.array(v, depth)
	}
	w.slow = true
	return nil
}

func (w *walker) array(s []any, depth int) any {
	if s == nil {
		w.n += 4
		return nil
	}
	if depth > maxWalkDepth {
		w.slow = true
		return nil
	}
	var c []any
	if w.copying() {
		c = make([]any, len(s))
	}
	w.n += 2 + max(len(s)-1, 0) // brackets and commas
	for i, v := range s {
		cv := w.value(v, depth+1)
		if w.slow {
			return nil
		}
		if c != nil && w.copying() {
			c[i] = cv
		}
	}
	if c == nil {
		return nil
	}
	return c
}

// str adds the length of s as encoding/json writes a string: quoted, with
// HTML characters, control characters, U+2028 and U+2029 escaped. Invalid
// UTF-8, which encoding/json replaces byte by byte, goes the long way.
func (w *walker) str(s string) {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '\\' || b == '"' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20 || b == '<' || b == '>' || b == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			w.slow = true
			return
		case c == '\u2028' || c == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	w.n += n
}

// float adds the length of f as encoding/json writes a float64 (ES6
// number formatting); NaN and infinities, which it refuses, go the long
// way.
func (w *walker) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		w.slow = true
		return
	}
	var buf [32]byte
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b := strconv.AppendFloat(buf[:0], f, format, -1, 64)
	n := len(b)
	if format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		n-- // e-09 is written e-9
	}
	w.n += n
}

// integer adds the length of v in decimal and returns the float64 that
// decoding it gives.
func (w *walker) integer(v int64) any {
	var buf [24]byte
	w.n += len(strconv.AppendInt(buf[:0], v, 10))
	return float64(v)
}

func (w *walker) unsigned(v uint64) any {
	var buf [24]byte
	w.n += len(strconv.AppendUint(buf[:0], v, 10))
	return float64(v)
}

// number adds a json.Number, written as it is (an empty one as 0), and
// returns the float64 that decoding it gives. A number that is not a JSON
// number, or out of float64's range, goes the long way, whose encoder or
// decoder reports it.
func (w *walker) number(v json.Number) any {
	if v == "" {
		w.n++
		return float64(0)
	}
	s := string(v)
	if !isJSONNumber(s) {
		w.slow = true
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		w.slow = true
		return nil
	}
	w.n += len(s)
	return f
}

// isJSONNumber reports whether s is a number by JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

// digits returns the index after the run of digits at s[i:].
func digits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
