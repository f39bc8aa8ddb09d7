package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/engine"
)

// Outcomes of a tool call, the "outcome" label of mcpflow_tool_calls_total.
const (
	outcomeOK       = "ok"
	outcomeToolErr  = "tool_error"
	outcomeProtoErr = "protocol_error"
)

// callInfo is what the transport knows about a call's origin; the context
// funcs of the two transports store it in the request context.
type callInfo struct {
	tr     Transport
	remote string
}

type callInfoKey struct{}

// StdioContext marks ctx as the context of a call over stdio; it is the
// stdio server's context func.
func StdioContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, callInfoKey{}, callInfo{tr: Stdio})
}

// HTTPContext marks ctx as the context of a call over HTTP from r's remote
// address; it is the streamable HTTP server's context func.
func HTTPContext(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, callInfoKey{}, callInfo{tr: HTTP, remote: r.RemoteAddr})
}

// TransportOf returns the transport of the call in ctx: Stdio when ctx
// carries neither mark.
func TransportOf(ctx context.Context) Transport {
	info, _ := ctx.Value(callInfoKey{}).(callInfo)
	return info.tr
}

// Caller describes who made the call in ctx: the transport, the client's
// name and its MCP session (or, without one, its remote address).
func Caller(ctx context.Context) (tr Transport, client, session string) {
	info, _ := ctx.Value(callInfoKey{}).(callInfo)
	tr = info.tr
	if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil {
		session = cs.SessionID()
		if ci, ok := cs.(mcpserver.SessionWithClientInfo); ok {
			client = ci.GetClientInfo().Name
		}
	}
	if client == "" {
		if pi := mcpserver.RequestProtocolInfoFromContext(ctx); pi != nil && pi.ClientInfo != nil {
			client = pi.ClientInfo.Name
		}
	}
	if session == "" {
		session = info.remote
	}
	return tr, client, session
}

// Instrument returns the outermost tool middleware: it tells the engine
// who is calling, counts the call and its outcome in t, times it, and logs
// it to log at debug level.
func (t *Telemetry) Instrument(log *slog.Logger) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			start := time.Now()
			tr, client, session := Caller(ctx)
			who := client
			if session != "" {
				who = strings.TrimPrefix(client+"@"+session, "@")
			}
			ctx = engine.WithCaller(ctx, engine.Caller{Transport: tr.String(), Client: who})
			res, err := next(ctx, req)
			d := time.Since(start)
			outcome := outcomeOK
			st := t.stats(req.Params.Name, tr)
			switch {
			case err != nil:
				outcome = outcomeProtoErr
			case res != nil && res.IsError:
				outcome = outcomeToolErr
			}
			if st != nil {
				switch outcome {
				case outcomeOK:
					st.ok.Inc()
				case outcomeToolErr:
					st.toolErr.Inc()
				default:
					st.protoErr.Inc()
				}
				st.latency.Observe(d.Seconds())
			}
			if log.Enabled(ctx, slog.LevelDebug) {
				attrs := []slog.Attr{
					slog.String("tool", req.Params.Name),
					slog.String("transport", tr.String()),
					slog.String("client", client),
					slog.String("session", session),
					slog.Duration("duration", d),
					slog.String("outcome", outcome),
				}
				if err != nil {
					attrs = append(attrs, slog.String("err", err.Error()))
				}
				log.LogAttrs(ctx, slog.LevelDebug, "tool call", attrs...)
			}
			return res, err
		}
	}
}

// MinLevel passes on only records at or above Min to Handler. It is as
// safe for concurrent use as Handler.
type MinLevel struct {
	slog.Handler
	// Min is the lowest level passed on.
	Min slog.Level
}

// Enabled reports whether l is at least Min and the wrapped handler
// handles it.
func (h MinLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.Min && h.Handler.Enabled(ctx, l)
}

// WithAttrs wraps the wrapped handler's WithAttrs.
func (h MinLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return MinLevel{h.Handler.WithAttrs(as), h.Min}
}

// WithGroup wraps the wrapped handler's WithGroup.
func (h MinLevel) WithGroup(name string) slog.Handler {
	return MinLevel{h.Handler.WithGroup(name), h.Min}
}
