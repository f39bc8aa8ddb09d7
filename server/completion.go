package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

// maxCompletions is the most values one completion/complete answer holds,
// as the MCP specification allows.
const maxCompletions = 100

// maxCompletionScan is the most sessions one completion of session_id or
// target_file looks at: the newest ones, from the store's summary index.
// It bounds a keystroke's work whatever the number of sessions.
const maxCompletionScan = 2000

// completer answers completion/complete for prompt arguments and for the
// variables of the workflow resource template, from live data:
//
//   - workflow_type: the workflows folder;
//   - session_id: the newest sessions in the store (maxCompletionScan);
//   - phase: for PromptResume, the session's current and completed phases
//     (context argument session_id); for the template, the workflow's
//     phase folders (context argument workflow_type);
//   - file: the phase folder's files (workflow_type and phase);
//   - target_file: the targets of the workflow's earlier sessions, among
//     the newest maxCompletionScan.
//
// It is safe for concurrent use.
type completer struct{ s *Server }

// CompletePromptArgument implements mcp-go's PromptCompletionProvider.
func (c completer) CompletePromptArgument(ctx context.Context, prompt string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	switch arg.Name {
	case argSessionID:
		return c.sessions(ctx, "", arg.Value)
	case argPhase:
		return c.sessionPhases(ctx, cc.Arguments[argSessionID], arg.Value)
	case argTargetFile:
		return c.targets(ctx, prompt, arg.Value)
	case "workflow_type":
		return c.workflows(ctx, arg.Value)
	}
	return none(), nil
}

// CompleteResourceArgument implements mcp-go's ResourceCompletionProvider.
func (c completer) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	if uri != WorkflowFileTemplate {
		return none(), nil
	}
	wt := cc.Arguments["workflow_type"]
	switch arg.Name {
	case "workflow_type":
		return c.workflows(ctx, arg.Value)
	case argPhase:
		wf, err := checkpoint.ParseWorkflowName(wt)
		if err != nil {
			return none(), nil
		}
		ps, err := c.s.cfg.Engine.WorkflowPhases(ctx, wf)
		if err != nil {
			return none(), nil
		}
		return match(itoas(ps), arg.Value), nil
	case "file":
		p, err := strconv.Atoi(cc.Arguments[argPhase])
		if err != nil {
			return none(), nil
		}
		wf, err := checkpoint.ParseWorkflowName(wt)
		if err != nil {
			return none(), nil
		}
		files, err := c.s.cfg.Engine.PhaseFiles(ctx, wf, p)
		if err != nil {
			return none(), nil
		}
		return match(files, arg.Value), nil
	}
	return none(), nil
}

func (c completer) workflows(ctx context.Context, prefix string) (*mcp.Completion, error) {
	names, err := c.s.cfg.Engine.WorkflowNames(ctx)
	if err != nil {
		return nil, err
	}
	return match(names, prefix), nil
}

// sessions completes session IDs, newest first; workflow, when set, keeps
// that workflow's sessions only.
func (c completer) sessions(ctx context.Context, workflow, prefix string) (*mcp.Completion, error) {
	var m matcher
	m.prefix = prefix
	err := c.s.cfg.Engine.RecentSessions(ctx, maxCompletionScan, func(x *state.SessionSummary) bool {
		if workflow == "" || x.WorkflowType == workflow {
			m.add(x.SessionID)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return m.completion(), nil
}

// sessionPhases completes the phases of a session: the current one first,
// then the completed ones.
func (c completer) sessionPhases(ctx context.Context, id, prefix string) (*mcp.Completion, error) {
	sid, err := state.ParseSessionID(id)
	if err != nil {
		return none(), nil
	}
	st, err := c.s.cfg.Engine.State(ctx, sid)
	if err != nil {
		return none(), nil
	}
	ps := []int{st.CurrentPhase}
	for _, p := range st.CompletedPhases {
		if p != st.CurrentPhase {
			ps = append(ps, p)
		}
	}
	return match(itoas(ps), prefix), nil
}

// targets completes target_file from the targets of the workflow's
// sessions, newest first, each once.
func (c completer) targets(ctx context.Context, workflow, prefix string) (*mcp.Completion, error) {
	var m matcher
	m.prefix = prefix
	seen := make(map[string]struct{})
	err := c.s.cfg.Engine.RecentSessions(ctx, maxCompletionScan, func(x *state.SessionSummary) bool {
		if x.WorkflowType != workflow {
			return true
		}
		if _, dup := seen[x.TargetFile]; !dup {
			seen[x.TargetFile] = struct{}{}
			m.add(x.TargetFile)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return m.completion(), nil
}

// matcher collects the values that start with prefix, in order, keeping
// at most maxCompletions of them and counting all.
type matcher struct {
	prefix string
	out    []string
	total  int
}

func (m *matcher) add(v string) {
	if !strings.HasPrefix(v, m.prefix) {
		return
	}
	m.total++
	if len(m.out) < maxCompletions {
		m.out = append(m.out, v)
	}
}

func (m *matcher) completion() *mcp.Completion {
	if m.out == nil {
		m.out = []string{}
	}
	return &mcp.Completion{Values: m.out, Total: m.total, HasMore: m.total > len(m.out)}
}

// match keeps the values that start with prefix, in order, at most
// maxCompletions of them.
func match(values []string, prefix string) *mcp.Completion {
	m := matcher{prefix: prefix}
	for _, v := range values {
		m.add(v)
	}
	return m.completion()
}

func none() *mcp.Completion { return &mcp.Completion{Values: []string{}} }

func itoas(v []int) []string {
	out := make([]string, len(v))
	for i, n := range v {
		out[i] = strconv.Itoa(n)
	}
	return out
}
