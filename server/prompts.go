package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
)

// Prompts: one per workflow of the workflows folder, named after it, that
// gets an agent started on that workflow; and PromptResume, which picks up
// an existing session. The workflow prompts follow the folder: every
// prompts/list and prompts/get first reads the folder again, and when the
// set of workflows changed the prompt list is replaced, which sends
// notifications/prompts/list_changed.

// PromptResume is the prompt that continues an existing session.
const PromptResume = "resume_workflow"

// Prompt argument names.
const (
	argTargetFile = "target_file"
	argSessionID  = "session_id"
	argPhase      = "phase"
)

// promptSet is the workflow prompts currently registered. It is safe for
// concurrent use; its zero value holds none.
type promptSet struct {
	mu  sync.Mutex
	key string // fingerprint of the registered prompts; guarded by mu
}

// workflowPrompt is what a workflow's prompt is built from.
type workflowPrompt struct {
	name string
	args *engine.StartArgs // nil when metadata.json cannot be read
}

// prompt builds the prompt definition.
func (w workflowPrompt) prompt() mcp.Prompt {
	desc := "Start the " + w.name + " workflow on a target file and work through its phases."
	title := w.name
	if w.args != nil {
		if w.args.Description != "" {
			desc = w.args.Description + " Starts the workflow and says how to work through its phases."
		}
		if w.args.Title != "" {
			title = w.args.Title
		}
	}
	opts := []mcp.PromptOption{
		mcp.WithPromptDescription(desc),
		mcp.WithArgument(argTargetFile, mcp.RequiredArgument(),
			mcp.ArgumentDescription("The file or feature the workflow is about, e.g. internal/auth/login.go.")),
	}
	if w.args != nil && w.args.SpecOption != "" {
		argOpts := []mcp.ArgumentOption{mcp.ArgumentDescription(
			"The specification the workflow executes: its folder holding tasks.md, e.g. .praxis-os/specs/2026-01-02-login.")}
		if w.args.SpecRequired {
			argOpts = append(argOpts, mcp.RequiredArgument())
		}
		opts = append(opts, mcp.WithArgument(w.args.SpecOption, argOpts...))
	}
	p := mcp.NewPrompt(w.name, opts...)
	p.Title = title
	return p
}

// workflowPrompts reads the workflows folder.
func (s *Server) workflowPrompts(ctx context.Context) ([]workflowPrompt, error) {
	names, err := s.cfg.Engine.WorkflowNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]workflowPrompt, 0, len(names))
	for _, n := range names {
		// WorkflowNames lists only folder names that are workflow names;
		// the parse makes the typed name.
		var a *engine.StartArgs
		wf, err := engine.ParseWorkflowName(n)
		if err == nil {
			a, err = s.cfg.Engine.StartArgs(ctx, wf)
		}
		if errors.Is(err, state.ErrNotFound) {
			continue // a folder without metadata.json is no workflow
		}
		if err != nil {
			a = nil // offered all the same: start_workflow will say what is wrong
		}
		out = append(out, workflowPrompt{name: n, args: a})
	}
	return out, nil
}

// syncPrompts registers a prompt per workflow, replacing the list when the
// workflows changed since the last call.
func (s *Server) syncPrompts(ctx context.Context) {
	ws, err := s.workflowPrompts(ctx)
	if err != nil {
		s.log.Warn("prompts: cannot read the workflows folder", "err", err)
		return
	}
	prompts := make([]mcpserver.ServerPrompt, 0, len(ws)+1)
	var key strings.Builder
	for _, w := range ws {
		p := w.prompt()
		fmt.Fprintf(&key, "%s\x00%s\x00%s\x00%d\x01", p.Name, p.Title, p.Description, len(p.Arguments))
		prompts = append(prompts, mcpserver.ServerPrompt{Prompt: p, Handler: s.startPrompt})
	}
	prompts = append(prompts, mcpserver.ServerPrompt{Prompt: resumePrompt(), Handler: s.resumePrompt})
	s.prompts.mu.Lock()
	defer s.prompts.mu.Unlock()
	if key.String() == s.prompts.key {
		return
	}
	s.prompts.key = key.String()
	s.mcp.SetPrompts(prompts...)
}

// promptHooks re-reads the workflows folder before every prompt request.
func (s *Server) promptHooks(h *mcpserver.Hooks) {
	h.AddBeforeListPrompts(func(ctx context.Context, _ any, _ *mcp.ListPromptsRequest) { s.syncPrompts(ctx) })
	h.AddBeforeGetPrompt(func(ctx context.Context, _ any, _ *mcp.GetPromptRequest) { s.syncPrompts(ctx) })
}

func resumePrompt() mcp.Prompt {
	p := mcp.NewPrompt(PromptResume,
		mcp.WithPromptDescription("Continue a workflow session where it stands: its current phase, its tasks and what to call next."),
		mcp.WithArgument(argSessionID, mcp.RequiredArgument(), mcp.ArgumentDescription("The session to continue; list_sessions lists them.")),
		mcp.WithArgument(argPhase, mcp.ArgumentDescription("A phase of the session to look at; defaults to its current phase.")),
	)
	p.Title = "Resume workflow"
	return p
}

// promptArg returns a required or optional argument, or an error naming it.
func promptArg(req mcp.GetPromptRequest, name string, required bool, fix string) (string, error) {
	v := strings.TrimSpace(req.Params.Arguments[name])
	if v == "" && required {
		return "", fmt.Errorf("prompt %s: argument %s is required: %s", req.Params.Name, name, fix)
	}
	if len(v) > maxTargetRunes {
		return "", fmt.Errorf("prompt %s: argument %s is longer than %d bytes", req.Params.Name, name, maxTargetRunes)
	}
	return v, nil
}

// startPrompt is the prompt of one workflow: how to start it on the
// target and how to proceed through its phases.
func (s *Server) startPrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	name := req.Params.Name
	var m *engine.StartArgs
	wf, err := engine.ParseWorkflowName(name)
	if err == nil {
		m, err = s.cfg.Engine.StartArgs(ctx, wf)
	}
	if err != nil {
		return nil, fmt.Errorf("prompt %s: %s", name, state.Message(err))
	}
	target, err := promptArg(req, argTargetFile, true, "name the file or feature the workflow is about")
	if err != nil {
		return nil, err
	}
	args := fmt.Sprintf(`{"workflow_type": %q, "target_file": %q}`, name, target)
	if key := m.SpecOption; key != "" {
		spec, err := promptArg(req, key, m.SpecRequired, "give the folder of the specification to execute")
		if err != nil {
			return nil, err
		}
		if spec != "" {
			args = fmt.Sprintf(`{"workflow_type": %q, "target_file": %q, "options": {%q: %q}}`, name, target, key, spec)
		}
	}
	title := m.Title
	if title == "" {
		title = name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Run the %s workflow (%s) on %s with the mcpflow tools.\n", title, name, target)
	if m.Description != "" {
		b.WriteString("\n" + m.Description + "\n")
	}
	b.WriteString("\nHow to proceed:\n")
	fmt.Fprintf(&b, "1. Call start_workflow with %s. It returns a session_id and the first phase's instructions and tasks; if a session for this target is already active it is resumed.\n", args)
	b.WriteString("2. Before writing code, call search_standards for the conventions that apply.\n")
	b.WriteString("3. Work through the phase's tasks in order: get_task(session_id, phase, task_number) returns each in full.\n")
	fmt.Fprintf(&b, "4. When the phase's work is done, call complete_phase(session_id, phase, evidence) with the evidence its gate asks for (read %s to see the fields). If the gate refuses, fix what validation_result names and submit again.\n",
		"workflow://"+name+"/phases/<phase>/gate-definition.yaml")
	b.WriteString("5. complete_phase returns the next phase: repeat from step 3 until workflow_complete is true. get_current_phase shows where the session stands at any time.\n")
	if len(m.Phases) > 0 {
		b.WriteString("\nPhases:\n")
		for _, p := range m.Phases {
			fmt.Fprintf(&b, "- Phase %d: %s", p.Number, p.Name)
			if p.Purpose != "" {
				b.WriteString(" — " + p.Purpose)
			}
			fmt.Fprintf(&b, " (%d tasks)\n", p.Tasks)
		}
	}
	return mcp.NewGetPromptResult("Start "+name+" on "+target, []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(b.String())),
	}), nil
}

// resumePrompt is PromptResume: where a session stands and what to call
// next.
func (s *Server) resumePrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	raw, err := promptArg(req, argSessionID, true, "pass a session_id from list_sessions")
	if err != nil {
		return nil, err
	}
	sid, err := state.ParseSessionID(raw)
	if err != nil {
		return nil, fmt.Errorf("prompt %s: %s", PromptResume, state.Message(err))
	}
	v, err := s.cfg.Engine.CurrentPhase(ctx, sid)
	if err != nil {
		return nil, fmt.Errorf("prompt %s: %s", PromptResume, state.Message(err))
	}
	phaseArg, err := promptArg(req, argPhase, false, "")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Continue the %s workflow session %s on %s with the mcpflow tools.\n\n", v.WorkflowType, v.SessionID, v.TargetFile)
	if phaseArg != "" {
		p, err := strconv.Atoi(phaseArg)
		if err != nil || p < 0 || (p != v.Phase && !slices.Contains(v.CompletedPhases, p)) {
			return nil, fmt.Errorf("prompt %s: argument phase must be the session's current phase (%d) or a completed one %v, got %q",
				PromptResume, v.Phase, ints(v.CompletedPhases), phaseArg)
		}
		if p != v.Phase {
			fmt.Fprintf(&b, "Phase %d is complete. Re-read its tasks with get_task(%q, %d, task_number) if you need them; the work now is phase %d.\n\n", p, v.SessionID, p, v.Phase)
		}
	}
	if v.WorkflowComplete {
		b.WriteString("Every phase has passed its gate: the workflow is complete. Summarise the work for the user.\n")
	} else {
		fmt.Fprintf(&b, "Current phase %d of %d: %s\n\n%s\n", v.Phase, v.TotalPhases, v.PhaseName, strings.TrimSpace(v.Content))
		b.WriteString(strings.TrimPrefix(taskList(v.Tasks), "\n"))
		fmt.Fprintf(&b, "\nNext: work through the tasks (get_task(%q, %d, task_number)), then call complete_phase(%q, %d, evidence) with the evidence the phase's gate asks for.\n",
			v.SessionID, v.Phase, v.SessionID, v.Phase)
	}
	return mcp.NewGetPromptResult("Resume session "+v.SessionID, []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(b.String())),
	}), nil
}
