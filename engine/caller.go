package engine

import "context"

// Caller identifies who is calling the engine: the transport the request
// came in on ("stdio", "http") and the client's name as the transport knows
// it (an MCP client name, a remote address). The engine uses it in logs.
type Caller struct {
	Transport string
	Client    string
}

// String formats c as "transport/client", with "?" for empty parts.
func (c Caller) String() string {
	t, cl := c.Transport, c.Client
	if t == "" {
		t = "?"
	}
	if cl == "" {
		cl = "?"
	}
	return t + "/" + cl
}

type callerKey struct{}

// WithCaller returns a copy of ctx that carries c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the Caller that ctx carries, if any.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}
