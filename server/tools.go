package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/ragcache"
)

// Tool names.
const (
	ToolSearchStandards  = "search_standards"
	ToolListWorkflows    = "list_workflows"
	ToolStartWorkflow    = "start_workflow"
	ToolGetCurrentPhase  = "get_current_phase"
	ToolGetTask          = "get_task"
	ToolCompletePhase    = "complete_phase"
	ToolGetWorkflowState = "get_workflow_state"
	ToolListSessions     = "list_sessions"
	ToolDeleteSession    = "delete_session"
	ToolGetServerInfo    = "get_server_info"
)

// Argument limits checked before the engine or the index is called.
const (
	maxNameRunes   = 128
	maxTargetRunes = 4096
	maxPhase       = ragcache.MaxPhase
	maxTaskNumber  = 9999
)

const sessionIDDesc = "The session's ID (a UUID), as start_workflow returned it."

type annot struct{ readOnly, destructive, idempotent bool }

func annotations(a annot) mcp.ToolOption {
	return mcp.WithToolAnnotation(mcp.ToolAnnotation{
		ReadOnlyHint:    new(a.readOnly),
		DestructiveHint: new(a.destructive),
		IdempotentHint:  new(a.idempotent),
		OpenWorldHint:   new(false),
	})
}

var readOnly = annot{readOnly: true, idempotent: true}

// tools returns the ten workflow and search tools with their schemas and handlers; reindexTool is the eleventh.
func (s *Server) tools() []mcpserver.ServerTool {
	return []mcpserver.ServerTool{
		{Tool: mcp.NewTool(ToolSearchStandards,
			mcp.WithTitleAnnotation("Search standards"),
			mcp.WithDescription("Search the project's standards documents (markdown, chunked by heading) and return the best-matching sections, best first. Use it to look up conventions before writing code."),
			mcp.WithString("query", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(ragcache.MaxQueryRunes),
				mcp.Description("What to look for, in plain words, e.g. \"error handling in goroutines\".")),
			mcp.WithInteger("n_results", mcp.Min(1), mcp.Max(ragcache.MaxLimit), mcp.DefaultNumber(ragcache.DefaultLimit),
				mcp.Description(fmt.Sprintf("How many sections to return, 1 to %d (default %d).", ragcache.MaxLimit, ragcache.DefaultLimit))),
			mcp.WithInteger("phase", mcp.Min(0), mcp.Max(maxPhase),
				mcp.Description("Only sections that belong to this workflow phase.")),
			mcp.WithArray("tags", mcp.WithStringItems(mcp.MaxLength(ragcache.MaxTagRunes)), mcp.MaxItems(ragcache.MaxTags),
				mcp.Description("Only sections that carry every one of these tags, e.g. [\"testing\"].")),
			mcp.WithOutputSchema[searchOut](),
			annotations(readOnly),
		), Handler: s.searchStandards},
		{Tool: mcp.NewTool(ToolListWorkflows,
			mcp.WithTitleAnnotation("List workflows"),
			mcp.WithDescription("List the workflows that start_workflow can start, with their phases and any problem in their definition."),
			mcp.WithOutputSchema[listWorkflowsOut](),
			annotations(readOnly),
		), Handler: s.listWorkflows},
		{Tool: mcp.NewTool(ToolStartWorkflow,
			mcp.WithTitleAnnotation("Start workflow"),
			mcp.WithDescription("Start a phase-gated workflow on a target file, or resume the active session for the same workflow and target. Returns the session ID and the first phase with its tasks."),
			mcp.WithString("workflow_type", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(maxNameRunes),
				mcp.Description("The workflow to run, as list_workflows names it, e.g. \"feature_delivery\".")),
			mcp.WithString("target_file", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(maxTargetRunes),
				mcp.Description("The file or feature the workflow is about, e.g. \"internal/auth/login.go\".")),
			mcp.WithObject("options", mcp.Description("Optional settings stored with the session.")),
			mcp.WithOutputSchema[startOut](),
			annotations(annot{idempotent: true}),
		), Handler: s.startWorkflow},
		{Tool: mcp.NewTool(ToolGetCurrentPhase,
			mcp.WithTitleAnnotation("Get current phase"),
			mcp.WithDescription("Return the session's current phase: its instructions and its tasks."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithOutputSchema[phaseOut](),
			annotations(readOnly),
		), Handler: s.getCurrentPhase},
		{Tool: mcp.NewTool(ToolGetTask,
			mcp.WithTitleAnnotation("Get task"),
			mcp.WithDescription("Return the full instructions of one task of a phase."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Required(), mcp.Min(0), mcp.Max(maxPhase), mcp.Description("The phase number.")),
			mcp.WithInteger("task_number", mcp.Required(), mcp.Min(0), mcp.Max(maxTaskNumber), mcp.Description("The task number within the phase, as the phase's tasks list it.")),
			mcp.WithOutputSchema[taskOut](),
			annotations(readOnly),
		), Handler: s.getTask},
		{Tool: mcp.NewTool(ToolCompletePhase,
			mcp.WithTitleAnnotation("Complete phase"),
			mcp.WithDescription("Submit evidence for the current phase. The phase's gate checks it: when it passes the session advances and the next phase is returned; when it fails, validation_result says what is missing."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Required(), mcp.Min(0), mcp.Max(maxPhase), mcp.Description("The phase being completed: the session's current phase.")),
			mcp.WithObject("evidence", mcp.Required(), mcp.Description("The evidence the phase's gate asks for, as an object of named fields, e.g. {\"tests_passed\": 12, \"summary\": \"...\"}.")),
			mcp.WithOutputSchema[completeOut](),
			annotations(annot{}),
		), Handler: s.completePhase},
		{Tool: mcp.NewTool(ToolGetWorkflowState,
			mcp.WithTitleAnnotation("Get workflow state"),
			mcp.WithDescription("Return a session's full state: current phase, completed phases, checkpoint status per phase, timestamps."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithOutputSchema[stateOut](),
			annotations(readOnly),
		), Handler: s.getWorkflowState},
		{Tool: mcp.NewTool(ToolListSessions,
			mcp.WithTitleAnnotation("List sessions"),
			mcp.WithDescription("List the workflow sessions, newest first."),
			mcp.WithString("status", mcp.Enum("active", "completed", "all"), mcp.DefaultString("all"),
				mcp.Description("Only sessions with this status: active, completed or all (default).")),
			mcp.WithOutputSchema[listSessionsOut](),
			annotations(readOnly),
		), Handler: s.listSessions},
		{Tool: mcp.NewTool(ToolDeleteSession,
			mcp.WithTitleAnnotation("Delete session"),
			mcp.WithDescription("Delete a session and its saved state. This cannot be undone."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithOutputSchema[deleteOut](),
			annotations(annot{destructive: true, idempotent: true}),
		), Handler: s.deleteSession},
		{Tool: mcp.NewTool(ToolGetServerInfo,
			mcp.WithTitleAnnotation("Get server info"),
			mcp.WithDescription("Return the server's version, uptime, transports, the counters of every cache, the standards index statistics and the tool call counts."),
			mcp.WithOutputSchema[serverInfoOut](),
			annotations(readOnly),
		), Handler: s.getServerInfo},
	}
}

// ---- results ----

// structured returns v as structured content with its JSON, indented, as
// the text fallback.
func structured(v any) (*mcp.CallToolResult, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("server: encode result: %w", err)
	}
	return mcp.NewToolResultStructured(v, string(b)), nil
}

// structuredText returns v as structured content with text as fallback.
func structuredText(v any, text string) *mcp.CallToolResult {
	return mcp.NewToolResultStructured(v, text)
}

// toolError turns a domain failure into an isError result that names the
// field and the fix. It carries no structured content, which clients would
// validate against the output schema. Context errors stay Go errors when
// the call's own context ended: the call was cancelled, there is nobody to
// tell. A deadline of the store's own (Redis paused) is a tool error like
// any other store failure.
func (s *Server) toolError(ctx context.Context, tool string, err error) (*mcp.CallToolResult, error) {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil, err
	}
	if ae, ok := errors.AsType[*argError](err); ok {
		return mcp.NewToolResultError(ae.msg), nil
	}
	msg := err.Error()
	qe, isQuery := errors.AsType[*ragcache.QueryError](err)
	switch {
	case isQuery:
		field := qe.Field
		if field == "limit" {
			field = "n_results"
		}
		msg = field + ": " + qe.Problem
	case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrWrongPhase),
		errors.Is(err, state.ErrAlreadyCompleted), errors.Is(err, state.ErrConflict),
		errors.Is(err, state.ErrInvalidArgument), errors.Is(err, state.ErrCorrupt):
		msg = withRemedy(trimPkg(msg), err)
	case errors.Is(err, state.ErrClosed), errors.Is(err, ragcache.ErrClosed):
		msg = "the server is shutting down; retry once it is back"
	default:
		s.log.ErrorContext(ctx, "tool failed", "tool", tool, "err", err)
		if sessionTool(tool) {
			s.logStoreUnavailable(tool, err)
		}
		msg = "internal error: " + msg + "; the server log has the details"
	}
	return mcp.NewToolResultError(msg), nil
}

// trimPkg drops the sentinel's "engine: " prefix for a tool user.
func trimPkg(msg string) string { return strings.TrimPrefix(msg, "engine: ") }

// ---- search_standards ----

type searchHit struct {
	Content string   `json:"content" jsonschema:"the section's markdown"`
	File    string   `json:"file" jsonschema:"path of the standards file, relative to the standards folder"`
	Section string   `json:"section" jsonschema:"the section's heading"`
	Parents []string `json:"parents" jsonschema:"the enclosing headings, outermost first"`
	Score   float64  `json:"score" jsonschema:"BM25 relevance"`
	Tokens  int      `json:"tokens" jsonschema:"estimated tokens of content"`
}

type searchOut struct {
	Results         []searchHit `json:"results" jsonschema:"the best matches, best first"`
	TotalTokens     int         `json:"total_tokens" jsonschema:"sum of the results' tokens"`
	RetrievalMethod string      `json:"retrieval_method" jsonschema:"how the results were ranked"`
	QueryTimeMS     float64     `json:"query_time_ms" jsonschema:"time spent answering, in milliseconds"`
	CacheHit        bool        `json:"cache_hit" jsonschema:"whether the answer came from the query cache"`
}

func (s *Server) searchStandards(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "query", "n_results", "phase", "tags")
	q := ragcache.Query{
		Text: a.str("query", true, ragcache.MaxQueryRunes, "give the words to search for, e.g. \"error handling\""),
	}
	q.Limit, _ = a.integer("n_results", false, 1, ragcache.MaxLimit, fmt.Sprintf("omit it for %d results", ragcache.DefaultLimit))
	if p, ok := a.integer("phase", false, 0, maxPhase, "omit it to search every phase"); ok {
		q.Phase = &p
	}
	q.Tags = a.strList("tags", ragcache.MaxTags, ragcache.MaxTagRunes, "pass tags such as [\"testing\"]")
	if a.err != nil {
		return s.toolError(ctx, ToolSearchStandards, a.err)
	}
	if send := s.progressSender(ctx, req); send != nil && s.cfg.Index.Rebuilding() {
		defer s.rebuildProgress(send)()
	}
	r, err := s.cfg.Index.Search(ctx, q)
	if err != nil {
		return s.toolError(ctx, ToolSearchStandards, err)
	}
	return searchResult(r)
}

// noParents is the empty parents list, shared so that a chunk without
// parents costs no allocation.
var noParents = []string{}

// searchText fills hits from chunks and renders them as markdown for the
// text fallback, one section per result.
func searchText(chunks []ragcache.Chunk, hits []searchHit) string {
	if len(chunks) == 0 {
		return "No standards match this query. Try other words, or drop the phase and tags filters.\n"
	}
	size := 0
	for i := range chunks {
		size += len(chunks[i].Content) + len(chunks[i].File) + len(chunks[i].Section) + 32
	}
	var b strings.Builder
	b.Grow(size)
	for i := range chunks {
		c := &chunks[i]
		parents := c.Parents
		if parents == nil {
			parents = noParents
		}
		hits[i] = searchHit{Content: c.Content, File: c.File, Section: c.Section, Parents: parents, Score: c.Score, Tokens: c.Tokens}
		b.WriteString("## ")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(c.File)
		b.WriteString(" — ")
		b.WriteString(c.Section)
		b.WriteString(" (score ")
		b.WriteString(strconv.FormatFloat(c.Score, 'f', 2, 64))
		b.WriteString(")\n\n")
		b.WriteString(strings.TrimSpace(c.Content))
		b.WriteString("\n\n")
	}
	return b.String()
}

// ---- list_workflows ----

type workflowOut struct {
	WorkflowType      string   `json:"workflow_type" jsonschema:"the name to pass to start_workflow"`
	Version           string   `json:"version"`
	Title             string   `json:"title"`
	Description       string   `json:"description"`
	EstimatedDuration string   `json:"estimated_duration"`
	TotalPhases       any      `json:"total_phases" jsonschema:"number of phases, or \"dynamic\""`
	Phases            int      `json:"phases" jsonschema:"number of phases listed in the metadata"`
	Problems          []string `json:"problems" jsonschema:"what is wrong with the definition; empty when valid"`
}

type listWorkflowsOut struct {
	Workflows []workflowOut `json:"workflows"`
	Count     int           `json:"count"`
}

func (s *Server) listWorkflows(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if a := newArgs(req.Params.Arguments); a.err != nil {
		return s.toolError(ctx, ToolListWorkflows, a.err)
	}
	ws, err := s.cfg.Engine.ListWorkflows(ctx)
	if err != nil {
		return s.toolError(ctx, ToolListWorkflows, err)
	}
	out := listWorkflowsOut{Workflows: make([]workflowOut, len(ws)), Count: len(ws)}
	for i := range ws {
		w := &ws[i]
		wt := w.WorkflowType
		if wt == "" {
			wt = w.Name
		}
		problems := w.Problems
		if problems == nil {
			problems = []string{}
		}
		out.Workflows[i] = workflowOut{
			WorkflowType: wt, Version: w.Version, Title: w.Title, Description: w.Description,
			EstimatedDuration: w.EstimatedDuration, TotalPhases: w.TotalPhases, Phases: w.Phases, Problems: problems,
		}
	}
	return structured(out)
}

// ---- start_workflow ----

type taskOutline struct {
	TaskNumber int    `json:"task_number"`
	Name       string `json:"name"`
	File       string `json:"file"`
	Purpose    string `json:"purpose"`
}

func outlines(ts []engine.TaskInfo) []taskOutline {
	out := make([]taskOutline, len(ts))
	for i, t := range ts {
		out[i] = taskOutline{TaskNumber: t.TaskNumber, Name: t.Name, File: t.File, Purpose: t.Purpose}
	}
	return out
}

type startOut struct {
	SessionID    string        `json:"session_id" jsonschema:"pass it to every other workflow tool"`
	WorkflowType string        `json:"workflow_type"`
	TargetFile   string        `json:"target_file"`
	CurrentPhase int           `json:"current_phase"`
	PhaseName    string        `json:"phase_name"`
	PhaseContent string        `json:"phase_content" jsonschema:"the phase's instructions, markdown"`
	Tasks        []taskOutline `json:"tasks" jsonschema:"the phase's tasks; get_task returns one in full"`
	TotalPhases  int           `json:"total_phases"`
	Resumed      bool          `json:"resumed" jsonschema:"true when an active session for this workflow and target already existed"`
}

func (s *Server) startWorkflow(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "workflow_type", "target_file", "options")
	wt := a.str("workflow_type", true, maxNameRunes, "call list_workflows to see the workflow types")
	target := a.str("target_file", true, maxTargetRunes, "name the file or feature the workflow is about, e.g. \"src/login.go\"")
	opts := a.object("options", false, "omit it or pass an object")
	if a.err == nil && !validName(wt) {
		a.fail(badArg("workflow_type", "%q is not a workflow name (letters, digits, '_', '-' and '.', no path); call list_workflows to see them", shorten(wt, 64)))
	}
	if a.err != nil {
		return s.toolError(ctx, ToolStartWorkflow, a.err)
	}
	r, err := s.cfg.Engine.Start(ctx, wt, target, opts)
	if err != nil {
		return s.toolError(ctx, ToolStartWorkflow, err)
	}
	out := startOut{
		SessionID: r.SessionID, WorkflowType: r.WorkflowType, TargetFile: r.TargetFile,
		CurrentPhase: r.CurrentPhase, PhaseName: r.PhaseName, PhaseContent: r.PhaseContent,
		Tasks: outlines(r.Tasks), TotalPhases: r.TotalPhases, Resumed: r.Resumed,
	}
	verb := "Started"
	if r.Resumed {
		verb = "Resumed"
	}
	text := fmt.Sprintf("%s %s session %s on %s.\nPhase %d of %d: %s\n\n%s%s",
		verb, r.WorkflowType, r.SessionID, r.TargetFile, r.CurrentPhase, r.TotalPhases, r.PhaseName,
		strings.TrimSpace(r.PhaseContent), taskList(r.Tasks))
	return structuredText(out, text), nil
}

// validName accepts workflow names as the engine lays them out on disk:
// one path element of letters, digits, '_', '-' and '.', not starting
// with '.'.
func validName(s string) bool {
	if s == "" || len(s) > maxNameRunes || s[0] == '.' {
		return false
	}
	for _, c := range []byte(s) {
		ok := c == '_' || c == '-' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func taskList(ts []engine.TaskInfo) string {
	if len(ts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\nTasks:\n")
	for _, t := range ts {
		fmt.Fprintf(&b, "%d. %s", t.TaskNumber, t.Name)
		if t.Purpose != "" {
			b.WriteString(" — " + t.Purpose)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ---- get_current_phase ----

type phaseOut struct {
	SessionID        string        `json:"session_id"`
	WorkflowType     string        `json:"workflow_type"`
	TargetFile       string        `json:"target_file"`
	Status           string        `json:"status" jsonschema:"active or completed"`
	CurrentPhase     int           `json:"current_phase"`
	PhaseName        string        `json:"phase_name"`
	Purpose          string        `json:"purpose"`
	PhaseContent     string        `json:"phase_content" jsonschema:"the phase's instructions, markdown; empty when the workflow is complete"`
	Tasks            []taskOutline `json:"tasks"`
	CompletedPhases  []int         `json:"completed_phases"`
	TotalPhases      int           `json:"total_phases"`
	WorkflowComplete bool          `json:"workflow_complete"`
}

func (s *Server) getCurrentPhase(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "session_id")
	id := a.sessionID()
	if a.err != nil {
		return s.toolError(ctx, ToolGetCurrentPhase, a.err)
	}
	v, err := s.cfg.Engine.CurrentPhase(ctx, id)
	if err != nil {
		return s.toolError(ctx, ToolGetCurrentPhase, err)
	}
	out := phaseOut{
		SessionID: v.SessionID, WorkflowType: v.WorkflowType, TargetFile: v.TargetFile, Status: string(v.Status),
		CurrentPhase: v.Phase, PhaseName: v.PhaseName, Purpose: v.Purpose, PhaseContent: v.Content,
		Tasks: outlines(v.Tasks), CompletedPhases: ints(v.CompletedPhases), TotalPhases: v.TotalPhases,
		WorkflowComplete: v.WorkflowComplete,
	}
	var text string
	if v.WorkflowComplete {
		text = fmt.Sprintf("Session %s (%s on %s) is complete: every phase passed its gate.", v.SessionID, v.WorkflowType, v.TargetFile)
	} else {
		text = fmt.Sprintf("Session %s, phase %d of %d: %s\n\n%s%s", v.SessionID, v.Phase, v.TotalPhases, v.PhaseName,
			strings.TrimSpace(v.Content), taskList(v.Tasks))
	}
	return structuredText(out, text), nil
}

func ints(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

// ---- get_task ----

type taskOut struct {
	SessionID  string `json:"session_id"`
	Phase      int    `json:"phase"`
	TaskNumber int    `json:"task_number"`
	TaskName   string `json:"task_name"`
	TaskFile   string `json:"task_file"`
	Purpose    string `json:"purpose"`
	Content    string `json:"content" jsonschema:"the task's instructions, markdown"`
}

func (s *Server) getTask(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "session_id", "phase", "task_number")
	id := a.sessionID()
	phase, _ := a.integer("phase", true, 0, maxPhase, "pass the phase number, e.g. the current_phase of get_current_phase")
	n, _ := a.integer("task_number", true, 0, maxTaskNumber, "pass a task_number from the phase's tasks")
	if a.err != nil {
		return s.toolError(ctx, ToolGetTask, a.err)
	}
	t, err := s.cfg.Engine.Task(ctx, id, phase, n)
	if err != nil {
		return s.toolError(ctx, ToolGetTask, err)
	}
	out := taskOut{SessionID: t.SessionID, Phase: t.Phase, TaskNumber: t.TaskNumber, TaskName: t.Name, TaskFile: t.File, Purpose: t.Purpose, Content: t.Content}
	text := fmt.Sprintf("Phase %d, task %d: %s\n\n%s", t.Phase, t.TaskNumber, t.Name, strings.TrimSpace(t.Content))
	return structuredText(out, text), nil
}

// ---- complete_phase ----

type phaseContentOut struct {
	Phase     int           `json:"phase"`
	PhaseName string        `json:"phase_name"`
	Purpose   string        `json:"purpose"`
	Content   string        `json:"content"`
	Tasks     []taskOutline `json:"tasks"`
}

type completeOut struct {
	SessionID        string           `json:"session_id"`
	Phase            int              `json:"phase"`
	CheckpointPassed bool             `json:"checkpoint_passed" jsonschema:"whether the gate accepted the evidence"`
	ValidationResult any              `json:"validation_result" jsonschema:"the gate's verdict: errors, warnings, diagnostics, remediation"`
	PhaseCompleted   bool             `json:"phase_completed" jsonschema:"whether this call completed the phase (pos_workflow's reply carries the phase's number, or null, instead)"`
	NextPhase        *int             `json:"next_phase" jsonschema:"the phase now current, or null"`
	NextPhaseContent *phaseContentOut `json:"next_phase_content" jsonschema:"the next phase's instructions and tasks, or null"`
	WorkflowComplete bool             `json:"workflow_complete"`
}

func (s *Server) completePhase(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "session_id", "phase", "evidence")
	id := a.sessionID()
	phase, _ := a.integer("phase", true, 0, maxPhase, "pass the session's current phase (get_current_phase shows it)")
	evidence := a.object("evidence", true, "pass an object of the fields the phase's gate asks for, e.g. {\"summary\": \"...\"}")
	if a.err != nil {
		return s.toolError(ctx, ToolCompletePhase, a.err)
	}
	r, err := s.cfg.Engine.CompletePhase(ctx, id, phase, evidence)
	if err != nil {
		return s.toolError(ctx, ToolCompletePhase, err)
	}
	if !r.CheckpointPassed {
		s.logGateFailed(r.SessionID, r.Phase, r.ValidationResult.Errors)
	}
	out := completeOut{
		SessionID: r.SessionID, Phase: r.Phase, CheckpointPassed: r.CheckpointPassed, ValidationResult: r.ValidationResult,
		PhaseCompleted: r.PhaseCompleted, NextPhase: r.NextPhase, WorkflowComplete: r.WorkflowComplete,
	}
	if c := r.NextPhaseContent; c != nil {
		out.NextPhaseContent = &phaseContentOut{Phase: c.Phase, PhaseName: c.PhaseName, Purpose: c.Purpose, Content: c.Content, Tasks: outlines(c.Tasks)}
	}
	var b strings.Builder
	switch {
	case !r.CheckpointPassed:
		fmt.Fprintf(&b, "Phase %d did not pass its gate.\n", r.Phase)
		for _, e := range r.ValidationResult.Errors {
			b.WriteString("- " + e + "\n")
		}
		if r.ValidationResult.Remediation != "" {
			b.WriteString("\n" + r.ValidationResult.Remediation + "\n")
		}
	case r.WorkflowComplete:
		fmt.Fprintf(&b, "Phase %d passed its gate. The workflow is complete.\n", r.Phase)
	case r.NextPhaseContent != nil:
		c := r.NextPhaseContent
		fmt.Fprintf(&b, "Phase %d passed its gate. Now phase %d: %s\n\n%s%s", r.Phase, c.Phase, c.PhaseName, strings.TrimSpace(c.Content), taskList(c.Tasks))
	default:
		fmt.Fprintf(&b, "Phase %d passed its gate.\n", r.Phase)
	}
	for _, w := range r.ValidationResult.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return structuredText(out, b.String()), nil
}

// ---- get_workflow_state ----

type stateOut struct {
	SessionID       string            `json:"session_id"`
	WorkflowType    string            `json:"workflow_type"`
	TargetFile      string            `json:"target_file"`
	CurrentPhase    int               `json:"current_phase"`
	CompletedPhases []int             `json:"completed_phases"`
	Checkpoints     map[string]string `json:"checkpoints" jsonschema:"gate status per phase number: pending, passed or failed"`
	Status          string            `json:"status" jsonschema:"active or completed"`
	CreatedAt       string            `json:"created_at" jsonschema:"RFC 3339"`
	UpdatedAt       string            `json:"updated_at" jsonschema:"RFC 3339"`
}

func (s *Server) getWorkflowState(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "session_id")
	id := a.sessionID()
	if a.err != nil {
		return s.toolError(ctx, ToolGetWorkflowState, a.err)
	}
	st, err := s.cfg.Engine.State(ctx, id)
	if err != nil {
		return s.toolError(ctx, ToolGetWorkflowState, err)
	}
	cps := make(map[string]string, len(st.Checkpoints))
	for p, c := range st.Checkpoints {
		cps[fmt.Sprint(p)] = string(c)
	}
	return structured(stateOut{
		SessionID: st.SessionID, WorkflowType: st.WorkflowType, TargetFile: st.TargetFile,
		CurrentPhase: st.CurrentPhase, CompletedPhases: ints(st.CompletedPhases), Checkpoints: cps,
		Status: string(st.Status), CreatedAt: rfc3339(st.CreatedAt), UpdatedAt: rfc3339(st.UpdatedAt),
	})
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ---- list_sessions ----

type sessionOut struct {
	SessionID       string `json:"session_id"`
	WorkflowType    string `json:"workflow_type"`
	TargetFile      string `json:"target_file"`
	CurrentPhase    int    `json:"current_phase"`
	CompletedPhases []int  `json:"completed_phases"`
	Status          string `json:"status"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
	Error           string `json:"error,omitempty" jsonschema:"set when the session's state file cannot be read"`
}

type listSessionsOut struct {
	Sessions []sessionOut `json:"sessions"`
	Count    int          `json:"count"`
}

func (s *Server) listSessions(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "status")
	status := a.str("status", false, 16, "pass active, completed or all")
	switch status {
	case "", "all":
		status = ""
	case string(state.StatusActive), string(state.StatusCompleted):
	default:
		a.fail(badArg("status", "must be active, completed or all, got %q", shorten(status, 32)))
	}
	if a.err != nil {
		return s.toolError(ctx, ToolListSessions, a.err)
	}
	list, err := s.cfg.Engine.ListSessions(ctx, status)
	if err != nil {
		return s.toolError(ctx, ToolListSessions, err)
	}
	out := listSessionsOut{Sessions: make([]sessionOut, len(list)), Count: len(list)}
	for i := range list {
		x := &list[i]
		out.Sessions[i] = sessionOut{
			SessionID: x.SessionID, WorkflowType: x.WorkflowType, TargetFile: x.TargetFile, CurrentPhase: x.CurrentPhase,
			CompletedPhases: ints(x.CompletedPhases), Status: string(x.Status),
			CreatedAt: rfc3339(x.CreatedAt), UpdatedAt: rfc3339(x.UpdatedAt), Error: x.Error,
		}
	}
	return structured(out)
}

// ---- delete_session ----

type deleteOut struct {
	SessionID string `json:"session_id"`
	Deleted   bool   `json:"deleted"`
}

func (s *Server) deleteSession(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	a := newArgs(req.Params.Arguments, "session_id")
	id := a.sessionID()
	if a.err != nil {
		return s.toolError(ctx, ToolDeleteSession, a.err)
	}
	if err := s.cfg.Engine.DeleteSession(ctx, id); err != nil {
		return s.toolError(ctx, ToolDeleteSession, err)
	}
	return structuredText(deleteOut{SessionID: id, Deleted: true}, "Deleted session "+id+"."), nil
}

// ---- get_server_info ----

type serverInfoOut struct {
	Name          string                           `json:"name"`
	Version       string                           `json:"version"`
	GoVersion     string                           `json:"go_version"`
	PID           int                              `json:"pid"`
	StartedAt     string                           `json:"started_at" jsonschema:"RFC 3339"`
	UptimeSeconds float64                          `json:"uptime_seconds"`
	Uptime        string                           `json:"uptime" jsonschema:"the uptime for people, e.g. 1h2m3s"`
	Transports    []string                         `json:"transports" jsonschema:"stdio, http or both"`
	HTTPURL       string                           `json:"http_url" jsonschema:"the streamable HTTP endpoint, or empty"`
	Folders       map[string]string                `json:"folders" jsonschema:"where workflows, standards and state come from"`
	StateStore    stateStoreOut                    `json:"state_store" jsonschema:"where sessions live and the store's counters"`
	Caches        map[string]metrics.Snapshot      `json:"caches" jsonschema:"every cache's counters, by cache name"`
	Index         ragcache.Stats                   `json:"index" jsonschema:"the standards index"`
	Tools         map[string]map[string]ToolCounts `json:"tools" jsonschema:"tool calls so far, by tool and transport"`
}

// stateStoreOut is get_server_info's state_store.
type stateStoreOut struct {
	Kind      string               `json:"kind" jsonschema:"file (one JSON file per session) or redis (shared by replicas)"`
	Location  string               `json:"location" jsonschema:"the state folder or the Redis URL, without password"`
	Conflicts engine.ConflictStats `json:"conflicts" jsonschema:"complete_phase saves another process saved first: retried, or given up"`
	Redis     any                  `json:"redis,omitempty" jsonschema:"the Redis store's counters: saves, cas_conflicts, retries, stale_reads_avoided, cache hits and misses, invalidations, cache_flushes, ambiguous saves by outcome, data_lost, errors, latency by operation"`
}

func (s *Server) stateStore() stateStoreOut {
	ss := s.cfg.StateStore
	out := stateStoreOut{Kind: ss.Kind, Location: ss.Location, Conflicts: s.cfg.Engine.Conflicts()}
	if out.Kind == "" {
		out.Kind = "file"
	}
	if out.Location == "" {
		out.Location = s.cfg.Folders["state"]
	}
	if ss.Stats != nil {
		out.Redis = ss.Stats()
	}
	return out
}

func (s *Server) info() serverInfoOut {
	folders := s.cfg.Folders
	if folders == nil {
		folders = map[string]string{}
	}
	up := time.Since(s.started)
	return serverInfoOut{
		Name: "mcpflow", Version: s.cfg.Version, GoVersion: runtime.Version(), PID: os.Getpid(),
		StartedAt: rfc3339(s.started), UptimeSeconds: up.Seconds(), Uptime: up.Round(time.Second).String(),
		Transports: s.transports(), HTTPURL: s.URL(), Folders: folders, StateStore: s.stateStore(),
		Caches: s.cacheMetrics(), Index: s.cfg.Index.Stats(), Tools: s.tel.counts(),
	}
}

func (s *Server) getServerInfo(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if a := newArgs(req.Params.Arguments); a.err != nil {
		return s.toolError(ctx, ToolGetServerInfo, a.err)
	}
	return structured(s.info())
}
