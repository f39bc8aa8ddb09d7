package fuzz

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
)

// FuzzListCursor: any string given as list_sessions' cursor is a place in
// the listing or an error naming cursor, never a panic; a place's cursor
// reads back as the same place; and list keys sort as strings exactly as
// they compare (the Redis index orders them by bytes).
func FuzzListCursor(f *testing.F) {
	a := state.ListKey{Created: 1_700_000_000_000_000, ID: "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"}
	f.Add(engine.EncodeCursor(&a), int64(0), int64(-1), uint64(1), uint64(2))
	f.Add("", int64(math.MinInt64), int64(math.MaxInt64), uint64(0), uint64(math.MaxUint64))
	f.Add("YzE", int64(-62135596800000000), int64(1), uint64(7), uint64(7))
	f.Fuzz(func(t *testing.T, cursor string, c1, c2 int64, u1, u2 uint64) {
		k, err := engine.ParseCursor(cursor)
		switch {
		case err != nil:
			var fe *state.FieldError
			if !errors.As(err, &fe) || fe.Field != "cursor" || !errors.Is(err, state.ErrInvalidArgument) {
				t.Fatalf("ParseCursor(%q): %v does not name cursor", cursor, err)
			}
		case cursor == "":
			if k != nil {
				t.Fatalf("the empty cursor is %+v, not the start", k)
			}
		default:
			again, err := engine.ParseCursor(engine.EncodeCursor(k))
			if err != nil || *again != *k {
				t.Fatalf("cursor %q: %+v reads back as %+v, %v", cursor, k, again, err)
			}
		}
		ka := state.ListKey{Created: c1, ID: idOf(u1)}
		kb := state.ListKey{Created: c2, ID: idOf(u2)}
		if got, want := strings.Compare(ka.String(), kb.String()), ka.Compare(kb); got != want {
			t.Fatalf("%+v vs %+v: strings compare %d, keys %d", ka, kb, got, want)
		}
		for _, k := range []state.ListKey{ka, kb} {
			back, err := state.ParseListKey(k.String())
			if err != nil || back != k {
				t.Fatalf("%+v: ParseListKey(String) = %+v, %v", k, back, err)
			}
		}
	})
}

// idOf returns a canonical UUID built from n.
func idOf(n uint64) string {
	var u uuid.UUID
	for i := range 8 {
		u[8+i] = byte(n >> (8 * i))
		u[i] = byte(n >> (8 * (7 - i)))
	}
	return u.String()
}
