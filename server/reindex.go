package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/ragcache"
)

// ToolReindexStandards rebuilds the standards index now.
const ToolReindexStandards = "reindex_standards"

type reindexOut struct {
	Generation uint64  `json:"generation" jsonschema:"the index generation now current"`
	Files      int     `json:"files" jsonschema:"markdown files indexed"`
	Skipped    int     `json:"skipped" jsonschema:"markdown files skipped (too large, unreadable)"`
	Chunks     int     `json:"chunks" jsonschema:"sections indexed"`
	BuildMS    float64 `json:"build_ms" jsonschema:"time the build took, in milliseconds"`
}

// reindexTool is reindex_standards: the rebuild the watcher does after a
// change, on demand. With a progress token, the client gets a
// notifications/progress per file read and one for the index build.
func (s *Server) reindexTool() mcpserver.ServerTool {
	return mcpserver.ServerTool{Tool: mcp.NewTool(ToolReindexStandards,
		mcp.WithTitleAnnotation("Reindex standards"),
		mcp.WithDescription("Rebuild the standards index from the standards folder now, instead of waiting for the file watcher, and return the new index's size. Searches keep being answered from the current index while it builds. Pass a progress token to follow the build. A retry is safe: it builds the index again from the files as they are then (a call made while a build runs waits for that build, then builds again)."),
		mcp.WithOutputSchema[reindexOut](),
		annotations(annot{idempotent: true}),
	), Handler: s.handlerOf(ToolReindexStandards)}
}

func (s *Server) reindexStandards(ctx context.Context, req mcp.CallToolRequest, _ noArgs) (reply[reindexOut], error) {
	if send := s.progressSender(ctx, req); send != nil {
		ctx = ragcache.WithProgress(ctx, func(done, total int, msg string) { send(done, total, msg) })
	}
	// The index tells every client of the rebuild (onIndexChange); a
	// request of protocol 2026-07-28 that asked for logs gets the event of
	// its own rebuild on its own stream. Rebuilds are serialised and the
	// index emits a change before Reindex returns, so the last change seen
	// here is this call's own, unless a watcher rebuild queued behind it
	// finished in the moment before stop, which is as true a report.
	var mu sync.Mutex
	var mine *ragcache.Change
	stop := s.cfg.Index.OnChange(func(c ragcache.Change) {
		mu.Lock()
		mine = &c
		mu.Unlock()
	})
	err := s.cfg.Index.Reindex(ctx)
	stop()
	mu.Lock()
	if mine != nil {
		level, data := indexEvent(*mine)
		s.requestLog(ctx, mcp.NewLoggingMessageNotification(level, "search", data))
	}
	mu.Unlock()
	if err != nil {
		return reply[reindexOut]{}, err
	}
	st := s.cfg.Index.Stats()
	out := reindexOut{Generation: st.Generation, Files: st.Files, Skipped: st.Skipped, Chunks: st.Chunks,
		BuildMS: float64(st.BuildTime.Microseconds()) / 1000}
	return textReply(out, fmt.Sprintf("Reindexed the standards: generation %d, %d files, %d sections, in %.1f ms.",
		out.Generation, out.Files, out.Chunks, out.BuildMS)), nil
}

// progressSender returns a function that sends notifications/progress
// for the call's progress token, or nil when the call passed none.
func (s *Server) progressSender(ctx context.Context, req mcp.CallToolRequest) func(done, total int, msg string) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	return func(done, total int, msg string) {
		err := s.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
			"progressToken": token, "progress": done, "total": total, "message": msg,
		})
		if err != nil {
			s.log.Debug("progress notification not delivered", "err", err)
		}
	}
}

// rebuildProgress tells a search_standards caller that passed a progress
// token that the index is being rebuilt and which generation answers; the
// function it returns reports the answer given.
func (s *Server) rebuildProgress(send func(done, total int, msg string)) func() {
	gen := s.cfg.Index.Stats().Generation
	send(0, 1, fmt.Sprintf("the standards index is being rebuilt; answering from generation %d meanwhile", gen))
	return func() { send(1, 1, fmt.Sprintf("answered from generation %d", gen)) }
}
