package server

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Every tool handler has the same frame: decode the call's arguments into
// a typed value, call the engine (or the index), turn a failure of either
// into the tool error that names the field (toolError), and build the
// wire result from the typed answer. toolHandler is that frame, once; a
// tool supplies only its decoder and the function that makes the call and
// says what to answer.

// reply is a tool's answer: its structured content and the text fallback
// beside it.
type reply[O any] struct {
	out O
	// text is the text fallback; ignored when asJSON is set.
	text string
	// asJSON makes the text fallback out's JSON, indented.
	asJSON bool
	// result, when set, is the whole result, sent as is: complete_phase's
	// request for the human's approval, which has no structured content.
	result *mcp.CallToolResult
}

// textReply answers out with text as its fallback.
func textReply[O any](out O, text string) reply[O] { return reply[O]{out: out, text: text} }

// jsonReply answers out with its indented JSON as its fallback.
func jsonReply[O any](out O) reply[O] { return reply[O]{out: out, asJSON: true} }

// toolFunc is the part of a tool handler that is the tool's own: the call
// with the decoded arguments. It returns the answer, or the domain failure
// that toolError turns into the tool error; a Go error of the protocol's
// own (the call's context ended) passes through toolError unchanged.
type toolFunc[A, O any] func(ctx context.Context, req mcp.CallToolRequest, a A) (reply[O], error)

// toolHandler returns the mcp-go handler of tool: decode, then call, then
// the result. The handler keeps nothing between calls; it is safe for
// concurrent use when decode and call are.
func toolHandler[A, O any](s *Server, tool string, decode func(raw any) (A, error), call toolFunc[A, O]) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		a, err := decode(req.Params.Arguments)
		if err != nil {
			return s.toolError(ctx, tool, err)
		}
		r, err := call(ctx, req, a)
		if err != nil {
			return s.toolError(ctx, tool, err)
		}
		return r.toolResult()
	}
}

// toolResult is the wire result of r. Its error, a failure to encode
// out's JSON, is a protocol fault, not a tool error.
func (r reply[O]) toolResult() (*mcp.CallToolResult, error) {
	switch {
	case r.result != nil:
		return r.result, nil
	case r.asJSON:
		return structured(r.out)
	}
	return structuredText(r.out, r.text), nil
}

// noArgs is the decoded arguments of a tool that takes none.
type noArgs struct{}

// decodeNoArgs is decodeNone as a decoder for toolHandler.
func decodeNoArgs(raw any) (noArgs, error) { return noArgs{}, decodeNone(raw) }

// decodeSessionOf returns decodeSession for tool as a decoder for
// toolHandler.
func decodeSessionOf(tool string) func(raw any) (sessionArgs, error) {
	return func(raw any) (sessionArgs, error) { return decodeSession(tool, raw) }
}

// decodeRecoveryOf returns decodeRecovery for tool as a decoder for
// toolHandler.
func decodeRecoveryOf(tool string) func(raw any) (recoveryArgs, error) {
	return func(raw any) (recoveryArgs, error) { return decodeRecovery(tool, raw) }
}

// toolHandlers is every tool's handler, by tool name, built once on first
// use. It is safe for concurrent use; its zero value is ready.
type toolHandlers struct {
	once sync.Once
	m    map[string]mcpserver.ToolHandlerFunc // written once inside once, read-only after
}

// handlerOf returns the handler of tool, or nil for a name that is no
// tool of this server's. The tool's schema (tools, recoveryTools,
// praxisTools, reindexTool) and pos_workflow's action (handlerFor) use the
// same handler.
func (s *Server) handlerOf(tool string) mcpserver.ToolHandlerFunc {
	s.handlers.once.Do(func() {
		s.handlers.m = map[string]mcpserver.ToolHandlerFunc{
			ToolSearchStandards:  toolHandler(s, ToolSearchStandards, decodeSearchQuery, s.searchStandards),
			ToolListWorkflows:    toolHandler(s, ToolListWorkflows, decodeListWorkflows, s.listWorkflows),
			ToolStartWorkflow:    toolHandler(s, ToolStartWorkflow, decodeStart, s.startWorkflow),
			ToolGetCurrentPhase:  toolHandler(s, ToolGetCurrentPhase, decodeSessionOf(ToolGetCurrentPhase), s.getCurrentPhase),
			ToolGetTask:          toolHandler(s, ToolGetTask, decodeTask, s.getTask),
			ToolCompletePhase:    toolHandler(s, ToolCompletePhase, decodeComplete, s.completePhase),
			ToolGetWorkflowState: toolHandler(s, ToolGetWorkflowState, decodeSessionOf(ToolGetWorkflowState), s.getWorkflowState),
			ToolListSessions:     toolHandler(s, ToolListSessions, decodeListSessions, s.listSessions),
			ToolDeleteSession:    toolHandler(s, ToolDeleteSession, decodeSessionOf(ToolDeleteSession), s.deleteSession),
			ToolGetServerInfo:    toolHandler(s, ToolGetServerInfo, decodeNoArgs, s.getServerInfo),
			ToolPauseSession:     toolHandler(s, ToolPauseSession, decodeRecoveryOf(ToolPauseSession), s.pauseSession),
			ToolResumeSession:    toolHandler(s, ToolResumeSession, decodeRecoveryOf(ToolResumeSession), s.resumeSession),
			ToolRetryPhase:       toolHandler(s, ToolRetryPhase, decodeRecoveryOf(ToolRetryPhase), s.retryPhase),
			ToolRollbackSession:  toolHandler(s, ToolRollbackSession, decodeRecoveryOf(ToolRollbackSession), s.rollbackSession),
			ToolGetErrors:        toolHandler(s, ToolGetErrors, decodeRecoveryOf(ToolGetErrors), s.getErrors),
			ToolCurrentDate:      toolHandler(s, ToolCurrentDate, decodeNoArgs, s.currentDate),
			ToolReindexStandards: toolHandler(s, ToolReindexStandards, decodeNoArgs, s.reindexStandards),
		}
	})
	return s.handlers.m[tool]
}
