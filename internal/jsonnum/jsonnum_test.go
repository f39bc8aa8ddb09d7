package jsonnum_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mcpflow/mcpflow/internal/jsonnum"
)

// Named types as Go callers declare them.
type (
	count int
	flag  bool
)

func TestFloat(t *testing.T) {
	tests := []struct {
		in   any
		want float64
		ok   bool
	}{
		{2.5, 2.5, true},
		{float32(0.25), 0.25, true},
		{int(-3), -3, true},
		{int8(-8), -8, true},
		{int16(16), 16, true},
		{int32(32), 32, true},
		{int64(1 << 40), 1 << 40, true},
		{uint(1), 1, true},
		{uint8(8), 8, true},
		{uint16(16), 16, true},
		{uint32(32), 32, true},
		{uint64(64), 64, true},
		{uintptr(9), 9, true},
		{count(4), 4, true},
		{flag(true), 0, false},
		{json.Number("3.0"), 3, true},
		{json.Number("-1e3"), -1000, true},
		{json.Number("1e999"), 0, false},
		{json.Number("abc"), 0, false},
		{math.NaN(), 0, false},
		{math.Inf(1), 0, false},
		{float32(math.Inf(-1)), 0, false},
		{true, 0, false},
		{"1", 0, false},
		{nil, 0, false},
		{[]any{1.0}, 0, false},
		{map[string]any{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T(%v)", tt.in, tt.in), func(t *testing.T) {
			got, ok := jsonnum.Float(tt.in)
			assert.Equal(t, tt.ok, ok)
			assert.InDelta(t, tt.want, got, 0)
		})
	}
}

func TestIsNumber(t *testing.T) {
	for _, v := range []any{1.5, float32(1), 1, int8(1), int16(1), int32(1), int64(1), uint(1), uint8(1), uint16(1), uint32(1), uint64(1), json.Number("1e999"), math.NaN(), count(1)} {
		assert.True(t, jsonnum.IsNumber(v), "%T(%v)", v, v)
	}
	for _, v := range []any{nil, true, "1", []any{}, map[string]any{}, []byte("1"), flag(false), struct{}{}} {
		assert.False(t, jsonnum.IsNumber(v), "%T(%v)", v, v)
	}
}

func TestIsWhole(t *testing.T) {
	for _, x := range []float64{0, 3, 3.0, -7, 1 << 53, 1e300} {
		assert.True(t, jsonnum.IsWhole(x), "%v", x)
	}
	for _, x := range []float64{2.5, -0.1, 1e-300, math.NaN(), math.Inf(1), math.Inf(-1)} {
		assert.False(t, jsonnum.IsWhole(x), "%v", x)
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		in   any
		want int
		err  error
	}{
		{3.0, 3, nil},
		{0.0, 0, nil},
		{10.0, 10, nil},
		{json.Number("7"), 7, nil},
		{json.Number("7.0"), 7, nil},
		{int64(5), 5, nil},
		{uint8(2), 2, nil},
		{2.5, 0, jsonnum.ErrNotWhole},
		{json.Number("1.5"), 0, jsonnum.ErrNotWhole},
		{json.Number("1e999"), 0, jsonnum.ErrNotWhole},
		{math.Inf(1), 0, jsonnum.ErrNotWhole},
		{math.NaN(), 0, jsonnum.ErrNotWhole},
		{-1.0, 0, jsonnum.ErrOutOfRange},
		{11.0, 0, jsonnum.ErrOutOfRange},
		{json.Number("1e20"), 0, jsonnum.ErrOutOfRange},
		{"5", 0, jsonnum.ErrNotNumber},
		{true, 0, jsonnum.ErrNotNumber},
		{nil, 0, jsonnum.ErrNotNumber},
		{[]any{1.0}, 0, jsonnum.ErrNotNumber},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T(%v)", tt.in, tt.in), func(t *testing.T) {
			got, err := jsonnum.Int(tt.in, 0, 10)
			assert.Equal(t, tt.want, got)
			if tt.err == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.err)
			}
		})
	}
}

func ExampleInt() {
	var args map[string]any
	_ = json.Unmarshal([]byte(`{"phase": 2.0, "task": 1.5, "limit": 99, "name": "x"}`), &args)
	for _, k := range []string{"phase", "task", "limit", "name"} {
		n, err := jsonnum.Int(args[k], 0, 50)
		switch {
		case errors.Is(err, jsonnum.ErrNotNumber):
			fmt.Printf("%s: must be a whole number, got %T\n", k, args[k])
		case errors.Is(err, jsonnum.ErrNotWhole):
			fmt.Printf("%s: must be a whole number, got %v\n", k, args[k])
		case errors.Is(err, jsonnum.ErrOutOfRange):
			fmt.Printf("%s: must be between 0 and 50, got %v\n", k, args[k])
		default:
			fmt.Printf("%s = %d\n", k, n)
		}
	}
	// Output:
	// phase = 2
	// task: must be a whole number, got 1.5
	// limit: must be between 0 and 50, got 99
	// name: must be a whole number, got string
}
