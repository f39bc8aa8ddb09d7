package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
)

// The recovery tools: the actions prAxIs OS's pos_workflow documents
// (pause, resume, retry_phase, rollback, get_errors) and never built.
const (
	ToolPauseSession    = "pause_session"
	ToolResumeSession   = "resume_session"
	ToolRetryPhase      = "retry_phase"
	ToolRollbackSession = "rollback_session"
	ToolGetErrors       = "get_errors"
)

// maxReasonRunes bounds a pause or resume reason.
const maxReasonRunes = 1000

// recoveryTools returns the recovery tools with their schemas and
// handlers.
func (s *Server) recoveryTools() []mcpserver.ServerTool {
	return []mcpserver.ServerTool{
		{Tool: mcp.NewTool(ToolPauseSession,
			mcp.WithTitleAnnotation("Pause session"),
			mcp.WithDescription("Pause a workflow session: until resume_session, complete_phase, retry_phase and rollback_session refuse it; reads still answer. The pause and its reason are saved with the session (metadata.paused, which prAxIs OS reads too). Calling it again, or retrying a call whose answer was lost, changes nothing and answers changed: false; the first reason stays."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithString("reason", mcp.MaxLength(maxReasonRunes), mcp.Description("Why the session is paused, shown to whoever resumes it.")),
			mcp.WithString("checkpoint_note", mcp.MaxLength(maxReasonRunes), mcp.Description("prAxIs OS's note for the pause; kept with the reason.")),
			mcp.WithOutputSchema[recoveryOut](),
			annotations(annot{idempotent: true}),
		), Handler: s.handlerOf(ToolPauseSession)},
		{Tool: mcp.NewTool(ToolResumeSession,
			mcp.WithTitleAnnotation("Resume session"),
			mcp.WithDescription("Resume a paused workflow session so that it accepts complete_phase, retry_phase and rollback_session again. Resuming a session that is not paused, or retrying a call whose answer was lost, changes nothing and answers changed: false."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithString("reason", mcp.MaxLength(maxReasonRunes), mcp.Description("Why the session is resumed; written to the server log.")),
			mcp.WithOutputSchema[recoveryOut](),
			annotations(annot{idempotent: true}),
		), Handler: s.handlerOf(ToolResumeSession)},
		{Tool: mcp.NewTool(ToolRetryPhase,
			mcp.WithTitleAnnotation("Retry phase"),
			mcp.WithDescription("Re-open the current phase after its gate refused the evidence: the failed evidence is set aside in the session's history, the phase's checkpoint goes back to pending, and the failed attempts stay listed by get_errors. Then submit new evidence with complete_phase. Retrying this call after it succeeded changes nothing and answers changed: false."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Required(), mcp.Min(0), mcp.Max(maxPhase), mcp.Description("The phase to retry: the session's current phase, whose gate failed.")),
			mcp.WithOutputSchema[recoveryOut](),
			annotations(annot{idempotent: true}),
		), Handler: s.handlerOf(ToolRetryPhase)},
		{Tool: mcp.NewTool(ToolRollbackSession,
			mcp.WithTitleAnnotation("Roll back session"),
			mcp.WithDescription("Move a session back to an earlier phase (or the current one): to_phase and every later phase re-open, their evidence moves to the session's history (nothing is deleted), and earlier phases keep theirs. A completed session cannot be rolled back: start a new one. A repeated call finds the session already on to_phase with nothing to re-open, changes nothing and answers changed: false; once to_phase has been completed again, the same call rolls it back again."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("to_phase", mcp.Required(), mcp.Min(0), mcp.Max(maxPhase), mcp.Description("The phase to go back to: the current phase or an earlier one.")),
			mcp.WithOutputSchema[recoveryOut](),
			annotations(annot{destructive: true, idempotent: true}),
		), Handler: s.handlerOf(ToolRollbackSession)},
		{Tool: mcp.NewTool(ToolGetErrors,
			mcp.WithTitleAnnotation("Get errors"),
			mcp.WithDescription("List a session's failed gate attempts, oldest first: the phase, the attempt number, the gate's errors, the evidence fields submitted and when. retry_phase and rollback_session keep them."),
			mcp.WithString("session_id", mcp.Required(), mcp.Description(sessionIDDesc)),
			mcp.WithInteger("phase", mcp.Min(0), mcp.Max(maxPhase), mcp.Description("Only this phase's attempts (default every phase).")),
			mcp.WithOutputSchema[errorsOut](),
			annotations(readOnly),
		), Handler: s.handlerOf(ToolGetErrors)},
	}
}

// recoveryArgs are the arguments of the recovery tools.
type recoveryArgs struct {
	SessionID state.SessionID
	Reason    string
	// Phase is retry_phase's phase, rollback_session's to_phase, or
	// get_errors' phase (-1 for every phase).
	Phase int
}

func decodeRecovery(tool string, raw any) (recoveryArgs, error) {
	a := newArgs(raw, toolArgs[tool]...)
	v := recoveryArgs{SessionID: a.sessionID(), Phase: -1}
	switch tool {
	case ToolPauseSession:
		v.Reason = a.str("reason", false, maxReasonRunes, "say in a few words why the session is paused")
		if note := a.str("checkpoint_note", false, maxReasonRunes, "a short note"); note != "" {
			v.Reason = strings.TrimSpace(v.Reason + "\n" + note)
		}
	case ToolResumeSession:
		v.Reason = a.str("reason", false, maxReasonRunes, "say in a few words why the session is resumed")
	case ToolRetryPhase:
		v.Phase, _ = a.integer("phase", true, 0, maxPhase, "pass the session's current phase (get_current_phase shows it)")
	case ToolRollbackSession:
		v.Phase, _ = a.integer("to_phase", true, 0, maxPhase, "pass the phase to go back to, at or before the current phase")
	case ToolGetErrors:
		if p, ok := a.integer("phase", false, 0, maxPhase, "omit it for every phase"); ok {
			v.Phase = p
		}
	}
	return v, a.done()
}

// recoveryOut is the result of pause_session, resume_session, retry_phase
// and rollback_session.
type recoveryOut struct {
	SessionID       string `json:"session_id"`
	WorkflowType    string `json:"workflow_type"`
	Status          string `json:"status" jsonschema:"active or completed"`
	CurrentPhase    int    `json:"current_phase"`
	CompletedPhases []int  `json:"completed_phases"`
	Paused          bool   `json:"paused" jsonschema:"whether the session refuses changes until resume_session"`
	PauseReason     string `json:"pause_reason,omitempty"`
	Changed         bool   `json:"changed" jsonschema:"false when the session already was as asked (a repeated or retried call): nothing was saved"`
	Reopened        []int  `json:"reopened" jsonschema:"the phases this call re-opened"`
	Message         string `json:"message"`
}

func newRecoveryOut(r *engine.RecoveryResult, msg string) recoveryOut {
	return recoveryOut{
		SessionID: r.SessionID, WorkflowType: r.WorkflowType, Status: string(r.Status), CurrentPhase: r.CurrentPhase,
		CompletedPhases: ints(r.CompletedPhases), Paused: r.Paused, PauseReason: r.PauseReason, Changed: r.Changed,
		Reopened: ints(r.Reopened), Message: msg,
	}
}

// failedAttemptOut is one failed gate attempt of get_errors.
type failedAttemptOut struct {
	Phase   int      `json:"phase"`
	Attempt int      `json:"attempt" jsonschema:"the phase's attempt number; it starts again at 1 after retry_phase or rollback_session"`
	Errors  []string `json:"errors" jsonschema:"what the gate refused"`
	Fields  []string `json:"fields" jsonschema:"the evidence fields submitted"`
	At      string   `json:"at" jsonschema:"RFC 3339"`
}

// errorsOut is get_errors' result.
type errorsOut struct {
	SessionID string             `json:"session_id"`
	Errors    []failedAttemptOut `json:"errors" jsonschema:"the failed gate attempts, oldest first"`
	Count     int                `json:"count"`
}

func newErrorsOut(id string, list []state.FailedAttempt) errorsOut {
	out := errorsOut{SessionID: id, Errors: make([]failedAttemptOut, len(list)), Count: len(list)}
	for i, f := range list {
		out.Errors[i] = failedAttemptOut{Phase: f.Phase, Attempt: f.Attempt, Errors: strs(f.Errors), Fields: strs(f.Fields), At: rfc3339(f.At)}
	}
	return out
}

func (s *Server) pauseSession(ctx context.Context, _ mcp.CallToolRequest, a recoveryArgs) (reply[recoveryOut], error) {
	r, err := s.cfg.Engine.Pause(ctx, a.SessionID, a.Reason)
	if err != nil {
		return reply[recoveryOut]{}, err
	}
	msg := "Session " + r.SessionID + " is paused; resume_session resumes it."
	if !r.Changed {
		msg = "Session " + r.SessionID + " was already paused; nothing changed."
	}
	return textReply(newRecoveryOut(r, msg), msg), nil
}

func (s *Server) resumeSession(ctx context.Context, _ mcp.CallToolRequest, a recoveryArgs) (reply[recoveryOut], error) {
	r, err := s.cfg.Engine.Resume(ctx, a.SessionID)
	if err != nil {
		return reply[recoveryOut]{}, err
	}
	msg := fmt.Sprintf("Session %s is resumed, on phase %d.", r.SessionID, r.CurrentPhase)
	if !r.Changed {
		msg = "Session " + r.SessionID + " was not paused; nothing changed."
	} else {
		s.log.InfoContext(ctx, "session resumed", "session_id", r.SessionID, "reason", a.Reason)
	}
	return textReply(newRecoveryOut(r, msg), msg), nil
}

func (s *Server) retryPhase(ctx context.Context, _ mcp.CallToolRequest, a recoveryArgs) (reply[recoveryOut], error) {
	r, err := s.cfg.Engine.RetryPhase(ctx, a.SessionID, a.Phase)
	if err != nil {
		return reply[recoveryOut]{}, err
	}
	msg := fmt.Sprintf("Phase %d is open again; submit new evidence with complete_phase (get_errors lists the failed attempts).", a.Phase)
	if !r.Changed {
		msg = fmt.Sprintf("Phase %d was already re-opened; nothing changed.", a.Phase)
	}
	return textReply(newRecoveryOut(r, msg), msg), nil
}

func (s *Server) rollbackSession(ctx context.Context, _ mcp.CallToolRequest, a recoveryArgs) (reply[recoveryOut], error) {
	r, err := s.cfg.Engine.Rollback(ctx, a.SessionID, a.Phase)
	if err != nil {
		return reply[recoveryOut]{}, err
	}
	msg := fmt.Sprintf("Session %s is back on phase %d; phases %v re-opened, their earlier evidence kept in the session's history.", r.SessionID, r.CurrentPhase, r.Reopened)
	if !r.Changed {
		msg = fmt.Sprintf("Session %s already is on phase %d with nothing to re-open; nothing changed.", r.SessionID, r.CurrentPhase)
	}
	return textReply(newRecoveryOut(r, msg), msg), nil
}

func (s *Server) getErrors(ctx context.Context, _ mcp.CallToolRequest, a recoveryArgs) (reply[errorsOut], error) {
	list, err := s.cfg.Engine.Errors(ctx, a.SessionID, a.Phase)
	if err != nil {
		return reply[errorsOut]{}, err
	}
	var b strings.Builder
	if len(list) == 0 {
		b.WriteString("No failed gate attempts.\n")
	}
	for _, f := range list {
		fmt.Fprintf(&b, "Phase %d, attempt %d, %s:\n", f.Phase, f.Attempt, rfc3339(f.At))
		for _, e := range f.Errors {
			b.WriteString("- " + e + "\n")
		}
	}
	return textReply(newErrorsOut(a.SessionID.String(), list), b.String()), nil
}
