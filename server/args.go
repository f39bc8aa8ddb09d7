package server

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/jsonnum"
)

// argError is a bad tool argument: the text names the argument and says
// how to fix it. It becomes an isError tool result, never a protocol error.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func badArg(name, format string, a ...any) *argError {
	return &argError{msg: name + ": " + fmt.Sprintf(format, a...)}
}

// args reads one call's arguments. The first problem found is kept in err
// and every later read is a no-op, so a handler reads all its arguments and
// checks err once.
type args struct {
	m   map[string]any
	err *argError
}

// newArgs checks that raw is a JSON object (or absent) with no argument
// outside allowed and none nested deeper than MaxArgDepth.
func newArgs(raw any, allowed ...string) *args {
	a := &args{}
	switch v := raw.(type) {
	case nil:
		a.m = map[string]any{}
	case map[string]any:
		a.m = v
	default:
		a.err = &argError{msg: fmt.Sprintf("arguments: must be a JSON object, got %s", jsonType(raw))}
		return a
	}
	for _, k := range slices.Sorted(maps.Keys(a.m)) {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				a.err = badArg(fmt.Sprintf("%q", shorten(k, 64)), "unknown argument; this tool takes no arguments")
			} else {
				a.err = badArg(fmt.Sprintf("%q", shorten(k, 64)), "unknown argument; this tool takes %s", strings.Join(allowed, ", "))
			}
			return a
		}
		if nestedDeeper(a.m[k], MaxArgDepth) {
			a.err = badArg(k, "nested deeper than %d levels; flatten the value", MaxArgDepth)
			return a
		}
	}
	return a
}

func (a *args) fail(e *argError) {
	if a.err == nil {
		a.err = e
	}
}

// present returns the value of name and whether it was given (a JSON null
// counts as absent).
func (a *args) present(name string) (any, bool) {
	if a.err != nil {
		return nil, false
	}
	v, ok := a.m[name]
	return v, ok && v != nil
}

// str reads a string argument of at most maxRunes characters. A required
// string must not be blank; hint says what to pass.
func (a *args) str(name string, required bool, maxRunes int, hint string) string {
	v, ok := a.present(name)
	if !ok {
		if required && a.err == nil {
			a.fail(badArg(name, "required; %s", hint))
		}
		return ""
	}
	s, isStr := v.(string)
	switch {
	case !isStr:
		a.fail(badArg(name, "must be a string, got %s; %s", jsonType(v), hint))
	case required && strings.TrimSpace(s) == "":
		a.fail(badArg(name, "must not be empty; %s", hint))
	case !utf8.ValidString(s):
		a.fail(badArg(name, "is not valid UTF-8"))
	case strings.ContainsRune(s, 0):
		a.fail(badArg(name, "contains a NUL character; %s", hint))
	case utf8.RuneCountInString(s) > maxRunes:
		a.fail(badArg(name, "is %d characters long; the limit is %d", utf8.RuneCountInString(s), maxRunes))
	default:
		return s
	}
	return ""
}

// integer reads a whole-number argument in [lo, hi]. It reports whether the
// argument was given.
func (a *args) integer(name string, required bool, lo, hi int, hint string) (int, bool) {
	v, ok := a.present(name)
	if !ok {
		if required && a.err == nil {
			a.fail(badArg(name, "required; %s", hint))
		}
		return 0, false
	}
	n, err := jsonnum.Int(v, lo, hi)
	switch {
	case errors.Is(err, jsonnum.ErrNotNumber):
		a.fail(badArg(name, "must be a whole number, got %s; %s", jsonType(v), hint))
	case errors.Is(err, jsonnum.ErrNotWhole):
		a.fail(badArg(name, "must be a whole number, got %v; %s", v, hint))
	case errors.Is(err, jsonnum.ErrOutOfRange):
		a.fail(badArg(name, "must be between %d and %d, got %v; %s", lo, hi, v, hint))
	default:
		return n, true
	}
	return 0, false
}

// strList reads an array of strings.
func (a *args) strList(name string, maxItems, maxRunes int, hint string) []string {
	v, ok := a.present(name)
	if !ok {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		a.fail(badArg(name, "must be an array of strings, got %s; %s", jsonType(v), hint))
		return nil
	}
	if len(list) > maxItems {
		a.fail(badArg(name, "has %d items; at most %d are allowed", len(list), maxItems))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, isStr := item.(string)
		if !isStr {
			a.fail(badArg(name, "item %d must be a string, got %s; %s", i, jsonType(item), hint))
			return nil
		}
		if utf8.RuneCountInString(s) > maxRunes {
			a.fail(badArg(name, "item %d is longer than %d characters", i, maxRunes))
			return nil
		}
		out = append(out, s)
	}
	return out
}

// object reads a JSON object argument.
func (a *args) object(name string, required bool, hint string) map[string]any {
	v, ok := a.present(name)
	if !ok {
		if required && a.err == nil {
			a.fail(badArg(name, "required; %s", hint))
		}
		return nil
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		a.fail(badArg(name, "must be a JSON object, got %s; %s", jsonType(v), hint))
		return nil
	}
	return m
}

// sessionID reads the session_id argument and checks that it is a UUID, so
// that nothing else (a path, "../x") ever reaches the engine.
func (a *args) sessionID() state.SessionID {
	const hint = "pass the session_id that start_workflow returned (list_sessions shows them all)"
	s := a.str("session_id", true, 64, hint)
	if s == "" || a.err != nil {
		return state.SessionID{}
	}
	id, err := state.ParseSessionID(s)
	if err != nil {
		a.fail(badArg("session_id", "%q is not a session ID; session IDs are UUIDs such as 3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53; %s", shorten(s, 64), hint))
	}
	return id
}

// jsonType names the JSON type of a decoded value for error messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	if jsonnum.IsNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// shorten cuts s to n characters for an error message; print it with %q.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}
