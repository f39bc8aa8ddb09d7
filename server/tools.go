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
			mcp.WithInteger("filter_phase", mcp.Min(0), mcp.Max(maxPhase),
				mcp.Description("prAxIs OS's name for phase; give one of the two.")),
			mcp.WithArray("filter_tags", mcp.WithStringItems(mcp.MaxLength(ragcache.MaxTagRunes)), mcp.MaxItems(ragcache.MaxTags),
				mcp.Description("prAxIs OS's name for tags; give one of the two.")),
			mcp.WithOutputSchema[searchOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolSearchStandards)},
		{Tool: mcp.NewTool(ToolListWorkflows,
			mcp.WithTitleAnnotation("List workflows"),
			mcp.WithDescription("List the workflows that start_workflow can start, with their phases and any problem in their definition."),
			mcp.WithString("category", mcp.MaxLength(maxNameRunes),
				mcp.Description("Only workflows whose metadata.json has this category, as prAxIs OS filters them.")),
			mcp.WithOutputSchema[listWorkflowsOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolListWorkflows)},
		{Tool: mcp.NewTool(ToolStartWorkflow,
			mcp.WithTitleAnnotation("Start workflow"),
			mcp.WithDescription("Start a phase-gated workflow on a target file, or resume the active session for the same workflow and target. Returns the session ID and the first phase with its tasks. A retry is safe: it resumes the session the first call started (resumed is then true) and creates no other."),
			mcp.WithString("workflow_type", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(maxNameRunes),
				mcp.Description("The workflow to run, as list_workflows names it, e.g. \"feature_delivery\".")),
			mcp.WithString("target_file", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(maxTargetRunes),
				mcp.Description("The file or feature the workflow is about, e.g. \"internal/auth/login.go\".")),
			mcp.WithObject("options", mcp.Description("Optional settings stored with the session.")),
			mcp.WithOutputSchema[startOut](),
			annotations(annot{idempotent: true}),
		), Handler: s.handlerOf(ToolStartWorkflow)},
		{Tool: mcp.NewTool(ToolGetCurrentPhase,
			mcp.WithTitleAnnotation("Get current phase"),
			mcp.WithDescription("Return the session's current phase: its instructions and its tasks."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithOutputSchema[phaseOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolGetCurrentPhase)},
		{Tool: mcp.NewTool(ToolGetTask,
			mcp.WithTitleAnnotation("Get task"),
			mcp.WithDescription("Return the full instructions of one task of a phase."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Required(), mcp.Min(0), mcp.Max(maxPhase), mcp.Description("The phase number.")),
			mcp.WithInteger("task_number", mcp.Required(), mcp.Min(0), mcp.Max(maxTaskNumber), mcp.Description("The task number within the phase, as the phase's tasks list it.")),
			mcp.WithOutputSchema[taskOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolGetTask)},
		{Tool: mcp.NewTool(ToolCompletePhase,
			mcp.WithTitleAnnotation("Complete phase"),
			mcp.WithDescription("Submit evidence for the current phase. The phase's gate checks it: when it passes the session advances and the next phase is returned; when it fails, validation_result says what is missing. A retry is safe: the same call again, for a phase it completed and with the same evidence, changes nothing and returns the first call's answer; with other evidence it answers that the phase is already completed. A retry after a failed gate is a new attempt."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Required(), mcp.Min(0), mcp.Max(maxPhase), mcp.Description("The phase being completed: the session's current phase.")),
			mcp.WithObject("evidence", mcp.Required(), mcp.Description("The evidence the phase's gate asks for, as an object of named fields, e.g. {\"tests_passed\": 12, \"summary\": \"...\"}.")),
			mcp.WithOutputSchema[completeOut](),
			annotations(annot{}),
		), Handler: s.handlerOf(ToolCompletePhase)},
		{Tool: mcp.NewTool(ToolGetWorkflowState,
			mcp.WithTitleAnnotation("Get workflow state"),
			mcp.WithDescription("Return a session's full state: current phase, completed phases, the workflow's number of phases, whether it is complete, checkpoint status per phase, timestamps."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithOutputSchema[stateOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolGetWorkflowState)},
		{Tool: mcp.NewTool(ToolListSessions,
			mcp.WithTitleAnnotation("List sessions"),
			mcp.WithDescription("List the workflow sessions, newest first, a page at a time: while the reply has a next_cursor, pass it as cursor to read the next page."),
			mcp.WithString("status", mcp.Enum(listStatuses...), mcp.DefaultString("all"),
				mcp.Description("Only sessions with this status: active, completed, error (active, not paused, and the current phase's last gate attempt failed), paused or all (default).")),
			mcp.WithInteger("limit", mcp.Min(1), mcp.Max(state.MaxPageLimit), mcp.DefaultNumber(state.DefaultPageLimit),
				mcp.Description(fmt.Sprintf("The most sessions in this page (default %d).", state.DefaultPageLimit))),
			mcp.WithString("cursor", mcp.MaxLength(maxCursorRunes),
				mcp.Description("The next_cursor of the previous page; omit it for the first page.")),
			mcp.WithOutputSchema[listSessionsOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolListSessions)},
		{Tool: mcp.NewTool(ToolDeleteSession,
			mcp.WithTitleAnnotation("Delete session"),
			mcp.WithDescription("Delete a session and its saved state. This cannot be undone. A retry after a success answers that the session is not found, and changes nothing."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithOutputSchema[deleteOut](),
			annotations(annot{destructive: true, idempotent: true}),
		), Handler: s.handlerOf(ToolDeleteSession)},
		{Tool: mcp.NewTool(ToolGetServerInfo,
			mcp.WithTitleAnnotation("Get server info"),
			mcp.WithDescription("Return the server's version, uptime, transports, the counters of every cache, the standards index statistics and the tool call counts."),
			mcp.WithOutputSchema[serverInfoOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolGetServerInfo)},
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
	if sink, ok := ctx.Value(errSinkKey{}).(*errSink); ok {
		sink.err = err
	}
	if ae, ok := errors.AsType[*argError](err); ok {
		return mcp.NewToolResultError(ae.msg), nil
	}
	msg := err.Error()
	qe, isQuery := errors.AsType[*ragcache.QueryError](err)
	switch {
	case isQuery:
		// decodeSearch checked n_results against the same bounds, so
		// Search never refuses the limit: the field is the argument's.
		msg = qe.Field + ": " + qe.Problem
	case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrWrongPhase),
		errors.Is(err, state.ErrAlreadyCompleted), errors.Is(err, state.ErrConflict),
		errors.Is(err, state.ErrInvalidArgument), errors.Is(err, state.ErrCorrupt), errors.Is(err, state.ErrPaused),
		errors.Is(err, state.ErrSpecMissing):
		msg = withRemedy(state.Message(err), err)
	case errors.Is(err, state.ErrClosed), errors.Is(err, ragcache.ErrClosed):
		msg = "the server is shutting down; retry once it is back"
	default:
		s.log.ErrorContext(ctx, "tool failed", "tool", tool, "err", err)
		if sessionTool(tool) {
			s.logStoreUnavailable(ctx, tool, err)
		}
		msg = "internal error: " + msg + "; the server log has the details"
	}
	return mcp.NewToolResultError(msg), nil
}

// ---- search_standards ----

type searchHit struct {
	Content string   `json:"content" jsonschema:"the section's markdown"`
	File    string   `json:"file" jsonschema:"path of the standards file, relative to the standards folder"`
	Section string   `json:"section" jsonschema:"the section's heading"`
	Parents []string `json:"parents" jsonschema:"the enclosing headings, outermost first"`
	Score   float64  `json:"score" jsonschema:"BM25 relevance"`
	// RelevanceScore is Score under prAxIs OS's name.
	RelevanceScore float64 `json:"relevance_score" jsonschema:"the same as score, under prAxIs OS's name"`
	Tokens         int     `json:"tokens" jsonschema:"estimated tokens of content"`
}

type searchOut struct {
	Results         []searchHit `json:"results" jsonschema:"the best matches, best first"`
	TotalTokens     int         `json:"total_tokens" jsonschema:"sum of the results' tokens"`
	RetrievalMethod string      `json:"retrieval_method" jsonschema:"how the results were ranked"`
	QueryTimeMS     float64     `json:"query_time_ms" jsonschema:"time spent answering, in milliseconds"`
	CacheHit        bool        `json:"cache_hit" jsonschema:"whether the answer came from the query cache"`
}

func (s *Server) searchStandards(ctx context.Context, req mcp.CallToolRequest, q ragcache.CanonicalQuery) (reply[searchOut], error) {
	if send := s.progressSender(ctx, req); send != nil && s.cfg.Index.Rebuilding() {
		defer s.rebuildProgress(send)()
	}
	r, err := s.cfg.Index.SearchCanonical(ctx, q)
	if err != nil {
		return reply[searchOut]{}, praxisQueryField(req.Params.Arguments, err)
	}
	return searchResult(r), nil
}

// praxisQueryField names a query problem after the argument the caller
// gave: filter_phase or filter_tags, prAxIs OS's names, when it used them.
func praxisQueryField(raw any, err error) error {
	qe, ok := errors.AsType[*ragcache.QueryError](err)
	m, _ := raw.(map[string]any)
	if !ok || m == nil {
		return err
	}
	if _, given := m["filter_"+qe.Field]; given && (qe.Field == "tags" || qe.Field == "phase") {
		return badArg("filter_"+qe.Field, "%s", qe.Problem)
	}
	return err
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
		hits[i] = searchHit{Content: c.Content, File: c.File, Section: c.Section, Parents: parents, Score: c.Score, RelevanceScore: c.Score, Tokens: c.Tokens}
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

func (s *Server) listWorkflows(ctx context.Context, _ mcp.CallToolRequest, a listWorkflowsArgs) (reply[listWorkflowsOut], error) {
	ws, err := s.cfg.Engine.ListWorkflows(ctx)
	if err != nil {
		return reply[listWorkflowsOut]{}, err
	}
	out := listWorkflowsOut{Workflows: make([]workflowOut, 0, len(ws))}
	for i := range ws {
		if a.Category == "" || ws[i].Category == a.Category {
			out.Workflows = append(out.Workflows, newWorkflowOut(&ws[i]))
		}
	}
	out.Count = len(out.Workflows)
	return jsonReply(out), nil
}

// ---- start_workflow ----

func (s *Server) startWorkflow(ctx context.Context, _ mcp.CallToolRequest, a startArgs) (reply[startOut], error) {
	r, err := s.cfg.Engine.Start(ctx, a.WorkflowType, a.TargetFile, a.Options)
	if err != nil {
		return reply[startOut]{}, err
	}
	verb := "Started"
	if r.Resumed {
		verb = "Resumed"
	}
	text := fmt.Sprintf("%s %s session %s on %s.\nPhase %d of %d: %s\n\n%s%s",
		verb, r.WorkflowType, r.SessionID, r.TargetFile, r.CurrentPhase, r.TotalPhases, r.PhaseName,
		strings.TrimSpace(r.PhaseContent), taskList(r.Tasks))
	return textReply(newStartOut(r), text), nil
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

func (s *Server) getCurrentPhase(ctx context.Context, _ mcp.CallToolRequest, a sessionArgs) (reply[phaseOut], error) {
	v, err := s.cfg.Engine.CurrentPhase(ctx, a.SessionID)
	if err != nil {
		return reply[phaseOut]{}, err
	}
	var text string
	switch {
	case v.WorkflowComplete:
		text = fmt.Sprintf("Session %s (%s on %s) is complete: every phase passed its gate.", v.SessionID, v.WorkflowType, v.TargetFile)
	case v.AwaitingApproval:
		text = fmt.Sprintf("Session %s, phase %d of %d: %s. Its evidence passed the gate and awaits a human's approval (%s); do not start the next phase. Ask get_current_phase again later.",
			v.SessionID, v.Phase, v.TotalPhases, v.PhaseName, s.approveHint(v.SessionID, v.Phase))
	case v.Rejection != nil:
		r := v.Rejection
		text = fmt.Sprintf("REJECTED by %s at %s: %s\nAddress the reviewer's comment, then submit the evidence again with complete_phase.\n\nSession %s, phase %d of %d: %s\n\n%s%s",
			r.By, rfc3339(r.At), r.Comment, v.SessionID, v.Phase, v.TotalPhases, v.PhaseName, strings.TrimSpace(v.Content), taskList(v.Tasks))
	default:
		text = fmt.Sprintf("Session %s, phase %d of %d: %s\n\n%s%s", v.SessionID, v.Phase, v.TotalPhases, v.PhaseName,
			strings.TrimSpace(v.Content), taskList(v.Tasks))
	}
	return textReply(newPhaseOut(v), text), nil
}

// ---- get_task ----

func (s *Server) getTask(ctx context.Context, _ mcp.CallToolRequest, a taskArgs) (reply[taskOut], error) {
	t, err := s.cfg.Engine.Task(ctx, a.SessionID, a.Phase, a.TaskNumber)
	if err != nil {
		return reply[taskOut]{}, err
	}
	text := fmt.Sprintf("Phase %d, task %d: %s\n\n%s", t.Phase, t.TaskNumber, t.Name, strings.TrimSpace(t.Content))
	return textReply(newTaskOut(t), text), nil
}

// ---- complete_phase ----

func (s *Server) completePhase(ctx context.Context, req mcp.CallToolRequest, a completeArgs) (reply[completeOut], error) {
	r, err := s.cfg.Engine.CompletePhase(ctx, a.SessionID, a.Phase, a.Evidence)
	if err != nil {
		return reply[completeOut]{}, err
	}
	if !r.CheckpointPassed {
		s.logGateFailed(ctx, r.SessionID, r.Phase, r.ValidationResult.Errors)
	}
	var b strings.Builder
	out := newCompleteOut(r)
	var asked elicitOutcome
	if r.AwaitingApproval && canElicit(ctx) {
		switch answer := mcpserver.ElicitationResponse(req.Params.InputResponses, approvalInputID); {
		case answer != nil:
			// The 2026-07-28 retry of this call, with the human's answer.
			asked = s.recordAnswer(ctx, r, answer)
		case modernClient(ctx):
			// The 2026-07-28 way: the client shows the form and calls
			// again with the answer (the same evidence, so the request
			// for approval stands unchanged).
			return reply[completeOut]{result: mcpserver.NewInputRequestBuilder(r.SessionID).Elicit(approvalInputID, s.approvalForm(ctx, r)).ToolResult()}, nil
		default:
			asked = s.elicitApproval(ctx, r)
		}
		if d := asked.decided; d != nil {
			return s.decidedInIDE(ctx, &out, d), nil
		}
	}
	switch {
	case r.AwaitingApproval:
		out.Approve = s.approveHint(r.SessionID, r.Phase)
		fmt.Fprintf(&b, "Phase %d passed its gate and is AWAITING APPROVAL by a human. The next phase stays closed until they approve: %s. Do not go on; call get_current_phase later to see the decision.\n", r.Phase, out.Approve)
		if asked.note != "" {
			fmt.Fprintf(&b, "Asked in the IDE: %s; the phase stays pending.\n", asked.note)
		}
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
	return textReply(out, b.String()), nil
}

// ---- get_workflow_state ----

func (s *Server) getWorkflowState(ctx context.Context, _ mcp.CallToolRequest, a sessionArgs) (reply[stateOut], error) {
	v, err := s.cfg.Engine.StateWithProgress(ctx, a.SessionID)
	if err != nil {
		return reply[stateOut]{}, err
	}
	return jsonReply(newStateOut(v)), nil
}

// ---- list_sessions ----

func (s *Server) listSessions(ctx context.Context, _ mcp.CallToolRequest, a state.PageQuery) (reply[listSessionsOut], error) {
	page, err := s.cfg.Engine.ListSessions(ctx, a)
	if err != nil {
		return reply[listSessionsOut]{}, err
	}
	list := page.Sessions
	out := listSessionsOut{Sessions: make([]sessionOut, len(list)), Count: len(list), NextCursor: engine.EncodeCursor(page.Next)}
	for i := range list {
		out.Sessions[i] = newSessionOut(&list[i])
	}
	return jsonReply(out), nil
}

// ---- delete_session ----

func (s *Server) deleteSession(ctx context.Context, _ mcp.CallToolRequest, a sessionArgs) (reply[deleteOut], error) {
	if err := s.cfg.Engine.DeleteSession(ctx, a.SessionID); err != nil {
		return reply[deleteOut]{}, err
	}
	return textReply(deleteOut{SessionID: a.SessionID.String(), Deleted: true}, "Deleted session "+a.SessionID.String()+"."), nil
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
	Caches        map[string]cacheOut              `json:"caches" jsonschema:"every cache's counters, by cache name"`
	Index         ragcache.Stats                   `json:"index" jsonschema:"the standards index"`
	Tools         map[string]map[string]ToolCounts `json:"tools" jsonschema:"tool calls so far, by tool and transport"`
}

// stateStoreOut is get_server_info's state_store.
type stateStoreOut struct {
	Kind      string       `json:"kind" jsonschema:"file (one JSON file per session) or redis (shared by replicas)"`
	Location  string       `json:"location" jsonschema:"the state folder or the Redis URL, without password"`
	Conflicts conflictsOut `json:"conflicts" jsonschema:"complete_phase saves another process saved first: retried, or given up"`
	Redis     any          `json:"redis,omitempty" jsonschema:"the Redis store's counters: saves, cas_conflicts, retries, stale_reads_avoided, cache hits and misses, invalidations, cache_flushes, ambiguous saves by outcome, data_lost, errors, latency by operation"`
}

func (s *Server) stateStore() stateStoreOut {
	ss := s.cfg.StateStore
	out := stateStoreOut{Kind: ss.Kind, Location: ss.Location, Conflicts: newConflictsOut(s.cfg.Engine.Conflicts())}
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
		Caches: s.cachesInfo(), Index: s.cfg.Index.Stats(), Tools: s.tel.Counts(),
	}
}

func (s *Server) getServerInfo(context.Context, mcp.CallToolRequest, noArgs) (reply[serverInfoOut], error) {
	return jsonReply(s.info()), nil
}

// approveHint says where a human approves phase of session id.
func (s *Server) approveHint(id string, phase int) string {
	cmd := s.cfg.ApproveCommand
	if cmd == "" {
		cmd = "mcpflow approve"
	}
	hint := fmt.Sprintf("run %s %s %d (or mcpflow reject ... --comment WHY)", cmd, id, phase)
	if u := s.URL(); u != "" {
		hint += ", or open " + strings.TrimSuffix(u, PathMCP) + "/session/" + id + " in a browser"
	}
	return hint
}

// decidedInIDE is complete_phase's answer once the human decided in the
// IDE (elicitation): the next phase's content after an approval, the
// comment and the phase again after a rejection.
func (s *Server) decidedInIDE(ctx context.Context, out *completeOut, d *engine.DecisionResult) reply[completeOut] {
	var b strings.Builder
	out.AwaitingApproval = false
	v, err := s.cfg.Engine.CurrentPhase(ctx, d.ID())
	if d.Decision.Decision == state.DecisionRejected {
		fmt.Fprintf(&b, "REJECTED by %s: %s\nPhase %d passed its gate but the reviewer rejected it. Address the comment, then submit the evidence again with complete_phase.\n", d.Decision.By, d.Decision.Comment, d.Phase)
		if err == nil && !v.WorkflowComplete {
			out.current = newPhaseContentOut(&v.PhaseContent)
		}
		return textReply(*out, b.String())
	}
	out.PhaseCompleted, out.NextPhase, out.WorkflowComplete = true, d.NextPhase, d.WorkflowComplete
	switch {
	case d.WorkflowComplete:
		fmt.Fprintf(&b, "Phase %d passed its gate and was approved by %s. The workflow is complete.\n", d.Phase, d.Decision.By)
	case err == nil:
		out.NextPhaseContent = newPhaseContentOut(&v.PhaseContent)
		fmt.Fprintf(&b, "Phase %d passed its gate and was approved by %s. Now phase %d: %s\n\n%s%s", d.Phase, d.Decision.By, v.Phase, v.PhaseName, strings.TrimSpace(v.Content), taskList(v.Tasks))
	default:
		fmt.Fprintf(&b, "Phase %d passed its gate and was approved by %s. Call get_current_phase for the next phase.\n", d.Phase, d.Decision.By)
	}
	return textReply(*out, b.String())
}
