package transport

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
)

// Protocol 2026-07-28 on stdio. Every server-to-client notification is
// opt-in, through a subscriptions/listen request, and carries that
// request's id in _meta io.modelcontextprotocol/subscriptionId. mcp-go
// v1.2.1 filters and tags the broadcast list_changed notifications on
// streamable HTTP only: its stdio session sends every one, untagged. The
// gate does it on stdio: it follows the client's listen requests, and
// passes a list_changed notification only while a listen request that
// opted into its type runs, tagged with that request's id.

// stdioListen is one subscriptions/listen request of the stdio client in
// flight.
type stdioListen struct {
	id     json.RawMessage
	filter mcp.SubscriptionFilter
}

// listenState is what the gate knows of the client's protocol revision and
// listen requests; guarded by StdioGate.lmu.
type listenState struct {
	// modern is set once the client sent a request of protocol 2026-07-28.
	modern bool
	open   []stdioListen
}

// observe follows a message the client sent, by its head: its revision,
// and a subscriptions/listen request it opens.
func (g *StdioGate) observe(h *inHead) {
	if !h.modern() {
		return
	}
	g.lmu.Lock()
	defer g.lmu.Unlock()
	g.listen.modern = true
	if h.Method.s == string(mcp.MethodSubscriptionsListen) && hasID(h.ID.raw) {
		// The ID is copied: it would otherwise keep the whole line alive
		// while the request runs.
		g.listen.open = append(g.listen.open, stdioListen{id: bytes.Clone(h.ID.raw), filter: h.Params.v.Notifications})
	}
}

// outgoing decides what of a message mcp-go writes reaches the client: it
// returns the message, the message tagged with a listen request's id, or
// nil to drop it. h is p's head. The response to a listen request ends
// that request.
func (g *StdioGate) outgoing(p []byte, h *outHead) []byte {
	g.lmu.Lock()
	defer g.lmu.Unlock()
	if !g.listen.modern || !h.ok {
		return p
	}
	if h.Method.s == "" {
		if len(h.ID) > 0 {
			g.listen.open = slices.DeleteFunc(g.listen.open, func(l stdioListen) bool { return bytes.Equal(l.id, h.ID) })
		}
		return p
	}
	var wants func(mcp.SubscriptionFilter) bool
	switch h.Method.s {
	case mcp.MethodNotificationToolsListChanged:
		wants = func(f mcp.SubscriptionFilter) bool { return f.ToolsListChanged }
	case mcp.MethodNotificationPromptsListChanged:
		wants = func(f mcp.SubscriptionFilter) bool { return f.PromptsListChanged }
	case mcp.MethodNotificationResourcesListChanged:
		wants = func(f mcp.SubscriptionFilter) bool { return f.ResourcesListChanged }
	default:
		return p
	}
	for _, l := range g.listen.open {
		if wants(l.filter) {
			return tagged(p, l.id)
		}
	}
	return nil
}

// tagged returns notification p with _meta io.modelcontextprotocol/
// subscriptionId set to id, or p when it does not decode.
func tagged(p []byte, id json.RawMessage) []byte {
	var m map[string]any
	if json.Unmarshal(p, &m) != nil {
		return p
	}
	params, _ := m["params"].(map[string]any)
	if params == nil {
		params = map[string]any{}
	}
	meta, _ := params["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[mcp.MetaKeySubscriptionID] = id
	params["_meta"] = meta
	m["params"] = params
	b, err := json.Marshal(m)
	if err != nil {
		return p
	}
	return append(b, '\n')
}
