// Package jsonnum reads numbers out of decoded values: what encoding/json
// gives for a JSON number (float64, or json.Number with UseNumber), what Go
// callers pass in its place (any integer or floating-point type), and the
// float64 a YAML decoder yields. It is the one place where mcpflow turns
// such a value into a float64 or a bounded int and decides what counts as
// a whole number; the callers (the tool arguments of server, metadata.json
// in engine/workflows, evidence and gate files in checkpoint) only word the
// error for their users.
//
// The package imports nothing of ours; its functions are pure and safe for
// concurrent use.
package jsonnum

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
)

// The reasons Int refuses a value; test with errors.Is.
var (
	// ErrNotNumber: the value is not a number at all (a string, a bool,
	// null, an object, a list).
	ErrNotNumber = errors.New("jsonnum: not a number")
	// ErrNotWhole: the value is a number with a fractional part, NaN or
	// an infinity, or a json.Number that is no finite float64.
	ErrNotWhole = errors.New("jsonnum: not a whole number")
	// ErrOutOfRange: the value is a whole number outside the bounds.
	ErrOutOfRange = errors.New("jsonnum: out of range")
)

// IsNumber reports whether v holds a number type: json.Number, or any Go
// integer or floating-point type (a named one too). It does not look at
// the value, so NaN and a json.Number out of float64's range count.
func IsNumber(v any) bool {
	switch v.(type) {
	case float64, json.Number:
		return true
	case nil, bool, string, []any, map[string]any:
		return false
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// Float returns v's value when v is a number (see IsNumber) with a finite
// float64 value. It reports false for anything else, for NaN and the
// infinities, which JSON cannot spell, and for a json.Number that does not
// parse as a finite float64. A bool is never a number.
func Float(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case float64:
		// What encoding/json gives: checked first, without reflection.
		x = n
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return 0, false
		}
		x = f
	default:
		if !IsNumber(v) {
			return 0, false
		}
		rv := reflect.ValueOf(v)
		switch {
		case rv.CanInt():
			x = float64(rv.Int())
		case rv.CanUint():
			x = float64(rv.Uint())
		default:
			x = rv.Float()
		}
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// IsWhole reports whether x is finite and has no fractional part: 3 and
// 3.0 are whole, 2.5, NaN and the infinities are not.
func IsWhole(x float64) bool {
	return x == math.Trunc(x) && !math.IsInf(x, 0)
}

// Int returns v as an int when v is a whole number (see Float and IsWhole)
// from lo to hi. Otherwise the error is ErrNotNumber, ErrNotWhole or
// ErrOutOfRange, in that order of checking; the caller words the message,
// naming its field. lo and hi must be within ±2^53, where every int is a
// float64.
func Int(v any, lo, hi int) (int, error) {
	x, ok := Float(v)
	switch {
	case !ok && !IsNumber(v):
		return 0, ErrNotNumber
	case !ok || !IsWhole(x):
		return 0, ErrNotWhole
	case x < float64(lo) || x > float64(hi):
		return 0, ErrOutOfRange
	}
	return int(x), nil
}
