package state

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// filler sets every field of a value, recursively, to a valid non-zero
// value, so that a field added to SessionState later is filled too.
type filler struct{ n int }

var (
	timeType = reflect.TypeFor[time.Time]()
	anyType  = reflect.TypeFor[any]()
)

func (f *filler) fill(v reflect.Value, field string) {
	f.n++
	switch {
	case v.Type() == timeType:
		// Not UTC and below the microsecond: the state file changes both.
		v.Set(reflect.ValueOf(time.Date(2026, 12, 4, 21, f.n%60, 5, 123456789+f.n, time.FixedZone("X", 3600))))
		return
	case v.Type() == anyType:
		// JSON values of every kind, an int among them (read back as
		// float64).
		v.Set(reflect.ValueOf([]any{f.n, "s", true, nil, 2.5, map[string]any{"k": json.Number("7")}}))
		return
	}
	switch v.Kind() {
	case reflect.String:
		switch field {
		case "Status":
			v.SetString(string(StatusActive))
		case "Reason":
			v.SetString(HistoryRollback)
		default:
			v.SetString(field + "-" + strconv.Itoa(f.n))
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), field)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), field)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k, field+"Key")
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, field)
			m.SetMapIndex(k, e)
			_ = i
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			f.fill(v.Field(i), v.Type().Field(i).Name)
		}
	default:
		panic("filler: no value for " + v.Type().String() + " (field " + field + ")")
	}
}

// fullState returns a state with every field, and every field of what it
// holds, set.
func fullState() *SessionState {
	st := &SessionState{}
	(&filler{}).fill(reflect.ValueOf(st).Elem(), "")
	st.SessionID = "0b8f2c3e-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
	st.Status = StatusActive
	return st
}

// checkDeep fails when a and b, equal values, share a map, a slice's
// array or a pointer, or when a struct field of a is zero.
func checkDeep(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if a.IsNil() {
			return
		}
		if a.Kind() != reflect.Slice || a.Len() > 0 {
			assert.NotEqual(t, a.UnsafePointer(), b.UnsafePointer(), "%s is shared", path)
		}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !a.IsNil() {
			checkDeep(t, a.Elem(), b.Elem(), path)
		}
	case reflect.Slice:
		for i := range a.Len() {
			checkDeep(t, a.Index(i), b.Index(i), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Map:
		for _, k := range a.MapKeys() {
			checkDeep(t, a.MapIndex(k), b.MapIndex(k), path+"["+fmt.Sprint(k.Interface())+"]")
		}
	case reflect.Struct:
		if a.Type() == timeType {
			return
		}
		for i := range a.NumField() {
			name := path + "." + a.Type().Field(i).Name
			assert.False(t, a.Field(i).IsZero(), "%s is zero in the copy: DeepCopy forgot it", name)
			checkDeep(t, a.Field(i), b.Field(i), name)
		}
	}
}

// TestDeepCopyCopiesEveryField fills every field of a state by
// reflection and checks that DeepCopy's copy is the state-file round
// trip's (what DeepCopy was) and shares nothing with the original.
func TestDeepCopyCopiesEveryField(t *testing.T) {
	st := fullState()
	want, err := copyViaJSON(st)
	require.NoError(t, err)
	got, err := DeepCopy(st)
	require.NoError(t, err)
	var c copier
	c.state(st)
	require.False(t, c.slow, "the full state took the state-file path")
	assert.Equal(t, want, got)
	checkDeep(t, reflect.ValueOf(got).Elem(), reflect.ValueOf(st).Elem(), "SessionState")
	checkDeep(t, reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem(), "SessionState")
}

// TestDeepCopyIsStateFileRoundTrip compares DeepCopy with the state-file
// round trip on states with empty, missing and unusual values, among them
// ones that take the state-file path.
func TestDeepCopyIsStateFileRoundTrip(t *testing.T) {
	states := map[string]func(*SessionState){
		"sample": func(*SessionState) {},
		"nil collections": func(st *SessionState) {
			*st = SessionState{SessionID: st.SessionID, WorkflowType: "w", Status: StatusCompleted}
		},
		"empty collections": func(st *SessionState) { st.Decisions = []Decision{}; st.Recovery.History = []HistoryEntry{} },
		"no status":         func(st *SessionState) { st.Status = ""; st.CurrentPhase = 3 },
		"empty artifact": func(st *SessionState) {
			st.PhaseArtifacts = map[int]*PhaseArtifact{0: {}, 1: nil, 2: {Outputs: map[string]any{}, CommandsExecuted: []any{}, Errors: []string{}}}
		},
		"awaiting only":   func(st *SessionState) { st.Awaiting = &Awaiting{Phase: 2, RequestedAt: time.Now()} },
		"paused":          func(st *SessionState) { st.Paused = true },
		"failed attempt":  func(st *SessionState) { st.Recovery.FailedAttempts = []FailedAttempt{{Phase: 1}} },
		"invalid utf-8":   func(st *SessionState) { st.TargetFile = "a\xffb" },
		"unusual value":   func(st *SessionState) { st.Metadata["x"] = struct{ A int }{1} },
		"reserved key":    func(st *SessionState) { st.Metadata[metaPaused] = true },
		"bad status":      func(st *SessionState) { st.Status = "odd" },
		"bad reason":      func(st *SessionState) { st.Recovery.History = []HistoryEntry{{Reason: "odd"}} },
		"no workflow":     func(st *SessionState) { st.WorkflowType = "" },
		"year 10000":      func(st *SessionState) { st.UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"decision at bad": func(st *SessionState) { st.Decisions = []Decision{{At: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}} },
		"full":            func(st *SessionState) { *st = *fullState() },
	}
	for name, change := range states {
		t.Run(name, func(t *testing.T) {
			st := sampleState()
			change(st)
			want, werr := copyViaJSON(st)
			got, err := DeepCopy(st)
			if werr != nil {
				require.Error(t, err)
				assert.Equal(t, werr.Error(), err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// BenchmarkDeepCopy compares the field-by-field copy with the state-file
// round trip it replaced, on a state with every field set.
func BenchmarkDeepCopy(b *testing.B) {
	st := fullState()
	for _, impl := range []struct {
		name string
		copy func(*SessionState) (*SessionState, error)
	}{{"json", copyViaJSON}, {"typed", DeepCopy}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.copy(st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
