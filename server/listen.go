package server

import (
	"context"
	"slices"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Protocol 2026-07-28 replaces resources/subscribe with the
// resourceSubscriptions of a subscriptions/listen request, whose stream
// carries the notifications for as long as the request runs. mcp-go
// v1.2.1 acknowledges them, but the per-request sessions it serves a
// listen stream with record none, so that no notifications/resources/
// updated would ever reach the stream. The server records them itself,
// from the listen request's hook until the request ends, and writes the
// updates to the stream's session.

// listener is one subscriptions/listen request in flight.
type listener struct {
	cs mcpserver.ClientSession
	// id is the listen request's JSON-RPC ID, which tags every
	// notification on its stream.
	id any
}

// listeners records which listen streams subscribed to which resource
// URIs. It is safe for concurrent use; its zero value is empty and ready.
// byURI is guarded by mu.
type listeners struct {
	mu    sync.Mutex
	byURI map[string]map[*listener]struct{}
}

func (ls *listeners) add(l *listener, uris []string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.byURI == nil {
		ls.byURI = map[string]map[*listener]struct{}{}
	}
	for _, uri := range uris {
		set := ls.byURI[uri]
		if set == nil {
			set = map[*listener]struct{}{}
			ls.byURI[uri] = set
		}
		set[l] = struct{}{}
	}
}

func (ls *listeners) remove(l *listener, uris []string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, uri := range uris {
		if set := ls.byURI[uri]; set != nil {
			delete(set, l)
			if len(set) == 0 {
				delete(ls.byURI, uri)
			}
		}
	}
}

// of returns the listeners subscribed to uri.
func (ls *listeners) of(uri string) []*listener {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]*listener, 0, len(ls.byURI[uri]))
	for l := range ls.byURI[uri] {
		out = append(out, l)
	}
	return out
}

// listenHooks records the resource subscriptions of each
// subscriptions/listen request while it runs. mcp-go cancels the
// request's context when its handler returns: on notifications/cancelled,
// on the client's disconnect, or at shutdown.
func (s *Server) listenHooks(h *mcpserver.Hooks) {
	h.AddBeforeSubscriptionsListen(func(ctx context.Context, id any, req *mcp.SubscriptionsListenRequest) {
		cs := mcpserver.ClientSessionFromContext(ctx)
		if cs == nil || id == nil || req == nil {
			return
		}
		uris := slices.Compact(slices.Sorted(slices.Values(req.Params.Notifications.ResourceSubscriptions)))
		if len(uris) == 0 {
			return
		}
		l := &listener{cs: cs, id: id}
		s.listeners.add(l, uris)
		context.AfterFunc(ctx, func() { s.listeners.remove(l, uris) })
	})
}

// discoverHooks makes server/discover (protocol 2026-07-28 only) advertise
// what that revision has: resources/subscribe is gone from it, and
// resource subscriptions are the resourceSubscriptions of
// subscriptions/listen, so resources.subscribe is not advertised there.
// mcp-go still honours resourceSubscriptions, which it grants from the
// same capability, and initialize (the earlier revisions) still
// advertises it. mcp-go builds the capabilities afresh for each answer.
func discoverHooks(h *mcpserver.Hooks) {
	h.AddAfterDiscover(func(_ context.Context, _ any, _ *mcp.DiscoverRequest, res *mcp.DiscoverResult) {
		if res != nil && res.Capabilities.Resources != nil {
			res.Capabilities.Resources.Subscribe = false
		}
	})
}

// notifyListeners sends notifications/resources/updated for uri to every
// listen stream subscribed to it. It never blocks: a stream whose queue is
// full misses the update.
func (s *Server) notifyListeners(uri string) {
	for _, l := range s.listeners.of(uri) {
		n := mcp.JSONRPCNotification{
			JSONRPC: mcp.JSONRPC_VERSION,
			Notification: mcp.Notification{
				Method: mcp.MethodNotificationResourceUpdated,
				Params: mcp.NotificationParams{
					Meta:             map[string]any{mcp.MetaKeySubscriptionID: l.id},
					AdditionalFields: map[string]any{"uri": uri},
				},
			},
		}
		select {
		case l.cs.NotificationChannel() <- n:
		default:
			s.log.Debug("resource update not delivered: the listen stream's queue is full", "uri", uri)
		}
	}
}
