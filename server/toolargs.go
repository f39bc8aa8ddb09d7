package server

import (
	"fmt"
	"strings"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/ragcache"
)

// Each tool's arguments are decoded and checked here, once, into a typed
// value: the handler gets either that value or an *argError naming the
// argument, and passes the value on unchecked. The limits are the ones the
// tool's input schema declares (the same constants). Values the domain
// types are parsed here with the domain's one parse function
// (state.ParseSessionID, ragcache.ParseQuery, checkpoint.ParseWorkflowName), which the CLI and the
// dashboard use too; the engine keeps its own checks of phase,
// target_file and evidence size.

// toolArgs names the arguments of every tool that takes any, in the order
// an unknown-argument error lists them. pos_workflow offers each action the
// arguments of the tool behind it.
var toolArgs = map[string][]string{
	ToolSearchStandards:  {"query", "n_results", "phase", "tags", "filter_phase", "filter_tags"},
	ToolListWorkflows:    {"category"},
	ToolStartWorkflow:    {"workflow_type", "target_file", "options"},
	ToolGetCurrentPhase:  {"session_id"},
	ToolGetTask:          {"session_id", "phase", "task_number"},
	ToolCompletePhase:    {"session_id", "phase", "evidence"},
	ToolGetWorkflowState: {"session_id"},
	ToolListSessions:     {"status", "limit", "cursor"},
	ToolDeleteSession:    {"session_id"},
	ToolPauseSession:     {"session_id", "reason", "checkpoint_note"},
	ToolResumeSession:    {"session_id", "reason"},
	ToolRetryPhase:       {"session_id", "phase"},
	ToolRollbackSession:  {"session_id", "to_phase"},
	ToolGetErrors:        {"session_id", "phase"},
}

// done returns the first problem found, or nil (never a nil *argError in
// a non-nil error).
func (a *args) done() error {
	if a.err != nil {
		return a.err
	}
	return nil
}

// decodeNone checks that a tool without arguments got none.
func decodeNone(raw any) error {
	return newArgs(raw).done()
}

// decodeSearch decodes search_standards' arguments into the query they
// ask for. An absent n_results leaves Limit 0, the index's default.
func decodeSearch(raw any) (ragcache.Query, error) {
	a := newArgs(raw, toolArgs[ToolSearchStandards]...)
	q := ragcache.Query{
		Text: a.str("query", true, ragcache.MaxQueryRunes, "give the words to search for, e.g. \"error handling\""),
	}
	q.Limit, _ = a.integer("n_results", false, 1, ragcache.MaxLimit, fmt.Sprintf("omit it for %d results", ragcache.DefaultLimit))
	p, given := a.integer("phase", false, 0, maxPhase, "omit it to search every phase")
	fp, fgiven := a.integer("filter_phase", false, 0, maxPhase, "omit it to search every phase")
	switch {
	case given && fgiven:
		a.fail(badArg("filter_phase", "is prAxIs OS's name for phase; give phase or filter_phase, not both"))
	case given:
		q.Phase = &p
	case fgiven:
		q.Phase = &fp
	}
	q.Tags = a.strList("tags", ragcache.MaxTags, ragcache.MaxTagRunes, "pass tags such as [\"testing\"]")
	if ft := a.strList("filter_tags", ragcache.MaxTags, ragcache.MaxTagRunes, "pass tags such as [\"testing\"]"); ft != nil {
		if q.Tags != nil {
			a.fail(badArg("filter_tags", "is prAxIs OS's name for tags; give tags or filter_tags, not both"))
		}
		q.Tags = ft
	}
	return q, a.done()
}

// decodeSearchQuery is search_standards' decoder: decodeSearch, then the
// query's one parse into its canonical form (ragcache.ParseQuery), whose
// problems are named after the argument the caller gave.
func decodeSearchQuery(raw any) (ragcache.CanonicalQuery, error) {
	q, err := decodeSearch(raw)
	if err != nil {
		return ragcache.CanonicalQuery{}, err
	}
	cq, err := ragcache.ParseQuery(q)
	if err != nil {
		return ragcache.CanonicalQuery{}, praxisQueryField(raw, err)
	}
	return cq, nil
}

// listWorkflowsArgs are list_workflows' arguments.
type listWorkflowsArgs struct {
	// Category is "" for every workflow.
	Category string
}

func decodeListWorkflows(raw any) (listWorkflowsArgs, error) {
	a := newArgs(raw, toolArgs[ToolListWorkflows]...)
	return listWorkflowsArgs{Category: a.str("category", false, maxNameRunes, "pass a category that a workflow's metadata.json names, or omit it")}, a.done()
}

// startArgs are start_workflow's arguments.
type startArgs struct {
	// WorkflowType is parsed here, once; the engine takes it as it is.
	WorkflowType engine.WorkflowName
	TargetFile   string
	// Options is nil when not given.
	Options map[string]any
}

func decodeStart(raw any) (startArgs, error) {
	a := newArgs(raw, toolArgs[ToolStartWorkflow]...)
	wt := a.str("workflow_type", true, maxNameRunes, "call list_workflows to see the workflow types")
	v := startArgs{
		TargetFile: a.str("target_file", true, maxTargetRunes, "name the file or feature the workflow is about, e.g. \"src/login.go\""),
		Options:    a.object("options", false, "omit it or pass an object"),
	}
	if a.err == nil {
		wf, err := checkpoint.ParseWorkflowName(wt)
		if err != nil {
			a.fail(badArg("workflow_type", "%q is not a workflow name (letters, digits, '_', '-' and '.', no path); call list_workflows to see them", shorten(wt, 64)))
		}
		v.WorkflowType = wf
	}
	return v, a.done()
}

// sessionArgs are the arguments of the tools that take only a session:
// get_current_phase, get_workflow_state and delete_session.
type sessionArgs struct {
	SessionID state.SessionID
}

func decodeSession(tool string, raw any) (sessionArgs, error) {
	a := newArgs(raw, toolArgs[tool]...)
	return sessionArgs{SessionID: a.sessionID()}, a.done()
}

// taskArgs are get_task's arguments.
type taskArgs struct {
	SessionID  state.SessionID
	Phase      int
	TaskNumber int
}

func decodeTask(raw any) (taskArgs, error) {
	a := newArgs(raw, toolArgs[ToolGetTask]...)
	v := taskArgs{SessionID: a.sessionID()}
	v.Phase, _ = a.integer("phase", true, 0, maxPhase, "pass the phase number, e.g. the current_phase of get_current_phase")
	v.TaskNumber, _ = a.integer("task_number", true, 0, maxTaskNumber, "pass a task_number from the phase's tasks")
	return v, a.done()
}

// completeArgs are complete_phase's arguments.
type completeArgs struct {
	SessionID state.SessionID
	Phase     int
	Evidence  map[string]any
}

func decodeComplete(raw any) (completeArgs, error) {
	a := newArgs(raw, toolArgs[ToolCompletePhase]...)
	v := completeArgs{SessionID: a.sessionID()}
	v.Phase, _ = a.integer("phase", true, 0, maxPhase, "pass the session's current phase (get_current_phase shows it)")
	v.Evidence = a.object("evidence", true, "pass an object of the fields the phase's gate asks for, e.g. {\"summary\": \"...\"}")
	return v, a.done()
}

// maxCursorRunes bounds list_sessions' cursor argument: the cursors the
// server gives are 72 characters.
const maxCursorRunes = 128

// decodeListSessions decodes list_sessions' arguments into the page they
// ask for: Status is state.StatusActive, state.StatusCompleted,
// state.StatusGateFailed, state.StatusPaused, or "" for every session; Limit defaults to
// state.DefaultPageLimit; After is the decoded cursor, nil for the first
// page.
func decodeListSessions(raw any) (state.PageQuery, error) {
	a := newArgs(raw, toolArgs[ToolListSessions]...)
	var q state.PageQuery
	switch status := a.str("status", false, 16, "pass "+strings.Join(listStatuses, ", ")); status {
	case "", "all":
	case string(state.StatusActive), string(state.StatusCompleted), engine.StatusGateFailed, engine.StatusPaused:
		q.Status = state.Status(status)
	default:
		a.fail(badArg("status", "must be one of %s, got %q", strings.Join(listStatuses, ", "), shorten(status, 32)))
	}
	q.Limit, _ = a.integer("limit", false, 1, state.MaxPageLimit, fmt.Sprintf("omit it for %d sessions a page", state.DefaultPageLimit))
	if q.Limit == 0 {
		q.Limit = state.DefaultPageLimit
	}
	if c := a.str("cursor", false, maxCursorRunes, "pass the next_cursor of the previous page, or omit it for the first page"); c != "" && a.err == nil {
		after, err := engine.ParseCursor(c)
		if err != nil {
			a.fail(badArg("cursor", "is not a cursor this server gave; pass the next_cursor of the previous page, or omit it for the first page"))
		}
		q.After = after
	}
	return q, a.done()
}

// listStatuses are list_sessions' status values.
var listStatuses = []string{string(state.StatusActive), string(state.StatusCompleted), engine.StatusGateFailed, engine.StatusPaused, "all"}
