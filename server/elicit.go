package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/server/internal/telemetry"
)

// DefaultElicitTimeout is how long complete_phase waits for the human's
// answer to its approval request (MCP elicitation) before it answers that
// the phase stays pending.
const DefaultElicitTimeout = 10 * time.Minute

// approvalSchema is the form the IDE shows: approve or reject, a comment,
// and who decides.
var approvalSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"decision": map[string]any{"type": "string", "enum": []string{"approve", "reject"}, "title": "Decision",
			"description": "approve lets the agent go on to the next phase; reject keeps this phase open"},
		"comment": map[string]any{"type": "string", "title": "Comment", "description": "why; the agent reads it first on a rejection"},
		"name":    map[string]any{"type": "string", "title": "Your name", "description": "kept in the session's history"},
	},
	"required": []string{"decision"},
}

// canElicit reports whether the client of ctx declared the elicitation
// capability.
func canElicit(ctx context.Context) bool {
	sc, ok := mcpserver.ClientSessionFromContext(ctx).(mcpserver.SessionWithClientInfo)
	return ok && sc.GetClientCapabilities().Elicitation != nil
}

// elicitOutcome is what asking the human in the IDE gave.
type elicitOutcome struct {
	// decided is the decision taken, nil when the phase still awaits one.
	decided *engine.DecisionResult
	// note says why there is no decision (timeout, dismissed, ...).
	note string
}

// elicitApproval asks the human in the client's IDE, with elicitation/create
// (the 2025 protocol revisions), to approve or reject the phase of r that
// awaits approval, waiting at most ElicitTimeout, and records the answer.
// A decision taken meanwhile elsewhere (the dashboard, the command line)
// ends the wait. On a timeout or a dismissed form the phase stays pending.
// (A client on the 2026-07-28 revision is asked with an input_required
// result instead; see completePhase.)
func (s *Server) elicitApproval(ctx context.Context, r *engine.CompleteResult) elicitOutcome {
	ectx, cancel := context.WithTimeout(ctx, s.cfg.ElicitTimeout)
	defer cancel()
	decidedElsewhere := make(chan struct{})
	go s.watchDecision(ectx, r.ID(), r.Phase, decidedElsewhere, cancel)
	res, err := s.mcp.RequestElicitation(ectx, mcp.ElicitationRequest{Params: s.approvalForm(ctx, r)})
	select {
	case <-decidedElsewhere:
		return elicitOutcome{note: "a decision was taken elsewhere"}
	default:
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ectx.Err(), context.DeadlineExceeded):
		return elicitOutcome{note: fmt.Sprintf("no answer in the IDE within %v", s.cfg.ElicitTimeout)}
	case err != nil:
		s.log.Debug("approval not asked through elicitation", "session_id", r.SessionID, "err", err)
		return elicitOutcome{note: "the IDE could not be asked (" + err.Error() + ")"}
	}
	return s.recordAnswer(ctx, r, res)
}

// recordAnswer records the human's answer to the approval form, res, as
// a decision on r's phase.
func (s *Server) recordAnswer(ctx context.Context, r *engine.CompleteResult, res *mcp.ElicitationResult) elicitOutcome {
	_, client, _ := telemetry.Caller(ctx)
	content, _ := res.Content.(map[string]any)
	str := func(k string) string { v, _ := content[k].(string); return strings.TrimSpace(v) }
	by := str("name")
	if by == "" {
		by = "IDE user"
		if client != "" {
			by += " (" + client + ")"
		}
	}
	var decision, comment string
	switch {
	case res.Action == mcp.ElicitationResponseActionAccept && str("decision") == "approve":
		decision, comment = state.DecisionApproved, str("comment")
	case res.Action == mcp.ElicitationResponseActionAccept && str("decision") == "reject",
		res.Action == mcp.ElicitationResponseActionDecline:
		decision, comment = state.DecisionRejected, str("comment")
		if comment == "" {
			comment = "rejected in the IDE, without a comment"
		}
	default:
		return elicitOutcome{note: "the approval form was dismissed in the IDE"}
	}
	d, err := s.cfg.Engine.Decide(ctx, r.ID(), r.Phase, decision, by, comment)
	if err != nil {
		return elicitOutcome{note: "the IDE's answer was not recorded: " + err.Error()}
	}
	return elicitOutcome{decided: d}
}

// approvalInputID names the approval form among a 2026-07-28
// input_required result's input requests.
const approvalInputID = "mcpflow_approval"

// approvalForm is the elicitation that asks to approve r's phase.
func (s *Server) approvalForm(ctx context.Context, r *engine.CompleteResult) mcp.ElicitationParams {
	return mcp.ElicitationParams{
		Message: fmt.Sprintf("The agent finished phase %d of %s on %s and its evidence passed the gate. Approve it so that the agent goes on, or reject it with a comment.",
			r.Phase, r.WorkflowType, s.targetOf(ctx, r.ID())),
		RequestedSchema: approvalSchema,
	}
}

// modernClient reports whether the call came on the 2026-07-28 revision
// (or later), whose clients are asked with an input_required result
// rather than a server-initiated request.
func modernClient(ctx context.Context) bool {
	return mcp.IsModernProtocol(mcpserver.RequestProtocolVersion(ctx))
}

// watchDecision ends an elicitation (cancel) when phase of session id no
// longer awaits approval: decided in the dashboard or from the command
// line. Changes of this process are seen at once, others' within a second.
func (s *Server) watchDecision(ctx context.Context, id state.SessionID, phase int, decided chan<- struct{}, cancel context.CancelFunc) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		changed := s.cfg.Engine.Changed()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
		st, err := s.cfg.Engine.State(ctx, id)
		if err != nil {
			continue
		}
		if st.Awaiting == nil || st.Awaiting.Phase != phase {
			close(decided)
			cancel()
			return
		}
	}
}

// targetOf returns the session's target file, for the question's text.
func (s *Server) targetOf(ctx context.Context, id state.SessionID) string {
	st, err := s.cfg.Engine.State(ctx, id)
	if err != nil {
		return "its target"
	}
	return st.TargetFile
}
