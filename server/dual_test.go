package server_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/server"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

type syncBuffer = testutil.Buffer

type callOutcome struct {
	client int
	tool   string
	res    *mcp.CallToolResult
	err    error
}

// fire runs every call at once, released together by a barrier, and
// returns their outcomes.
func fire(t *testing.T, clients []*mcp.ClientSession, perClient int, pick func(client, i int) (string, map[string]any)) []callOutcome {
	t.Helper()
	out := make(chan callOutcome, len(clients)*perClient)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for ci, cs := range clients {
		for i := range perClient {
			tool, args := pick(ci, i)
			wg.Go(func() {
				<-release
				res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
				out <- callOutcome{client: ci, tool: tool, res: res, err: err}
			})
		}
	}
	close(release)
	wg.Wait()
	close(out)
	var all []callOutcome
	for o := range out {
		all = append(all, o)
	}
	return all
}

// TestDualTransportConcurrent drives one server over stdio and HTTP at
// once with the official Go SDK client: one stdio client (the IDE's agent)
// and three HTTP clients (sub-agents, on the latest protocol and on two
// session-based ones), each making over 100 concurrent calls.
func TestDualTransportConcurrent(t *testing.T) {
	logs := &syncBuffer{}
	h := startHarness(t, harnessOpts{stdio: true, http: true, logs: logs})
	t.Cleanup(func() {
		if t.Failed() {
			for l := range strings.SplitSeq(logs.String(), "\n") {
				if !strings.Contains(l, "level=DEBUG") {
					t.Log(l)
				}
			}
		}
	})
	clients := []*mcp.ClientSession{
		h.stdioClient("ide-agent", ""),
		h.httpClient("sub-agent-1", ""),
		h.httpClient("sub-agent-2", "2025-06-18"),
		h.httpClient("sub-agent-3", "2025-03-26"),
	}
	before := info(t, clients[1])
	const target = "dual/coalesce.go"
	const query = "Regression   test NAMED after the bug" // canonical form is shared

	// Round 1: the same start_workflow and the same search from every
	// client at once, with reads mixed in.
	const perClient = 120
	round1 := fire(t, clients, perClient, func(client, i int) (string, map[string]any) {
		switch i % 4 {
		case 0:
			return server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": target}
		case 1:
			// Case and spacing vary; the canonical query does not.
			q := query
			if client%2 == 1 {
				q = strings.ToLower(query)
			}
			return server.ToolSearchStandards, map[string]any{"query": q, "n_results": 3}
		case 2:
			return server.ToolListWorkflows, nil
		default:
			return server.ToolGetServerInfo, nil
		}
	})
	require.Len(t, round1, len(clients)*perClient)
	sessions := map[string]int{}
	fresh := 0
	for _, o := range round1 {
		require.NoError(t, o.err, "client %d %s: protocol error", o.client, o.tool)
		require.False(t, o.res.IsError, "client %d %s: %s", o.client, o.tool, textOf(o.res))
		if o.tool == server.ToolStartWorkflow {
			st := decode[struct {
				SessionID string `json:"session_id"`
				Resumed   bool   `json:"resumed"`
				Phase     int    `json:"current_phase"`
			}](t, o.res)
			sessions[st.SessionID]++
			if !st.Resumed {
				fresh++
			}
			assert.Equal(t, 1, st.Phase)
		}
	}
	require.Len(t, sessions, 1, "every client must get the same session")
	assert.Equal(t, 1, fresh, "exactly one start creates the session; the others resume it")
	var id string
	for k := range sessions {
		id = k
	}
	after := info(t, clients[2])
	assert.Equal(t, int64(1), after.Index.Searches-before.Index.Searches,
		"%d identical searches from 4 clients must run the index once", len(clients)*perClient/4)

	list := decode[struct {
		Sessions []struct {
			SessionID  string `json:"session_id"`
			TargetFile string `json:"target_file"`
		} `json:"sessions"`
	}](t, mustOK(t, clients[0], server.ToolListSessions, map[string]any{"status": "active"}))
	n := 0
	for _, s := range list.Sessions {
		if s.TargetFile == target {
			n++
			assert.Equal(t, id, s.SessionID)
		}
	}
	assert.Equal(t, 1, n, "one session on disk for the target")

	// Round 2: every client completes phase 1 of that session at once.
	const perClient2 = 30
	// Each call submits its own evidence: the same evidence again would
	// be a retry, answered as the first call was.
	round2 := fire(t, clients, perClient2, func(c, i int) (string, map[string]any) {
		ev := validRepro()
		ev["note"] = fmt.Sprintf("client %d call %d", c, i)
		return server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 1, "evidence": ev}
	})
	advanced := 0
	for _, o := range round2 {
		require.NoError(t, o.err, "client %d: complete_phase must never be a protocol error", o.client)
		if o.res.IsError {
			// The losers are told the phase moved on, by name.
			assert.Nil(t, o.res.StructuredContent, "an error result carries no structured content")
			assert.Contains(t, textOf(o.res), "phase", "loser's error should name the phase")
			continue
		}
		r := decode[struct {
			Passed    bool `json:"checkpoint_passed"`
			Completed bool `json:"phase_completed"`
			Next      *int `json:"next_phase"`
		}](t, o.res)
		if r.Completed {
			advanced++
			require.NotNil(t, r.Next)
			assert.Equal(t, 2, *r.Next)
		}
	}
	assert.Equal(t, 1, advanced, "exactly one of %d concurrent complete_phase calls advances the session", len(round2))
	st := decode[struct {
		CurrentPhase    int               `json:"current_phase"`
		CompletedPhases []int             `json:"completed_phases"`
		Checkpoints     map[string]string `json:"checkpoints"`
	}](t, mustOK(t, clients[3], server.ToolGetWorkflowState, map[string]any{"session_id": id}))
	assert.Equal(t, 2, st.CurrentPhase)
	assert.Equal(t, []int{1}, st.CompletedPhases)
	assert.Equal(t, "passed", st.Checkpoints["1"])

	// Both transports were counted and logged.
	final := info(t, clients[0])
	for _, tr := range []string{server.TransportStdio, server.TransportHTTP} {
		assert.Positive(t, final.Tools[server.ToolStartWorkflow][tr].Calls, "start_workflow over %s", tr)
		assert.Positive(t, final.Tools[server.ToolCompletePhase][tr].Calls, "complete_phase over %s", tr)
	}
	assert.Equal(t, int64(perClient/4), final.Tools[server.ToolStartWorkflow][server.TransportStdio].Calls)
	assert.Equal(t, int64(3*perClient/4), final.Tools[server.ToolStartWorkflow][server.TransportHTTP].Calls)
	out := logs.String()
	for _, want := range []string{
		`msg="tool call" tool=start_workflow transport=stdio client=ide-agent session=stdio`,
		`msg="tool call" tool=complete_phase transport=http client=sub-agent-2 session=mcp-session-`,
		`msg="tool call" tool=search_standards transport=http client=sub-agent-1 session=127.0.0.1:`,
	} {
		assert.Contains(t, out, want)
	}
	assert.Contains(t, out, "duration=")

	// Closing the stdio client ends stdin: the whole server stops cleanly.
	require.NoError(t, clients[0].Close())
	require.NoError(t, h.wait(5*time.Second))
}

// gatedStore holds every Load until released, so that concurrent callers
// of a cold session pile up behind one load.
type gatedStore struct {
	state.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedStore) Load(ctx context.Context, id string) (*state.SessionState, state.Version, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.Store.Load(ctx, id)
}

// TestCoalescedSessionLoadLogsBothCallers: when clients on both transports
// ask for a session that is not in memory at the same moment, the state
// file is read once, and the engine logs the loader and a waiter by
// transport and client, which the server passes down.
func TestCoalescedSessionLoadLogsBothCallers(t *testing.T) {
	dir := t.TempDir()
	first, err := engine.New(engine.Config{StateDir: dir})
	require.NoError(t, err)
	started, err := first.Start(t.Context(), engine.MustParseWorkflowName("bug_fix"), "cold/session.go", nil)
	require.NoError(t, err)
	require.NoError(t, first.Close())

	fileStore, err := filestore.New(dir)
	require.NoError(t, err)
	store := &gatedStore{Store: fileStore, entered: make(chan struct{}), release: make(chan struct{})}
	logs := &syncBuffer{}
	h := startHarness(t, harnessOpts{stdio: true, http: true, stateDir: dir, store: store, logs: logs})
	clients := []*mcp.ClientSession{
		h.stdioClient("ide-agent", ""),
		h.httpClient("sub-agent-1", ""),
		h.httpClient("sub-agent-2", "2025-06-18"),
		h.httpClient("sub-agent-3", ""),
	}
	done := make(chan callOutcome, len(clients))
	for i, cs := range clients {
		go func() {
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolGetCurrentPhase, Arguments: map[string]any{"session_id": started.SessionID}})
			done <- callOutcome{client: i, res: res, err: err}
		}()
	}
	<-store.entered
	// Every other caller must be waiting on the load before it finishes.
	deadline := time.Now().Add(20 * time.Second)
	for h.eng.Metrics()["sessions"].Coalesced < int64(len(clients)-1) {
		require.True(t, time.Now().Before(deadline), "callers never piled up behind the load")
		runtime.Gosched()
	}
	close(store.release)
	for range clients {
		o := <-done
		require.NoError(t, o.err)
		require.False(t, o.res.IsError, textOf(o.res))
	}
	m := h.eng.Metrics()["sessions"]
	assert.Equal(t, int64(1), m.Loads, "one state-file read")
	out := logs.String()
	require.Contains(t, out, "session load coalesced")
	line := ""
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, "session load coalesced") {
			line = l
			break
		}
	}
	assert.Regexp(t, `loader=(stdio/ide-agent@stdio|http/sub-agent-\d@\S+)`, line)
	assert.Regexp(t, `waiter=(stdio/ide-agent@stdio|http/sub-agent-\d@\S+)`, line)
}
