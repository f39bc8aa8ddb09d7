package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// approvalWorkflows is a workflows folder with "review": two phases,
// phase 0's gate requiring a human's approval.
func approvalWorkflows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteApprovalWorkflow(t, dir, testutil.ApprovalOnly)
	return dir
}

// elicitingClient connects the official Go SDK's client, which declares
// the elicitation capability and answers with answer.
func elicitingClient(t *testing.T, h *harness, answer func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error)) *mcp.ClientSession {
	t.Helper()
	return elicitingClientOn(t, h, "2025-06-18", answer)
}

// elicitingClientOn is elicitingClient on protocol revision version.
func elicitingClientOn(t *testing.T, h *harness, version string, answer func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error)) *mcp.ClientSession {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := mcp.NewClient(&mcp.Implementation{Name: "ide", Version: "1"}, &mcp.ClientOptions{ElicitationHandler: answer})
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: h.url, HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1},
		&mcp.ClientSessionOptions{ProtocolVersion: version})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

type phaseNow struct {
	Phase     int  `json:"current_phase"`
	Awaiting  bool `json:"awaiting_approval"`
	Rejection *struct {
		By      string `json:"by"`
		Comment string `json:"comment"`
	} `json:"rejection"`
}

// TestElicitApproval: a client that declared elicitation is asked, within
// complete_phase, to approve; approve moves the session on in that very
// call, reject keeps the phase with the comment, a dismissed form and no
// answer before the timeout leave the phase pending.
func TestElicitApproval(t *testing.T) {
	// unanswered holds the timeout case's form open until the server has
	// given up; the human answers nothing before then.
	unanswered := make(chan struct{})
	cases := []struct {
		name     string
		answer   func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error)
		phase    int
		awaiting bool
		text     string
		comment  string
	}{
		{"approve", func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			if !strings.Contains(req.Params.Message, "phase 0 of review on a.go") {
				return &mcp.ElicitResult{Action: "cancel"}, nil
			}
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": "approve", "name": "ana"}}, nil
		}, 1, false, "approved by ana. Now phase 1", ""},
		{"reject", func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": "reject", "comment": "name the tests"}}, nil
		}, 0, false, "REJECTED by IDE user (ide): name the tests", "name the tests"},
		{"dismissed", func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "cancel"}, nil
		}, 0, true, "dismissed in the IDE; the phase stays pending", ""},
		{"timeout", func(ctx context.Context, _ *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			select {
			case <-unanswered:
			case <-ctx.Done():
			}
			return &mcp.ElicitResult{Action: "cancel"}, nil
		}, 0, true, "no answer in the IDE within 200ms; the phase stays pending", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, harnessOpts{http: true, workflows: approvalWorkflows(t), tweak: func(c *server.Config) { c.ElicitTimeout = 200 * time.Millisecond }})
			cs := elicitingClient(t, h, tc.answer)
			if tc.name == "timeout" {
				// Released when the subtest ends, before the client
				// closes: a late answer is the client's to send.
				defer close(unanswered)
			}
			started := decode[struct {
				ID string `json:"session_id"`
			}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "a.go"}))
			res := mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": started.ID, "phase": 0, "evidence": map[string]any{}})
			assert.Contains(t, textOf(res), tc.text)
			p := decode[phaseNow](t, mustOK(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": started.ID}))
			assert.Equal(t, tc.phase, p.Phase)
			assert.Equal(t, tc.awaiting, p.Awaiting)
			if tc.comment != "" {
				require.NotNil(t, p.Rejection)
				assert.Equal(t, tc.comment, p.Rejection.Comment)
			}
		})
	}
}

// A decision taken in the dashboard (or from the shell) while the IDE's
// form is open ends the wait: complete_phase answers at once.
func TestElicitEndsWhenDecidedElsewhere(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, workflows: approvalWorkflows(t)})
	release := make(chan struct{})
	var sid atomic.Value // the session's ID, set before complete_phase asks
	cs := elicitingClient(t, h, func(ctx context.Context, _ *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		// The reviewer approves in the dashboard instead of in the IDE.
		if _, err := h.eng.Decide(ctx, state.MustParseSessionID(sid.Load().(string)), 0, state.DecisionApproved, "dash", ""); err != nil {
			t.Errorf("decide: %v", err)
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &mcp.ElicitResult{Action: "cancel"}, nil
	})
	defer close(release)
	started := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "a.go"}))
	id := started.ID
	sid.Store(id)
	res := mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 0, "evidence": map[string]any{}})
	assert.Contains(t, textOf(res), "a decision was taken elsewhere")
	p := decode[phaseNow](t, mustOK(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": id}))
	assert.Equal(t, 1, p.Phase)
}

// On the 2026-07-28 revision complete_phase answers input_required with
// the approval form; the official client shows it (its elicitation
// handler) and calls again with the answer, which decides.
func TestElicitApprovalInputRequired(t *testing.T) {
	for _, tc := range []struct {
		decision string
		phase    int
		text     string
	}{
		{"approve", 1, "approved by ana. Now phase 1"},
		{"reject", 0, "REJECTED by ana: name the tests"},
	} {
		t.Run(tc.decision, func(t *testing.T) {
			h := startHarness(t, harnessOpts{http: true, workflows: approvalWorkflows(t)})
			asked := 0
			cs := elicitingClientOn(t, h, "2026-07-28", func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
				asked++
				if !strings.Contains(req.Params.Message, "phase 0 of review") {
					return &mcp.ElicitResult{Action: "cancel"}, nil
				}
				return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": tc.decision, "name": "ana", "comment": "name the tests"}}, nil
			})
			started := decode[struct {
				ID string `json:"session_id"`
			}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "a.go"}))
			res := mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": started.ID, "phase": 0, "evidence": map[string]any{}})
			assert.Contains(t, textOf(res), tc.text)
			assert.Equal(t, 1, asked, "one form")
			p := decode[phaseNow](t, mustOK(t, cs, server.ToolGetCurrentPhase, map[string]any{"session_id": started.ID}))
			assert.Equal(t, tc.phase, p.Phase)
			assert.False(t, p.Awaiting)
		})
	}
}

// TestPosWorkflowApprovalInputRequired: pos_workflow's complete_phase on
// the 2026-07-28 revision passes complete_phase's input_required through
// (it has no structured content to turn into prAxIs OS's reply), and the
// call with the answer replies as prAxIs OS does. It once failed: the
// request for input reached the reply mapping, which has nothing to map.
func TestPosWorkflowApprovalInputRequired(t *testing.T) {
	h := startHarness(t, harnessOpts{http: true, workflows: approvalWorkflows(t)})
	asked := 0
	cs := elicitingClientOn(t, h, "2026-07-28", func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		asked++
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": "approve", "name": "ana"}}, nil
	})
	started := decode[struct {
		ID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "a.go"}))
	res := mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "complete_phase", "session_id": started.ID, "phase": 0, "evidence": map[string]any{}})
	assert.Contains(t, textOf(res), "approved by ana. Now phase 1")
	assert.Equal(t, 1, asked, "one form")
	got := decode[struct {
		Status         string `json:"status"`
		Action         string `json:"action"`
		PhaseCompleted int    `json:"phase_completed"`
	}](t, res)
	assert.Equal(t, "success", got.Status)
	assert.Equal(t, "complete_phase", got.Action)
}
