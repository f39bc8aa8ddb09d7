package server

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// MaxArgDepth is how deeply a tool argument's JSON value may nest: an
// object or array is one level, each object or array inside it one more.
// Deeper values are refused with an error naming the argument, before any
// handler or store sees them.
const MaxArgDepth = 64

// nestedDeeper reports whether v, a decoded JSON value, nests deeper than
// limit levels. It stops descending at limit+1, so its own stack stays
// small whatever the depth of v.
func nestedDeeper(v any, limit int) bool {
	switch x := v.(type) {
	case map[string]any:
		if limit == 0 {
			return true
		}
		for _, e := range x {
			if nestedDeeper(e, limit-1) {
				return true
			}
		}
	case []any:
		if limit == 0 {
			return true
		}
		for _, e := range x {
			if nestedDeeper(e, limit-1) {
				return true
			}
		}
	}
	return false
}

// badTextArg looks at a raw JSON-RPC message, before anything decodes it,
// for a tools/call argument holding text that is not valid UTF-8: invalid
// bytes, or a \u escape of a lone UTF-16 surrogate. encoding/json turns
// both silently into U+FFFD, so that two different raw names would map to
// one target. It returns the request's ID and the tool error's text.
func badTextArg(msg []byte) (id json.RawMessage, text string, bad bool) {
	if utf8.Valid(msg) && !bytes.Contains(msg, []byte(`\u`)) {
		return nil, "", false // the common case, without a second parse
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Arguments map[string]json.RawMessage `json:"arguments"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Method != string(mcp.MethodToolsCall) || len(m.ID) == 0 {
		return nil, "", false
	}
	for _, k := range slices.Sorted(maps.Keys(m.Params.Arguments)) {
		if !validText(m.Params.Arguments[k]) {
			return m.ID, badArg(shorten(k, 64),
				"is not valid UTF-8 (it holds invalid bytes or a lone UTF-16 surrogate such as \\ud800); send the text as UTF-8").msg, true
		}
	}
	return nil, "", false
}

// validText reports whether every string in the raw JSON value b is valid
// UTF-8 once its escapes are read: no invalid bytes, and every \u escape
// of a surrogate one of a high-low pair.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // \" \\ \n ...: skip the escaped character
			continue
		}
		r, ok := hex4(b[i+2:])
		switch {
		case !ok:
			return true // not JSON; the decoder reports it
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate alone
		case r >= 0xD800 && r <= 0xDBFF:
			if len(b) < i+12 || b[i+6] != '\\' || b[i+7] != 'u' {
				return false
			}
			lo, ok := hex4(b[i+8:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 11
		default:
			i += 5
		}
	}
	return true
}

// hex4 reads four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// toolErrorMessage is the JSON-RPC response carrying an isError tool
// result with text, for the request id.
func toolErrorMessage(id json.RawMessage, text string) []byte {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": mcp.NewToolResultError(text)})
	if err != nil {
		return nil
	}
	return b
}
