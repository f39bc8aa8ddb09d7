package server

import (
	"context"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// The MCP primitives besides tools: resources (resources.go), prompts
// (prompts.go), completions (completion.go) and client logging
// (logging.go). mcp-go serves the protocol; this server keeps the lists
// in step with the standards index and the workflows folder, and records
// what mcp-go v1.2.1 leaves to the application (resource subscriptions,
// the registered sessions).

// primitiveOptions returns the mcp-go options that declare the
// primitives, and adds their hooks to h.
func (s *Server) primitiveOptions(h *mcpserver.Hooks) []mcpserver.ServerOption {
	s.subscribeHooks(h)
	s.listenHooks(h)
	discoverHooks(h)
	s.sessionHooks(h)
	s.promptHooks(h)
	c := completer{s}
	return []mcpserver.ServerOption{
		mcpserver.WithResourceCapabilities(true, true),
		mcpserver.WithPromptCapabilities(true),
		mcpserver.WithCompletions(),
		mcpserver.WithLogging(),
		mcpserver.WithPaginationLimit(DefaultPageSize),
		mcpserver.WithPromptCompletionProvider(c),
		mcpserver.WithResourceCompletionProvider(c),
		mcpserver.WithHooks(h),
	}
}

// registerPrimitives registers the resource templates (the standards files
// are listed by listStandards), fills the prompt list and follows the
// standards index from now on; stopPrimitives undoes the last part.
func (s *Server) registerPrimitives() {
	s.mcp.AddResourceTemplates(s.workflowTemplate(), s.standardsTemplate())
	s.syncPrompts(context.Background())
	s.dropIndexHook = s.cfg.Index.OnChange(s.onIndexChange)
}

func (s *Server) stopPrimitives() {
	if s.dropIndexHook != nil {
		s.dropIndexHook()
	}
}
