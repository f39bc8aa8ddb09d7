package transport

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The gate once decoded a message once per question it asked. These are
// those decodes, kept as the model the one-decode heads must match.

func modelAnswered(line []byte) (json.RawMessage, bool) {
	var raw struct {
		ID json.RawMessage `json:"id"`
	}
	var m struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		ID      any    `json:"id"`
		Result  any    `json:"result"`
	}
	if json.Unmarshal(line, &raw) != nil || json.Unmarshal(line, &m) != nil {
		return nil, false
	}
	// mcp-go checks the version first, and answers a wrong one with an
	// error carrying the ID, result or not.
	return raw.ID, m.ID != nil && (m.Result == nil || m.JSONRPC != mcp.JSONRPC_VERSION)
}

// modelObserve returns whether the line declares a modern revision, and
// the listen request it opens (id nil when none). It decodes every line,
// as mcp-go does: the revision key may be spelled with escapes.
func modelObserve(line []byte) (bool, json.RawMessage, mcp.SubscriptionFilter) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Meta          *mcp.Meta              `json:"_meta"`
			Notifications mcp.SubscriptionFilter `json:"notifications"`
		} `json:"params"`
	}
	if json.Unmarshal(line, &m) != nil || !mcp.IsModernProtocol(m.Params.Meta.ProtocolVersion()) {
		return false, nil, mcp.SubscriptionFilter{}
	}
	if m.Method == string(mcp.MethodSubscriptionsListen) && len(m.ID) > 0 && string(m.ID) != "null" {
		return true, m.ID, m.Params.Notifications
	}
	return true, nil, mcp.SubscriptionFilter{}
}

func modelIsResponse(msg []byte) bool {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method *string         `json:"method"`
	}
	if json.Unmarshal(msg, &m) != nil {
		return false
	}
	return m.Method == nil && len(m.ID) > 0 && string(m.ID) != "null"
}

// modelOutgoing returns whether the message decodes for outgoing, its
// method and its raw ID.
func modelOutgoing(p []byte) (bool, string, json.RawMessage) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(p, &m) != nil {
		return false, "", nil
	}
	return true, m.Method, m.ID
}

// checkHeads reports every question on which the heads of msg answer
// otherwise than the model's separate decodes.
func checkHeads(t *testing.T, msg []byte) {
	t.Helper()
	in := readIn(msg)
	id, answered := in.answered()
	wantID, wantAnswered := modelAnswered(msg)
	if answered != wantAnswered || !bytes.Equal(id, wantID) {
		t.Errorf("%s: answered %s %v, want %s %v", msg, id, answered, wantID, wantAnswered)
	}
	modern, listenID, filter := modelObserve(msg)
	if in.modern() != modern {
		t.Errorf("%s: modern %v, want %v", msg, in.modern(), modern)
	}
	if modern {
		var gotID json.RawMessage
		var gotFilter mcp.SubscriptionFilter
		if in.Method.s == string(mcp.MethodSubscriptionsListen) && hasID(in.ID.raw) {
			gotID, gotFilter = in.ID.raw, in.Params.v.Notifications
		}
		if !bytes.Equal(gotID, listenID) || !equalFilter(gotFilter, filter) {
			t.Errorf("%s: listen %s %+v, want %s %+v", msg, gotID, gotFilter, listenID, filter)
		}
	}
	out := readOut(msg)
	if out.isResponse() != modelIsResponse(msg) {
		t.Errorf("%s: isResponse %v, want %v", msg, out.isResponse(), modelIsResponse(msg))
	}
	ok, method, rid := modelOutgoing(msg)
	if out.ok != ok || (ok && (out.Method.s != method || !bytes.Equal(out.ID, rid))) {
		t.Errorf("%s: outgoing %v %q %s, want %v %q %s", msg, out.ok, out.Method.s, out.ID, ok, method, rid)
	}
}

func equalFilter(a, b mcp.SubscriptionFilter) bool {
	return a.ToolsListChanged == b.ToolsListChanged && a.PromptsListChanged == b.PromptsListChanged &&
		a.ResourcesListChanged == b.ResourcesListChanged && strings.Join(a.ResourceSubscriptions, "\x00") == strings.Join(b.ResourceSubscriptions, "\x00") &&
		len(a.ResourceSubscriptions) == len(b.ResourceSubscriptions)
}

// headSeeds are messages on which one decode could easily answer otherwise
// than separate ones: duplicate and differently cased members, nulls,
// numbers out of range, members of the wrong type, escapes.
var headSeeds = []string{
	reqLine, notifLine, respLine, `null`, `[]`, `"x"`, `5`, `{}`, `not json`,
	`{"jsonrpc":"2.0","id":1e400,"method":"x"}`,
	`{"id":1,"result":1e400}`,
	`{"id":1,"result":{"a":[1,2e999]}}`,
	`{"id":{"a":1e400},"method":"x"}`,
	`{"id":"1e400","method":"x"}`,
	`{"id":1e400,"id":1,"method":"x"}`,
	`{"id":1,"ID":null,"method":"x"}`,
	`{"Id":3,"Method":"tools/call"}`,
	`{"id":1,"result":1,"result":null}`,
	`{"id":1,"result":null,"Result":2}`,
	`{"id":1,"method":5}`,
	`{"id":1,"jsonrpc":2,"method":"x"}`,
	`{"id":1,"jsonrpc":null,"method":null}`,
	`{"id":1,"method":"x","method":null}`,
	`{"id":1,"method":null,"method":"x"}`,
	`{"id":1,"method":""}`,
	`{"id":1,"method":"tools\/call"}`,
	"{\"id\":1,\"method\":\"\xff\"}",
	`{"id":null,"method":"x"}`,
	`{"id":[1],"method":"x"}`,
	`{"id":"` + strings.Repeat("9", 400) + `","method":"x"}`,
	`{"id":` + strings.Repeat("9", 400) + `,"method":"x"}`,
	`{"id":` + strings.Repeat("9", 305) + `,"method":"x"}`,
	`{"id":1e-400,"method":"x"}`,
	`{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"notifications":{"toolsListChanged":true}}}`,
	`{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"params":{"notifications":{"promptsListChanged":true}}}`,
	`{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":5,"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"notifications":[]}}`,
	`{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-06-18"}}}`,
	`{"jsonrpc":"2.0","id":2,"method":7,"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":1e400,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`,
	`{"jsonrpc":"2.0","id":9,"result":{"content":[]}}`,
	`{"jsonrpc":"2.0","id":9,"error":{"code":-1,"message":"x"}}`,
	escapedKeyLine,
	`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"_meta":{"\u0069o.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
	`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026\u002d07-28"}}}`,
	`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"a\nb"}}`,
	wrongVersionResultLine,
	`{"id":7,"result":{}}`,
	`{"jsonrpc":null,"id":7,"result":{}}`,
	`{"jsonrpc":"2.0","jsonrpc":null,"id":7,"result":{}}`,
	`{"jsonrpc":"1.0","method":"x"}`,
	`{"jsonrpc":"1.0","id":null,"result":{}}`,
	`{"JSONRPC":"2.0","id":7,"result":{}}`,
}

const (
	// escapedKeyLine spells the revision key with an escaped slash, as
	// PHP's json_encode does by default.
	escapedKeyLine = `{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol\/protocolVersion":"2026-07-28"},"notifications":{"toolsListChanged":true}}}`
	// wrongVersionResultLine carries a result, but mcp-go rejects its
	// version first and answers it with its ID.
	wrongVersionResultLine = `{"jsonrpc":"1.0","id":7,"result":{}}`
)

// TestStdioHeadReadsAnEscapedRevisionKey: a revision key written with an
// escape declares the revision, as mcp-go reads it, and opens the listen
// request.
func TestStdioHeadReadsAnEscapedRevisionKey(t *testing.T) {
	h := readIn([]byte(escapedKeyLine))
	require.True(t, h.modern(), "mcp-go reads the escaped key as the revision")
	assert.Equal(t, string(mcp.MethodSubscriptionsListen), h.Method.s)
	assert.True(t, h.Params.v.Notifications.ToolsListChanged)
}

// TestStdioHeadWrongVersionIsAnswered: mcp-go checks jsonrpc before
// result, so a message with an ID and a wrong version is answered with
// its ID even when it carries a result; without an ID it is not counted.
func TestStdioHeadWrongVersionIsAnswered(t *testing.T) {
	for line, want := range map[string]bool{
		wrongVersionResultLine:                   true,
		`{"id":7,"result":{}}`:                   true,
		`{"jsonrpc":"2.0","id":7,"result":{}}`:   false,
		`{"jsonrpc":"1.0","result":{}}`:          false,
		`{"jsonrpc":"1.0","id":null,"result":1}`: false,
	} {
		id, answered := readIn([]byte(line)).answered()
		assert.Equal(t, want, answered, line)
		if want {
			assert.JSONEq(t, "7", string(id), line)
		}
	}
}

// TestStdioHeadMatchesSeparateDecodes: one decode of a message's head
// answers every question of the gate as a decode per question did.
func TestStdioHeadMatchesSeparateDecodes(t *testing.T) {
	for _, s := range headSeeds {
		checkHeads(t, []byte(s))
	}
}

// FuzzStdioHead checks the heads against the model's separate decodes on
// arbitrary messages.
func FuzzStdioHead(f *testing.F) {
	for _, s := range headSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) { checkHeads(t, msg) })
}
