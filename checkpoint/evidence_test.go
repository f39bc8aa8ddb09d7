package checkpoint

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopyEvidenceIsEncodeThenDecode checks CopyEvidence against what it
// replaced, json.Marshal with the size limit then json.Unmarshal: the
// same copy or the same error text, at limits around the size, for
// values that take the walk and values left to encoding/json.
func TestCopyEvidenceIsEncodeThenDecode(t *testing.T) {
	for _, ev := range []map[string]any{
		nil,
		{},
		{"a": "<&>\u2028", "b": []any{1, 2.5, json.Number("3"), nil, true}, "c": map[string]any{"d": map[string]any(nil)}},
		{"bad": "a\xffb"},
		{"n": json.Number("1e400")},
		{"nan": math.NaN()},
		{"s": struct{ A int }{1}},
		{"ch": make(chan int)},
	} {
		b, _ := json.Marshal(ev)
		for _, limit := range []int{0, 1, len(b) - 1, len(b), len(b) + 1} {
			got, err := CopyEvidence(ev, limit)
			want, werr := copyViaJSON(ev, cmp(limit > 0, limit, DefaultMaxEvidenceBytes))
			if werr != nil {
				require.Error(t, err, "limit %d: %s", limit, b)
				assert.Equal(t, werr.Error(), err.Error(), "limit %d", limit)
				continue
			}
			require.NoError(t, err, "limit %d: %s", limit, b)
			assert.Equal(t, want, got, "limit %d: %s", limit, b)
		}
	}
}

func cmp(c bool, a, b int) int {
	if c {
		return a
	}
	return b
}

func TestCopyEvidenceOverLimitGivesWholeSize(t *testing.T) {
	ev := map[string]any{"a": strings.Repeat("x", 100), "b": []any{strings.Repeat("y", 100)}}
	b, _ := json.Marshal(ev)
	_, err := CopyEvidence(ev, 10)
	require.ErrorIs(t, err, ErrEvidenceTooLarge)
	assert.Equal(t, tooLarge(len(b), 10).Error(), err.Error())
}

func TestCopyEvidenceDecodeError(t *testing.T) {
	_, err := CopyEvidence(map[string]any{"n": json.Number("1e400")}, 0)
	require.ErrorIs(t, err, ErrInvalidEvidence)
	de, ok := errors.AsType[*DecodeError](err)
	require.True(t, ok)
	assert.Equal(t, de.Err.Error(), err.Error())
}

// BenchmarkCopyEvidence compares the one walk with the encode, measure,
// decode it replaced, on evidence of a usual size.
func BenchmarkCopyEvidence(b *testing.B) {
	ev := map[string]any{
		"summary":      "fixed the lexer's unterminated string panic; added a regression test",
		"tests_passed": 42, "coverage": 87.5, "reproduced": true,
		"files":       []any{"internal/lexer/lexer.go", "internal/lexer/lexer_test.go"},
		"environment": map[string]any{"go": "1.26", "os": "linux", "ci": nil},
	}
	for _, impl := range []struct {
		name string
		copy func(map[string]any, int) (map[string]any, error)
	}{{"json", copyViaJSON}, {"walk", CopyEvidence}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.copy(ev, DefaultMaxEvidenceBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
