package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/engine/state"
)

// The tool names prAxIs OS's standards and workflows tell agents to call,
// beside search_standards and get_server_info, which mcpflow has under the
// same names.
const (
	ToolPosWorkflow = "pos_workflow"
	ToolCurrentDate = "current_date"
)

// posActions maps pos_workflow's actions, with prAxIs OS's names and
// mcpflow's, to the tools behind them. Each action takes the arguments of
// its tool (toolArgs) besides action.
var posActions = map[string]string{
	"list_workflows":     ToolListWorkflows,
	"start":              ToolStartWorkflow,
	"start_workflow":     ToolStartWorkflow,
	"get_phase":          ToolGetCurrentPhase,
	"get_current_phase":  ToolGetCurrentPhase,
	"get_task":           ToolGetTask,
	"complete_phase":     ToolCompletePhase,
	"get_state":          ToolGetWorkflowState,
	"get_session":        ToolGetWorkflowState,
	"get_workflow_state": ToolGetWorkflowState,
	"list_sessions":      ToolListSessions,
	"delete_session":     ToolDeleteSession,
	"pause":              ToolPauseSession,
	"resume":             ToolResumeSession,
	"retry_phase":        ToolRetryPhase,
	"rollback":           ToolRollbackSession,
	"get_errors":         ToolGetErrors,
}

// anyObject is pos_workflow's output schema: each action answers with the
// structured content of the tool behind it and prAxIs OS's fields. An
// error's structured content (prAxIs OS's error shape) is an object too,
// so a client that validates error results against this schema accepts it.
const anyObject = `{"type":"object","description":"status (success, or error on an error result), action, and the structured result of the tool behind the action (start_workflow, get_current_phase, ...) with the fields prAxIs OS returns; an error result holds error, error_type, valid_actions and remediation"}`

// praxisTools returns pos_workflow and current_date. Every pos_workflow
// action calls the handler of the mcpflow tool behind it, so both names run
// the same engine call.
func (s *Server) praxisTools() []mcpserver.ServerTool {
	actions := slices.Sorted(maps.Keys(posActions))
	return []mcpserver.ServerTool{
		{Tool: mcp.NewTool(ToolPosWorkflow,
			mcp.WithTitleAnnotation("Workflow (prAxIs OS)"),
			mcp.WithDescription("prAxIs OS's workflow tool: one tool whose action picks the operation. start, get_phase, get_task, complete_phase, get_state, get_session, list_sessions, delete_session and list_workflows do what mcpflow's own tools of those names do, with the same arguments; replies carry status \"success\", action and the fields prAxIs OS returns, errors carry error, error_type, valid_actions and remediation. complete_phase replies with phase_completed as the submitted phase's number, whether or not its gate passed (read checkpoint_passed). Retries: start resumes the session it started; complete_phase sent again for a phase it completed, with the same evidence, returns the first answer and changes nothing, with other evidence it answers that the phase is already completed; delete_session again answers that the session is not found. The recovery actions pause, resume, retry_phase, rollback and get_errors are mcpflow's pause_session, resume_session, retry_phase, rollback_session and get_errors: pause, resume, retry_phase and rollback answer changed: false when the session already was as asked, so retrying one whose answer was lost is safe."),
			mcp.WithString("action", mcp.Required(), mcp.Enum(actions...),
				mcp.Description("The operation: "+strings.Join(actions, ", ")+".")),
			mcp.WithString("workflow_type", mcp.MaxLength(maxNameRunes), mcp.Description("start: the workflow to run, e.g. \"spec_execution_v1\".")),
			mcp.WithString("target_file", mcp.MaxLength(maxTargetRunes), mcp.Description("start: the file or feature the workflow is about.")),
			mcp.WithObject("options", mcp.Description("start: settings stored with the session, e.g. {\"spec_path\": \".praxis-os/specs/2025-10-13-name\"} for spec_execution_v1.")),
			mcp.WithString("session_id", mcp.Description("Every action but start, list_workflows and list_sessions: "+sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Min(0), mcp.Max(maxPhase), mcp.Description("get_task, complete_phase and retry_phase: the phase number; get_errors: only this phase's attempts.")),
			mcp.WithInteger("task_number", mcp.Min(0), mcp.Max(maxTaskNumber), mcp.Description("get_task: the task number within the phase (Task N.M of a spec is task_number M).")),
			mcp.WithObject("evidence", mcp.Description("complete_phase: the evidence the phase's gate asks for.")),
			mcp.WithString("status", mcp.Enum(listStatuses...), mcp.Description("list_sessions: only sessions with this status (default all); error is an active session, not paused, whose last gate attempt failed.")),
			mcp.WithInteger("limit", mcp.Min(1), mcp.Max(state.MaxPageLimit), mcp.Description(fmt.Sprintf("list_sessions: the most sessions in this page (default %d).", state.DefaultPageLimit))),
			mcp.WithString("cursor", mcp.MaxLength(maxCursorRunes), mcp.Description("list_sessions: the next_cursor of the previous page; omit it for the first page.")),
			mcp.WithString("category", mcp.MaxLength(maxNameRunes), mcp.Description("list_workflows: only workflows whose metadata.json has this category.")),
			mcp.WithString("reason", mcp.MaxLength(maxReasonRunes), mcp.Description("pause and resume: why.")),
			mcp.WithString("checkpoint_note", mcp.MaxLength(maxReasonRunes), mcp.Description("pause: a note kept with the reason.")),
			mcp.WithInteger("to_phase", mcp.Min(0), mcp.Max(maxPhase), mcp.Description("rollback: the phase to go back to.")),
			mcp.WithRawOutputSchema(json.RawMessage(anyObject)),
			annotations(annot{destructive: true}),
		), Handler: s.posWorkflow},
		{Tool: mcp.NewTool(ToolCurrentDate,
			mcp.WithTitleAnnotation("Current date"),
			mcp.WithDescription("Return today's date and time from the server's clock, with ready-made forms for spec folder names and document headers, so that an agent does not guess the date."),
			mcp.WithOutputSchema[currentDateOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolCurrentDate)},
	}
}

// handlerFor returns the handler of the mcpflow tool behind a
// pos_workflow action (handlerOf), or nil for a name that is no tool.
func (s *Server) handlerFor(tool string) mcpserver.ToolHandlerFunc {
	return s.handlerOf(tool)
}

// posWorkflow runs the handler of the tool behind the action and turns its
// typed result into prAxIs OS's reply (posReply), or its tool error into
// one carrying prAxIs OS's error shape (posErrorOut).
func (s *Server) posWorkflow(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	raw, ok := req.Params.Arguments.(map[string]any)
	if !ok && req.Params.Arguments != nil {
		return s.posError(ctx, "", badArg("arguments", "must be a JSON object, got %s", jsonType(req.Params.Arguments)))
	}
	name, _ := raw["action"].(string)
	tool, known := posActions[name]
	if !known {
		if _, given := raw["action"]; !given {
			return s.posError(ctx, "", badArg("action", "is required; pass one of %s", strings.Join(slices.Sorted(maps.Keys(posActions)), ", ")))
		}
		return s.posError(ctx, shorten(fmt.Sprint(raw["action"]), 32), badArg("action", "must be one of %s, got %q", strings.Join(slices.Sorted(maps.Keys(posActions)), ", "), shorten(fmt.Sprint(raw["action"]), 32)))
	}
	inner := make(map[string]any, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if k == "action" {
			continue
		}
		if !slices.Contains(toolArgs[tool], k) {
			return s.posError(ctx, name, badArg(fmt.Sprintf("%q", shorten(k, 64)), "is not an argument of action %s; it takes %s", name, orNothing(toolArgs[tool])))
		}
		inner[k] = raw[k]
	}
	sub := req
	sub.Params.Name = tool
	sub.Params.Arguments = inner
	h := s.handlerFor(tool)
	if h == nil {
		return s.posError(ctx, name, fmt.Errorf("server: action %s names tool %s, which has no handler", name, tool))
	}
	sink := &errSink{}
	res, err := h(context.WithValue(ctx, errSinkKey{}, sink), sub)
	if err != nil || res == nil {
		return res, err
	}
	if res.IsError {
		if sink.err != nil {
			res.StructuredContent = newPosError(name, textOfResult(res), sink.err)
		}
		return res, nil
	}
	if res.StructuredContent == nil {
		// complete_phase's request for the human's approval (2026-07-28):
		// the client answers it by calling pos_workflow again.
		return res, nil
	}
	r := posReply(name, res.StructuredContent)
	if r == nil {
		// A programmer's error: a tool behind an action whose result
		// posReply does not map.
		return nil, fmt.Errorf("server: action %s: no pos_workflow reply for a %T result", name, res.StructuredContent)
	}
	res.StructuredContent = r
	return res, nil
}

// errSink receives, through a call's context, the error that toolError
// turned into a tool error, so that pos_workflow can classify it.
type errSink struct{ err error }

type errSinkKey struct{}

// posError is toolError for pos_workflow's own checks, with prAxIs OS's
// error shape as structured content.
func (s *Server) posError(ctx context.Context, action string, err error) (*mcp.CallToolResult, error) {
	res, gerr := s.toolError(ctx, ToolPosWorkflow, err)
	if res != nil && res.IsError {
		res.StructuredContent = newPosError(action, textOfResult(res), err)
	}
	return res, gerr
}

func newPosError(action, text string, err error) posErrorOut {
	return posErrorOut{
		Status: "error", Action: action, Error: text, ErrorType: posErrorType(err),
		ValidActions: slices.Sorted(maps.Keys(posActions)), Remediation: posRemediation(err),
	}
}

// textOfResult returns the text of a result's first text content.
func textOfResult(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			return t.Text
		}
	}
	return ""
}

func orNothing(args []string) string {
	if len(args) == 0 {
		return "nothing besides action"
	}
	return strings.Join(args, ", ")
}

// ---- current_date ----

type dateForms struct {
	SpecDirectory string `json:"spec_directory" jsonschema:"prefix of a spec folder name, e.g. 2025-10-13-"`
	Header        string `json:"header" jsonschema:"a markdown date line for a document header"`
}

type currentDateOut struct {
	ISODate       string    `json:"iso_date" jsonschema:"YYYY-MM-DD, in the server's time zone"`
	ISODateTime   string    `json:"iso_datetime" jsonschema:"RFC 3339, in the server's time zone"`
	UTCDateTime   string    `json:"utc_datetime" jsonschema:"RFC 3339, in UTC"`
	DayOfWeek     string    `json:"day_of_week"`
	Month         string    `json:"month"`
	Year          int       `json:"year"`
	UnixTimestamp int64     `json:"unix_timestamp" jsonschema:"seconds since 1970-01-01 UTC"`
	Timezone      string    `json:"timezone"`
	Formatted     dateForms `json:"formatted"`
	UsageNote     string    `json:"usage_note"`
}

func (s *Server) currentDate(context.Context, mcp.CallToolRequest, noArgs) (reply[currentDateOut], error) {
	now := time.Now()
	day := now.Format(time.DateOnly)
	zone, _ := now.Zone()
	out := currentDateOut{
		ISODate: day, ISODateTime: now.Format(time.RFC3339), UTCDateTime: now.UTC().Format(time.RFC3339),
		DayOfWeek: now.Weekday().String(), Month: now.Month().String(), Year: now.Year(), UnixTimestamp: now.Unix(),
		Timezone:  zone,
		Formatted: dateForms{SpecDirectory: day + "-", Header: "**Date:** " + day},
		UsageNote: "Use iso_date for dates in specs and documents, and formatted.spec_directory to name a new spec folder.",
	}
	return textReply(out, "Today is "+now.Weekday().String()+", "+day+" ("+out.ISODateTime+")."), nil
}
