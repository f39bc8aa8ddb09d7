package checkpoint

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameAsJSON checks CopyEvidence against the way it replaced: the size is
// len(json.Marshal(ev)) and the copy is what json.Unmarshal gives back,
// with the same errors.
func sameAsJSON(t *testing.T, ev map[string]any) {
	t.Helper()
	b, merr := json.Marshal(ev)
	w := walker{limit: math.MaxInt}
	if ev != nil {
		w.object(ev, 0)
	} else {
		w.n = 4
	}
	if merr == nil && !w.slow {
		assert.Equal(t, len(b), w.n, "size of %s", b)
	}
	for _, limit := range []int{0, 1, len(b) - 1, len(b), len(b) + 1} {
		got, err := CopyEvidence(ev, limit)
		want, werr := copyViaJSON(ev, max(limit, 0))
		if limit <= 0 {
			want, werr = copyViaJSON(ev, DefaultMaxEvidenceBytes)
		}
		if werr != nil {
			require.Error(t, err, "limit %d: %s", limit, b)
			assert.Equal(t, werr.Error(), err.Error(), "limit %d", limit)
			continue
		}
		require.NoError(t, err, "limit %d: %s", limit, b)
		assert.Equal(t, want, got, "limit %d: %s", limit, b)
	}
}

func TestCopyEvidenceSizeIsJSONLength(t *testing.T) {
	self := map[string]any{}
	self["me"] = self
	deep := map[string]any{}
	for d, i := deep, 0; i < 2*maxWalkDepth; i++ {
		next := map[string]any{}
		d["n"] = []any{next}
		d = next
	}
	for _, ev := range []map[string]any{
		nil,
		{},
		{"": ""},
		{"a": nil, "b": true, "c": false, "d": "x", "e": 1.5, "f": []any{}, "g": map[string]any{}},
		{"html": "<a href=\"x\">&amp;</a>", "ctl": "\x00\x01\b\f\n\r\t\x1f\x7f", "sep": "\u2028\u2029", "uni": "héllo 世界 🎉"},
		{"k<&>\n": "key escaping"},
		{"bad": "a\xffb\xc0"},
		{"bad\xff": 1},
		{"f": []any{0.0, math.Copysign(0, -1), 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, -2.5e-300, 5e-324, math.MaxFloat64, 0.1, 100, 123456789.123}},
		{"i": []any{0, -1, int64(math.MinInt64), int64(math.MaxInt64), uint64(math.MaxUint64), int8(-8), int16(16), int32(32), uint(7), uint8(8), uint16(16), uint32(32), 1 << 53, 1<<53 + 1}},
		{"n": []any{json.Number("12"), json.Number("-0.5e+10"), json.Number(""), json.Number("1E400"), json.Number("x"), json.Number("01"), json.Number("1 ")}},
		{"nan": math.NaN()},
		{"inf": math.Inf(-1)},
		{"f32": float32(0.1)},
		{"struct": struct{ A int }{1}},
		{"strs": []string{"a"}, "m": map[string]string{"b": "c"}},
		{"ch": make(chan int)},
		{"nilmap": map[string]any(nil), "nilslice": []any(nil)},
		{"nested": []any{[]any{map[string]any{"a": []any{nil, "x", 1.0}}}}},
		self,
		deep,
	} {
		sameAsJSON(t, ev)
	}
}

// TestCopyEvidenceCopies checks that the copy shares nothing with the
// evidence.
func TestCopyEvidenceCopies(t *testing.T) {
	in := map[string]any{"m": map[string]any{"a": 1.0}, "s": []any{"x"}}
	c, err := CopyEvidence(in, 0)
	require.NoError(t, err)
	in["m"].(map[string]any)["a"] = 2.0
	in["s"].([]any)[0] = "y"
	in["new"] = true
	assert.Equal(t, map[string]any{"m": map[string]any{"a": 1.0}, "s": []any{"x"}}, c)
}

func TestCopyEvidenceOverLimitGivesWholeSize(t *testing.T) {
	ev := map[string]any{"a": strings.Repeat("x", 100), "b": []any{strings.Repeat("y", 100)}}
	b, _ := json.Marshal(ev)
	_, err := CopyEvidence(ev, 10)
	require.ErrorIs(t, err, ErrEvidenceTooLarge)
	assert.Equal(t, tooLarge(len(b), 10).Error(), err.Error())
}

// FuzzCopyEvidence compares CopyEvidence with encoding/json on decoded
// JSON documents.
func FuzzCopyEvidence(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":[1,"x",null,true,{"b":1e-7}]}`, `{"<>&":"\u2028\ud800"}`, `{"n":123456789012345678901234567890}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, doc []byte, useNumber bool) {
		var ev map[string]any
		d := json.NewDecoder(strings.NewReader(string(doc)))
		if useNumber {
			d.UseNumber()
		}
		if d.Decode(&ev) != nil {
			return
		}
		sameAsJSON(t, ev)
	})
}
