// Command mcpflow is an MCP server for AI coding agents: phase-gated
// workflows and search over a project's standards, served over stdio and
// streamable HTTP at once.
//
// Usage:
//
//	mcpflow serve [flags]             serve MCP (stdio and HTTP by default)
//	mcpflow search [flags] QUERY      search the standards from the shell
//	mcpflow workflows [flags] [DIR]   list and validate workflow definitions
//	mcpflow sessions [flags]          list sessions, pending approvals first
//	mcpflow session [flags] ID        one session: evidence, gates, decisions
//	mcpflow approve SESSION PHASE     approve a phase that awaits approval
//	mcpflow reject SESSION PHASE      reject it, with --comment for the agent
//	mcpflow spec check [flags] PATH   check a spec's tasks.md, print its plan
//	mcpflow version                   print the version
//
// Every flag can also be set with an environment variable: MCPFLOW_ and
// the flag name in upper case with '-' as '_', e.g. MCPFLOW_STDIO_WORKERS.
// A flag on the command line wins over the variable. Run
// "mcpflow help COMMAND" for the flags of one command.
//
// With no project content the built-in sample workflows and standards are
// served, so "go run ./cmd/mcpflow serve" works in a fresh clone.
//
// The command only parses flags, resolves folders, wires the engine, the
// index and the server together and handles signals; package server does
// the rest.
package main
