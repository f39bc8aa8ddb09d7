package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/server"
)

// seedSessions writes n state files into dir, as an earlier run would
// have left them, session i created i seconds after a fixed time (so the
// newest is n-1), with target_file target(i). It returns the IDs by i.
func seedSessions(t *testing.T, dir string, n int, workflow string, target func(i int) string) []string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, n)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: workflow, TargetFile: target(i), CurrentPhase: 1,
			CompletedPhases: []int{}, Status: state.StatusActive, CreatedAt: at, UpdatedAt: at}
		if i%4 == 0 {
			st.Status = state.StatusCompleted
		}
		data, err := state.EncodeState(st, 1)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, st.SessionID+".json"), data, 0o600))
		ids[i] = st.SessionID
	}
	return ids
}

type listPage struct {
	Sessions []struct {
		SessionID string `json:"session_id"`
		Status    string `json:"status"`
	} `json:"sessions"`
	Count      int    `json:"count"`
	NextCursor string `json:"next_cursor"`
}

// TestListSessionsPagesThroughTheServer: 300 sessions are listed 10 at a
// time through list_sessions and pos_workflow on a loopback server, each
// exactly once, newest first, while sessions are started and deleted
// between pages; the default page is 50; a bad cursor or limit is refused
// naming the argument.
func TestListSessionsPagesThroughTheServer(t *testing.T) {
	dir := t.TempDir()
	const n = 300
	ids := seedSessions(t, dir, n, "bug_fix", func(i int) string { return fmt.Sprintf("pkg/f%03d.go", i) })
	h := startHarness(t, harnessOpts{http: true, stateDir: dir})
	cs := h.httpClient("paging", "")

	first := decode[listPage](t, mustOK(t, cs, server.ToolListSessions, nil))
	assert.Len(t, first.Sessions, state.DefaultPageLimit, "the default page")
	assert.Equal(t, state.DefaultPageLimit, first.Count)
	assert.NotEmpty(t, first.NextCursor)
	assert.Equal(t, ids[n-1], first.Sessions[0].SessionID, "newest first")

	gone := map[string]bool{} // deleted by an earlier subtest
	for _, tool := range []string{server.ToolListSessions, server.ToolPosWorkflow} {
		t.Run(tool, func(t *testing.T) {
			seen := map[string]int{}
			deleted := map[string]bool{}
			args := map[string]any{"limit": 10}
			if tool == server.ToolPosWorkflow {
				args["action"] = "list_sessions"
			}
			for page := 0; ; page++ {
				require.Less(t, page, 2*n/10, "the listing never ends")
				p := decode[listPage](t, mustOK(t, cs, tool, args))
				require.LessOrEqual(t, len(p.Sessions), 10)
				assert.Equal(t, len(p.Sessions), p.Count)
				for _, s := range p.Sessions {
					seen[s.SessionID]++
				}
				if p.NextCursor == "" {
					break
				}
				args["cursor"] = p.NextCursor
				// Between pages: a new session (newer than all: not in
				// later pages) and the deletion of one not yet listed.
				mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": fmt.Sprintf("new-%s-%d.go", tool, page)})
				victim := ids[(page*7+3)%(n/2)]
				if seen[victim] == 0 && !deleted[victim] && !gone[victim] {
					mustOK(t, cs, server.ToolDeleteSession, map[string]any{"session_id": victim})
					deleted[victim] = true
				}
			}
			for id, c := range seen {
				require.Equal(t, 1, c, "session %s listed %d times", id, c)
			}
			for i, id := range ids {
				if !deleted[id] && !gone[id] {
					assert.Equal(t, 1, seen[id], "seeded session %d, present throughout, listed once", i)
				}
				if deleted[id] {
					assert.Zero(t, seen[id], "a session deleted before its page is not listed")
					gone[id] = true
				}
			}
		})
	}

	active := decode[listPage](t, mustOK(t, cs, server.ToolListSessions, map[string]any{"status": "active", "limit": 500}))
	for _, s := range active.Sessions {
		assert.Equal(t, "active", s.Status)
	}

	for args, want := range map[string]string{
		`{"cursor": "not-a-cursor"}`:   "cursor: is not a cursor this server gave",
		`{"cursor": "` + ids[0] + `"}`: "cursor: is not a cursor this server gave",
		`{"limit": 0}`:                 "limit: must be between 1 and 500",
		`{"limit": 100000}`:            "limit: must be between 1 and 500",
	} {
		res := callTool(t, cs, server.ToolListSessions, jsonObject(t, args))
		require.True(t, res.IsError, args)
		assert.Contains(t, textOf(res), want, args)
	}
	res := callTool(t, cs, server.ToolPosWorkflow, map[string]any{"action": "list_sessions", "cursor": "zzz"})
	require.True(t, res.IsError)
	assert.Contains(t, textOf(res), "cursor")
}

// TestCompletionWorkIsCapped: completions of target_file and session_id
// come from the newest sessions of the summary index, de-duplicated,
// whatever the number of sessions: a target used only by sessions older
// than the newest 2,000 is not offered, and 2,500 sessions over 3 targets
// give 3 values.
func TestCompletionWorkIsCapped(t *testing.T) {
	dir := t.TempDir()
	const n = 2500
	ids := seedSessions(t, dir, n, "bug_fix", func(i int) string {
		if i < 100 {
			return "old/only-in-old-sessions.go"
		}
		return fmt.Sprintf("pkg/t%d.go", i%3)
	})
	_, cs, _ := primHarness(t, "http", harnessOpts{stateDir: dir})
	complete := func(ref *mcp.CompleteReference, arg, value string) *mcp.CompleteResult {
		t.Helper()
		res, err := cs.Complete(t.Context(), &mcp.CompleteParams{Ref: ref, Argument: mcp.CompleteParamsArgument{Name: arg, Value: value}})
		require.NoError(t, err)
		return res
	}
	bug := &mcp.CompleteReference{Type: "ref/prompt", Name: "bug_fix"}
	got := complete(bug, "target_file", "")
	assert.ElementsMatch(t, []string{"pkg/t0.go", "pkg/t1.go", "pkg/t2.go"}, got.Completion.Values, "each target once, old ones beyond the scan not offered")
	assert.Equal(t, 3, got.Completion.Total)
	assert.Empty(t, complete(bug, "target_file", "old/").Completion.Values)

	resume := &mcp.CompleteReference{Type: "ref/prompt", Name: server.PromptResume}
	all := complete(resume, "session_id", "")
	assert.Len(t, all.Completion.Values, 100)
	assert.True(t, all.Completion.HasMore)
	assert.Equal(t, ids[n-1], all.Completion.Values[0], "newest first")
	assert.Equal(t, []string{ids[n-5]}, complete(resume, "session_id", ids[n-5]).Completion.Values)
}

// jsonObject decodes a JSON object of arguments.
func jsonObject(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &m))
	return m
}
