package jsonvalue

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameAsJSON checks CopyObject against encoding/json: when it takes m,
// the size is len(json.Marshal(m)) and the copy is what json.Unmarshal
// gives back; when it leaves m to encoding/json, m is one of the values
// documented for that (so the fast path covers every decoded document:
// see FuzzCopyObject).
func sameAsJSON(t *testing.T, m map[string]any) (ok bool) {
	t.Helper()
	c, n, ok := CopyObject(m, math.MaxInt)
	if !ok {
		return false
	}
	b, err := json.Marshal(m)
	require.NoError(t, err, "CopyObject took a value encoding/json refuses")
	assert.Equal(t, len(b), n, "size of %s", b)
	var want map[string]any
	require.NoError(t, json.Unmarshal(b, &want))
	assert.Equal(t, want, c, "copy of %s", b)
	return true
}

func TestCopyObjectIsJSONRoundTrip(t *testing.T) {
	self := map[string]any{}
	self["me"] = self
	deep := map[string]any{}
	for d, i := deep, 0; i < 2*MaxDepth; i++ {
		next := map[string]any{}
		d["n"] = []any{next}
		d = next
	}
	for _, tc := range []struct {
		m    map[string]any
		fast bool
	}{
		{nil, true},
		{map[string]any{}, true},
		{map[string]any{"": ""}, true},
		{map[string]any{"a": nil, "b": true, "c": false, "d": "x", "e": 1.5, "f": []any{}, "g": map[string]any{}}, true},
		{map[string]any{"html": "<a href=\"x\">&amp;</a>", "ctl": "\x00\x01\b\f\n\r\t\x1f\x7f", "sep": "\u2028\u2029", "uni": "héllo 世界 🎉"}, true},
		{map[string]any{"k<&>\n": "key escaping"}, true},
		{map[string]any{"f": []any{0.0, math.Copysign(0, -1), 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, -2.5e-300, 5e-324, math.MaxFloat64, 0.1, 100.0, 123456789.123}}, true},
		{map[string]any{"i": []any{0, -1, int64(math.MinInt64), int64(math.MaxInt64), uint64(math.MaxUint64), int8(-8), int16(16), int32(32), uint(7), uint8(8), uint16(16), uint32(32), 1 << 53, 1<<53 + 1}}, true},
		{map[string]any{"n": []any{json.Number("12"), json.Number("-0.5e+10"), json.Number(""), json.Number("0.0E-3")}}, true},
		{map[string]any{"nilmap": map[string]any(nil), "nilslice": []any(nil)}, true},
		{map[string]any{"nested": []any{[]any{map[string]any{"a": []any{nil, "x", 1.0}}}}}, true},
		{map[string]any{"bad": "a\xffb\xc0"}, false},
		{map[string]any{"bad\xff": 1}, false},
		{map[string]any{"n": json.Number("1E400")}, false},
		{map[string]any{"n": json.Number("01")}, false},
		{map[string]any{"n": json.Number("1 ")}, false},
		{map[string]any{"nan": math.NaN()}, false},
		{map[string]any{"inf": math.Inf(-1)}, false},
		{map[string]any{"f32": float32(0.1)}, false},
		{map[string]any{"struct": struct{ A int }{1}}, false},
		{map[string]any{"strs": []string{"a"}}, false},
		{self, false},
		{deep, false},
	} {
		assert.Equal(t, tc.fast, sameAsJSON(t, tc.m), "%v", tc.m)
	}
}

// TestCopyObjectCopies checks that the copy shares nothing with the
// original.
func TestCopyObjectCopies(t *testing.T) {
	in := map[string]any{"m": map[string]any{"a": 1.0}, "s": []any{"x"}}
	c, _, ok := CopyObject(in, math.MaxInt)
	require.True(t, ok)
	in["m"].(map[string]any)["a"] = 2.0
	in["s"].([]any)[0] = "y"
	in["new"] = true
	assert.Equal(t, map[string]any{"m": map[string]any{"a": 1.0}, "s": []any{"x"}}, c)
}

// TestCopyObjectOverLimitMeasuresAll checks that the walk measures the
// whole value after it stops copying.
func TestCopyObjectOverLimitMeasuresAll(t *testing.T) {
	m := map[string]any{"a": strings.Repeat("x", 100), "b": []any{strings.Repeat("y", 100), map[string]any{"c": 1}}}
	b, _ := json.Marshal(m)
	_, n, ok := CopyObject(m, 10)
	require.True(t, ok)
	assert.Equal(t, len(b), n)
}

// FuzzCopyObject compares CopyObject with encoding/json on decoded JSON
// documents, with and without UseNumber; without it, all decoded
// documents within MaxDepth (decoded strings are valid UTF-8) take the
// walk.
func FuzzCopyObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,"x",null,true,{"b":1e-7}]}`, `{"<>&":"\u2028\ud800"}`, `{"n":123456789012345678901234567890}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, doc []byte, useNumber bool) {
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(string(doc)))
		if useNumber {
			d.UseNumber()
		}
		if d.Decode(&m) != nil {
			return
		}
		if !sameAsJSON(t, m) && !useNumber && len(doc) < MaxDepth {
			t.Errorf("decoded document %q left to encoding/json", doc)
		}
	})
}
