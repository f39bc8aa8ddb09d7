// Package jsonvalue copies the values that encoding/json decodes into
// any, and measures their encoding, in one walk: Copy gives what
// json.Unmarshal(json.Marshal(v)) would, and the length of that encoding,
// without building it.
package jsonvalue

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// CopyObject returns m as encoding/json decodes its encoding (numbers as
// float64, objects as map[string]any, arrays as []any; nil for a nil map)
// and the length of json.Marshal(m). Once the length is over limit
// nothing more is copied, only measured, and the copy is to be dropped.
//
// ok is false, and the caller must go through encoding/json, when m holds
// a value other than nil, bool, string, the integer and float64 types,
// json.Number, []any and map[string]any; a string that is not valid UTF-8
// (encoding/json replaces it byte by byte); NaN or an infinity (which it
// refuses); a json.Number that it refuses or cannot decode; or nesting
// deeper than MaxDepth (a map that holds itself among them).
func CopyObject(m map[string]any, limit int) (c map[string]any, size int, ok bool) {
	w := walker{limit: limit}
	if m == nil {
		return nil, len("null"), true
	}
	c = w.object(m, 0)
	return c, w.n, !w.slow
}

// Copy is CopyObject for any value, without a limit.
func Copy(v any) (c any, ok bool) {
	w := walker{limit: math.MaxInt}
	c = w.value(v, 0)
	return c, !w.slow
}

// MaxDepth is the nesting the walk follows; deeper values (or a map that
// holds itself) go through encoding/json, which reports cycles.
const MaxDepth = 500

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
	if depth > MaxDepth {
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
	if depth > MaxDepth {
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
		if c != nil {
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
