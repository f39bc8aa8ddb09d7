package transport

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// The gate reads each message that passes it with one json.Unmarshal into
// a head: inHead for a line the client sent, outHead for one mcp-go
// writes. The members are recorded by small types (jsonString, anyValue,
// listenParams) that never fail the decode themselves: each notes, in a
// flag, whether the member would have failed to decode into the Go type the
// question needs (a string, an any, the listen params), so that one decode
// answers every question exactly as a decode of its own would. encoding/json
// matches member names case-insensitively, the last of duplicate members
// wins, and a type error fails the decode but not the members after it;
// the flags are sticky, so a failure in an earlier duplicate still counts.

// inHead is what the gate reads of a line from the client.
type inHead struct {
	ID      anyValue     `json:"id"`
	JSONRPC jsonString   `json:"jsonrpc"`
	Method  jsonString   `json:"method"`
	Result  anyValue     `json:"result"`
	Params  listenParams `json:"params"`

	// ok says the line decoded: it is a JSON object, or null.
	ok bool
}

// readIn decodes line's head once. The head's raw members alias line,
// which the gate never writes after reading it.
func readIn(line []byte) *inHead {
	h := &inHead{}
	// Only a message that names the revision key, literally or through a
	// backslash escape (json_encode writes \/), can declare a revision;
	// the listen params are decoded for it alone, as observe needs them.
	h.Params.want = bytes.IndexByte(line, '\\') >= 0 || bytes.Contains(line, []byte(mcp.MetaKeyProtocolVersion))
	h.ok = json.Unmarshal(line, h) == nil
	return h
}

// answered classifies the message as mcp-go v1.2.1's HandleMessage does,
// in its order, and reports whether mcp-go will answer it with a response
// that carries its ID, which it returns raw. mcp-go decodes the message
// into jsonrpc and method strings and an any each for id and result: a
// message whose members do not decode so (an ID of 1e400 is out of range)
// gets a parse error with a null ID. A jsonrpc other than "2.0" (absent
// or null included) gets an error with the ID, whatever else the message
// carries. Otherwise a message without an ID, or with a null one, is a
// notification, and one that carries a result is taken for a response and
// gets no answer. Every other message with an ID is answered with it,
// even without a method (method not found).
func (h *inHead) answered() (json.RawMessage, bool) {
	if !h.ok || h.JSONRPC.bad || h.Method.bad || h.ID.bad || h.Result.bad {
		return nil, false
	}
	return h.ID.raw, h.ID.set && (!h.Result.set || h.JSONRPC.s != mcp.JSONRPC_VERSION)
}

// modern reports whether the message declares protocol 2026-07-28 (or
// later) in params._meta.
func (h *inHead) modern() bool {
	return h.ok && !h.Method.bad && h.Params.want && !h.Params.bad &&
		mcp.IsModernProtocol(h.Params.v.Meta.ProtocolVersion())
}

// outHead is what the gate reads of a message mcp-go writes.
type outHead struct {
	ID     rawValue   `json:"id"`
	Method jsonString `json:"method"`

	// ok says the message decoded: it is a JSON object, or null.
	ok bool
}

// readOut decodes p's head once. The head aliases p, so it must not
// outlive the Write that p came with.
func readOut(p []byte) outHead {
	var h outHead
	h.ok = json.Unmarshal(p, &h) == nil && !h.Method.bad
	return h
}

// isResponse reports whether the message is a JSON-RPC response with an
// ID: the answer to a request the gate counted.
func (h *outHead) isResponse() bool {
	return h.ok && !h.Method.set && hasID(h.ID)
}

// hasID reports whether raw is an ID that is present and not null.
func hasID(raw []byte) bool { return len(raw) > 0 && string(raw) != "null" }

// rawValue is a member's raw JSON, as json.RawMessage keeps it (null
// included), without copying it.
type rawValue []byte

// UnmarshalJSON keeps b.
func (v *rawValue) UnmarshalJSON(b []byte) error {
	*v = b
	return nil
}

// jsonString records a member read as a string and as a *string.
type jsonString struct {
	s   string // as a string: null leaves it as it was
	set bool   // as a *string: non-nil, the last member was not null
	bad bool   // a member was neither a string nor null
}

// UnmarshalJSON records b; it never fails.
func (v *jsonString) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case 'n':
		v.set = false
	case '"':
		v.set = true
		if s := b[1 : len(b)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			v.s = string(s)
		} else if json.Unmarshal(b, &v.s) != nil {
			v.bad = true
		}
	default:
		v.bad = true
	}
	return nil
}

// anyValue records a member read as an any, and its raw JSON.
type anyValue struct {
	raw json.RawMessage // the last member, aliasing the message
	set bool            // the any is non-nil: the last member was not null
	bad bool            // a member holds a number out of float64's range
}

// UnmarshalJSON records b; it never fails.
func (v *anyValue) UnmarshalJSON(b []byte) error {
	v.raw = b
	v.set = string(b) != "null"
	if !v.bad && mayOverflow(b) {
		var x any
		v.bad = json.Unmarshal(b, &x) != nil
	}
	return nil
}

// mayOverflow reports whether the valid JSON b could hold a number that
// does not fit a float64, the one way a decode into an any fails: such a
// number has an exponent, which follows a digit, or hundreds of digits.
// It may report true for text in strings; the caller then decodes.
func mayOverflow(b []byte) bool {
	run := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			run++
			if run > 300 {
				return true
			}
		case (c == 'e' || c == 'E') && run > 0:
			return true
		default:
			run = 0
		}
	}
	return false
}

// listenParams records params as observe reads them, when want is set
// before the decode; otherwise it skips them.
type listenParams struct {
	want bool
	bad  bool // a member did not decode into v
	v    struct {
		Meta          *mcp.Meta              `json:"_meta"`
		Notifications mcp.SubscriptionFilter `json:"notifications"`
	}
}

// UnmarshalJSON decodes b into the params read so far, as a decode of the
// whole message would for a repeated member; it never fails.
func (p *listenParams) UnmarshalJSON(b []byte) error {
	if p.want && !p.bad && json.Unmarshal(b, &p.v) != nil {
		p.bad = true
	}
	return nil
}
