package redisstore_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/redisstore/redistest"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// replica is one `mcpflow serve --transport http` process.
type replica struct {
	url  string
	cmd  *exec.Cmd
	logs *strings.Builder
	mu   *sync.Mutex
}

// startReplica runs a replica on a free port with its state in Redis and
// stops it (SIGTERM) at cleanup.
func startReplica(t *testing.T, bin, stateURL string) *replica {
	t.Helper()
	root := t.TempDir()
	addrFile := filepath.Join(root, "addr")
	cmd := exec.Command(bin, "serve", "--transport", "http", "--http", "127.0.0.1:0", "--addr-file", addrFile,
		"--root", root, "--state", stateURL, "--watch=false")
	cmd.Env = append(os.Environ(), "MCPFLOW_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	r := &replica{cmd: cmd, logs: &strings.Builder{}, mu: &sync.Mutex{}}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	urlc := make(chan string, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.logs.WriteString(line + "\n")
			r.mu.Unlock()
			if _, u, ok := strings.Cut(line, "url="); ok && strings.Contains(line, "serving MCP") {
				select {
				case urlc <- strings.Fields(u)[0]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			if err != nil {
				t.Logf("replica exit: %v\n%s", err, r.log())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Logf("replica killed after 10 s: %v", <-waited)
		}
		<-done
	})
	select {
	case r.url = <-urlc:
	case <-done:
		t.Fatalf("replica exited:\n%s", r.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("replica not listening after 60s:\n%s", r.log())
	}
	return r
}

func (r *replica) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// client connects a Go SDK client to r.
func (r *replica) client(t *testing.T, name string) *mcp.ClientSession {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint: r.url, HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1, DisableStandaloneSSE: true,
	}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// call calls a tool and decodes its structured result; isError results
// come back as an error holding their text.
func call[T any](t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (T, error) {
	t.Helper()
	var v T
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return v, err
	}
	if res.IsError {
		var text []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				text = append(text, tc.Text)
			}
		}
		return v, fmt.Errorf("%s: %s", tool, strings.Join(text, " "))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	return v, err
}

type startOut struct {
	SessionID string `json:"session_id"`
	Resumed   bool   `json:"resumed"`
}

type completeOut struct {
	PhaseCompleted   bool `json:"phase_completed"`
	CheckpointPassed bool `json:"checkpoint_passed"`
}

type stateOut struct {
	CurrentPhase    int               `json:"current_phase"`
	CompletedPhases []int             `json:"completed_phases"`
	Checkpoints     map[string]string `json:"checkpoints"`
	UpdatedAt       string            `json:"updated_at"`
}

// TestTwoReplicasEndToEnd runs two `mcpflow serve --transport http`
// processes built from this tree on one redis-server. Go SDK clients on
// both race start_workflow for one pair (one session), then
// complete_phase (exactly one advance); then each submission on replica
// A is seen by get_workflow_state on replica B within a bound.
func TestTwoReplicasEndToEnd(t *testing.T) {
	bin := testutil.Binary(t)
	srv := redistest.Start(t)
	stateURL := srv.URL(0, "e2e")
	reps := []*replica{startReplica(t, bin, stateURL), startReplica(t, bin, stateURL)}
	const perReplica = 6
	var clients []*mcp.ClientSession
	for i := range 2 * perReplica {
		clients = append(clients, reps[i%2].client(t, fmt.Sprintf("agent-%d", i)))
	}

	// Race start_workflow for one pair from both replicas.
	ids := make([]startOut, len(clients))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, cs := range clients {
		wg.Go(func() {
			<-release
			out, err := call[startOut](t, cs, "start_workflow", map[string]any{"workflow_type": "bug_fix", "target_file": "internal/lexer/lexer.go"})
			if err != nil {
				t.Errorf("client %d: %v", i, err)
			}
			ids[i] = out
		})
	}
	close(release)
	wg.Wait()
	fresh := 0
	for i := range ids {
		assert.Equal(t, ids[0].SessionID, ids[i].SessionID, "client %d got the one session", i)
		if !ids[i].Resumed {
			fresh++
		}
	}
	require.Equal(t, 1, fresh, "one start created the session, the others resumed it")
	id := ids[0].SessionID

	// Race complete_phase with passing evidence from both replicas.
	advanced := make([]bool, len(clients))
	errs := make([]error, len(clients))
	release = make(chan struct{})
	for i, cs := range clients {
		wg.Go(func() {
			<-release
			out, err := call[completeOut](t, cs, "complete_phase", map[string]any{"session_id": id, "phase": 1, "evidence": clientEvidence(i)})
			advanced[i], errs[i] = out.PhaseCompleted, err
		})
	}
	close(release)
	wg.Wait()
	n := 0
	for i := range clients {
		if advanced[i] {
			n++
			continue
		}
		require.Error(t, errs[i], "client %d neither advanced nor failed", i)
		assert.Contains(t, errs[i].Error(), "already completed", "client %d", i)
	}
	assert.Equal(t, 1, n, "exactly one advance")
	for _, r := range reps {
		st, err := call[stateOut](t, r.client(t, "check"), "get_workflow_state", map[string]any{"session_id": id})
		require.NoError(t, err)
		assert.Equal(t, []int{1}, st.CompletedPhases)
		assert.Equal(t, 2, st.CurrentPhase)
	}

	// Staleness: a submission through A, then B polls until it sees it.
	a, b := clients[0], clients[1]
	const rounds = 200
	const bound = time.Second
	lags := make([]time.Duration, 0, rounds)
	for round := range rounds {
		before, err := call[stateOut](t, b, "get_workflow_state", map[string]any{"session_id": id})
		require.NoError(t, err)
		out, err := call[completeOut](t, a, "complete_phase", map[string]any{"session_id": id, "phase": 2, "evidence": map[string]any{"root_cause": "x"}})
		require.NoError(t, err)
		require.False(t, out.CheckpointPassed)
		acked := time.Now()
		for {
			now, err := call[stateOut](t, b, "get_workflow_state", map[string]any{"session_id": id})
			require.NoError(t, err)
			if now.UpdatedAt != before.UpdatedAt {
				assert.Equal(t, "failed", now.Checkpoints["2"])
				break
			}
			require.Less(t, time.Since(acked), bound, "round %d: replica B does not show A's submission after %v", round, bound)
		}
		lags = append(lags, time.Since(acked))
	}
	slices.Sort(lags)
	t.Logf("replica B showed replica A's submission after: p50 %v, p99 %v, max %v (%d rounds; includes one get_workflow_state round trip)",
		lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1], rounds)

	// Each replica's get_server_info shows its store's counters.
	for i, r := range reps {
		info, err := call[struct {
			StateStore struct {
				Kind  string `json:"kind"`
				Redis *struct {
					Saves         int64 `json:"saves"`
					CASConflicts  int64 `json:"cas_conflicts"`
					Invalidations int64 `json:"invalidations"`
				} `json:"redis"`
			} `json:"state_store"`
		}](t, r.client(t, "info"), "get_server_info", nil)
		require.NoError(t, err)
		assert.Equal(t, "redis", info.StateStore.Kind)
		require.NotNil(t, info.StateStore.Redis, "replica %d", i)
		t.Logf("replica %d: %+v", i, *info.StateStore.Redis)
	}
}
