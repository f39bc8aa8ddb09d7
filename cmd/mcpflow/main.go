package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// env looks up an environment variable; tests pass their own.
type env func(string) string

// run runs one command and returns the exit status: 0 on success, 1 when
// the command failed, 2 for a command-line mistake.
func run(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		topUsage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	var err error
	var cmd *command
	switch name {
	case "serve":
		cmd, err = serveCmd(ctx, rest, getenv, stdin, stdout, stderr)
	case "search":
		cmd, err = searchCmd(ctx, rest, getenv, stdout, stderr)
	case "workflows":
		cmd, err = workflowsCmd(ctx, rest, getenv, stdout, stderr)
	case "sessions":
		cmd, err = sessionsCmd(ctx, rest, getenv, stdout, stderr)
	case "session":
		cmd, err = sessionCmd(ctx, rest, getenv, stdout, stderr)
	case "approve", "reject":
		cmd, err = decideCmd(ctx, name, rest, getenv, stdout, stderr)
	case "spec":
		cmd, err = specCmd(ctx, rest, getenv, stdout)
	case "version", "--version", "-version":
		name = "version"
		cmd, err = versionCmd(rest, getenv, stdout)
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 {
			return run(ctx, []string{rest[0], "--help"}, getenv, stdin, stdout, stderr)
		}
		topUsage(stdout)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "mcpflow: unknown command %q\n\n", name)
		topUsage(stderr)
		return 2
	}
	if cmd != nil {
		name = cmd.name
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		cmd.usage(stdout)
		return 0
	case errors.As(err, &ue):
		_, _ = fmt.Fprintf(stderr, "mcpflow %s: %v\nRun 'mcpflow %s --help' for usage.\n", name, err, name)
		return 2
	case errors.Is(err, errProblems):
		return 1
	default:
		_, _ = fmt.Fprintf(stderr, "mcpflow %s: %v\n", name, err)
		return 1
	}
}

func topUsage(w io.Writer) {
	_, _ = io.WriteString(w, `mcpflow: an MCP server for AI coding agents — phase-gated workflows and
search over the project's standards, over stdio and HTTP at once.

Usage:
  mcpflow serve [flags]                 serve MCP (stdio and HTTP by default)
  mcpflow search [flags] QUERY          search the standards from the shell
  mcpflow workflows [flags] [DIR]       list and validate workflow definitions
  mcpflow sessions [flags]              list sessions, pending approvals first
  mcpflow session [flags] ID            show one session: evidence, gates, history
  mcpflow approve [flags] SESSION PHASE approve a phase that awaits approval
  mcpflow reject [flags] SESSION PHASE  reject it, with --comment for the agent
  mcpflow spec check [flags] PATH       check a spec's tasks.md, print its plan
  mcpflow version                       print the version
  mcpflow help COMMAND                  help for one command

Project layout: --root (default: the current folder) holds
.mcpflow/{workflows,standards,state}; a prAxIs OS project without .mcpflow
is served from .praxis-os/{workflows,standards,state} as it is. Missing
workflows or standards mean the built-in samples. Every flag can also be
set with an MCPFLOW_* environment variable, e.g. --stdio-workers as
MCPFLOW_STDIO_WORKERS.
`)
}

// versionCmd prints the version line: the mcpflow version, the Go
// toolchain, the platform and the VCS revision of the build.
func versionCmd(args []string, getenv env, stdout io.Writer) (*command, error) {
	c := newCommand("version", "", "Print the version, the Go toolchain, the platform and the source revision.", "")
	pos, err := c.parse(args, getenv)
	if err != nil {
		return c, err
	}
	if len(pos) > 0 {
		return c, usagef("unexpected argument %q; version takes none", pos[0])
	}
	_, err = fmt.Fprintln(stdout, versionLine())
	return c, err
}

// versionString returns the version: the -X value, else the module
// version of the build, else "dev".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func versionLine() string {
	s := "mcpflow " + versionString() + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			s += " " + rev[:min(12, len(rev))] + dirty
		}
	}
	return strings.TrimSpace(s)
}
