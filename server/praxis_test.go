package server_test

import (
	"context"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	samples "github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

const threadSafetySpec = ".praxis-os/specs/2025-10-13-thread-safety"

// praxisLayout lays out a prAxIs OS project: .praxis-os/workflows holding
// the built-in spec_execution_v1 without its example spec, and the
// thread-safety spec this project started from under .praxis-os/specs.
func praxisLayout(t *testing.T) (root, workflows string) {
	t.Helper()
	root = t.TempDir()
	workflows = filepath.Join(root, ".praxis-os", "workflows")
	sub, err := fs.Sub(samples.BuiltinWorkflows(), "spec_execution_v1")
	require.NoError(t, err)
	wf := filepath.Join(workflows, "spec_execution_v1")
	require.NoError(t, os.CopyFS(wf, sub))
	meta, err := os.ReadFile(filepath.Join(wf, "metadata.json"))
	require.NoError(t, err)
	meta = regexp.MustCompile(`,\s*"example_spec": "[^"]*"`).ReplaceAll(meta, nil)
	require.NoError(t, os.WriteFile(filepath.Join(wf, "metadata.json"), meta, 0o644))
	tasks, err := os.ReadFile(filepath.Join("..", "spec", "testdata", "tasks-thread-safety.md"))
	require.NoError(t, err)
	dir := filepath.Join(root, filepath.FromSlash(threadSafetySpec))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tasks.md"), tasks, 0o644))
	return root, workflows
}

// praxisClient serves a prAxIs OS project over streamable HTTP on
// 127.0.0.1 with output schema validation on, and connects a Go SDK client.
func praxisClient(t *testing.T) *mcp.ClientSession {
	t.Helper()
	root, workflows := praxisLayout(t)
	return praxisClientIn(t, root, workflows)
}

// praxisClientIn is praxisClient for a project laid out by praxisLayout.
func praxisClientIn(t *testing.T, root, workflows string) *mcp.ClientSession {
	t.Helper()
	eng, err := engine.New(engine.Config{WorkflowsDir: workflows, ProjectDir: root, StateDir: filepath.Join(root, ".praxis-os", "state")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	ix, err := ragcache.Open(t.Context(), ragcache.Config{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ix.Close() })
	srv, err := server.New(server.Config{Engine: eng, Index: ix, HTTPAddr: "127.0.0.1:0", ValidateOutput: true, ReadHeaderTimeout: time.Minute})
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, nil, nil) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := mcp.NewClient(&mcp.Implementation{Name: "praxis", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: srv.URL(), HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1, DisableStandaloneSSE: true}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

type praxisTask struct {
	TaskNumber int    `json:"task_number"`
	Name       string `json:"name"`
	TaskID     string `json:"task_id"`
	Title      string `json:"title"`
}

type praxisPhase struct {
	CurrentPhase     int          `json:"current_phase"`
	PhaseNumber      *int         `json:"phase_number"`
	PhaseName        string       `json:"phase_name"`
	PhaseContent     string       `json:"phase_content"`
	TotalPhases      int          `json:"total_phases"`
	Tasks            []praxisTask `json:"tasks"`
	WorkflowComplete bool         `json:"workflow_complete"`
}

var evidenceField = regexp.MustCompile("(?m)^- \\[ \\] `([a-z0-9_]+)`:")

// runSpecExecution runs spec_execution_v1 on the thread-safety spec from
// start to completion through call, which takes an action name (start,
// get_phase, get_task, complete_phase, get_state) and its arguments, and
// returns the number of tasks read.
func runSpecExecution(t *testing.T, cs *mcp.ClientSession, target string, call func(action string, args map[string]any) *mcp.CallToolResult) int {
	t.Helper()
	start := decode[struct {
		SessionID    string `json:"session_id"`
		CurrentPhase int    `json:"current_phase"`
		TotalPhases  int    `json:"total_phases"`
		Resumed      bool   `json:"resumed"`
	}](t, call("start", map[string]any{"workflow_type": "spec_execution_v1", "target_file": target, "options": map[string]any{"spec_path": threadSafetySpec}}))
	require.False(t, start.Resumed)
	require.Equal(t, 0, start.CurrentPhase)
	require.Equal(t, 5, start.TotalPhases, "phase 0 and the spec's 4 phases")
	id := start.SessionID

	wantTasks := map[int]int{0: 3, 1: 4, 2: 3, 3: 5, 4: 3}
	tasksRead := 0
	for p := 0; p <= 4; p++ {
		ph := decode[praxisPhase](t, call("get_phase", map[string]any{"session_id": id}))
		require.Equal(t, p, ph.CurrentPhase)
		require.Len(t, ph.Tasks, wantTasks[p], "phase %d", p)
		assert.NotContains(t, ph.PhaseContent, "[PHASE_", "phase %d: placeholders are rendered", p)
		evidence := map[string]any{"spec_read": true, "phases_found": 4, "plan_summary": "phase by phase, tasks in dependency order"}
		if p > 0 {
			assert.Contains(t, ph.PhaseContent, "# Phase "+strconv.Itoa(p)+" of 4: "+ph.PhaseName)
			evidence = map[string]any{}
			for _, m := range evidenceField.FindAllStringSubmatch(ph.PhaseContent, -1) {
				evidence[m[1]] = true
			}
			require.Len(t, evidence, 3, "phase %d's gate has three items", p)
		}
		for _, task := range ph.Tasks {
			tv := decode[struct {
				Phase      int    `json:"phase"`
				TaskNumber int    `json:"task_number"`
				TaskName   string `json:"task_name"`
				Content    string `json:"content"`
			}](t, call("get_task", map[string]any{"session_id": id, "phase": p, "task_number": task.TaskNumber}))
			require.Equal(t, task.Name, tv.TaskName)
			require.NotEmpty(t, tv.Content)
			if p > 0 {
				assert.Contains(t, tv.Content, "# Task "+strconv.Itoa(p)+"."+strconv.Itoa(task.TaskNumber)+": "+task.Name)
				assert.NotContains(t, tv.Content, "[TASK_")
			}
			tasksRead++
		}
		// A gate item set to false does not pass.
		if p > 0 {
			for k := range evidence {
				evidence[k] = false
				break
			}
			res := decode[struct {
				CheckpointPassed bool `json:"checkpoint_passed"`
			}](t, call("complete_phase", map[string]any{"session_id": id, "phase": p, "evidence": evidence}))
			require.False(t, res.CheckpointPassed)
			for k := range evidence {
				evidence[k] = true
			}
		}
		res := decode[struct {
			CheckpointPassed bool `json:"checkpoint_passed"`
			NextPhase        *int `json:"next_phase"`
			WorkflowComplete bool `json:"workflow_complete"`
		}](t, call("complete_phase", map[string]any{"session_id": id, "phase": p, "evidence": evidence}))
		require.True(t, res.CheckpointPassed, "phase %d", p)
		require.Equal(t, p == 4, res.WorkflowComplete)
		if p < 4 {
			require.NotNil(t, res.NextPhase)
			require.Equal(t, p+1, *res.NextPhase)
		}
	}
	st := decode[struct {
		CompletedPhases []int `json:"completed_phases"`
		TotalPhases     int   `json:"total_phases"`
		IsComplete      bool  `json:"is_complete"`
	}](t, call("get_state", map[string]any{"session_id": id}))
	assert.True(t, st.IsComplete)
	assert.Equal(t, 5, st.TotalPhases)
	assert.Equal(t, []int{0, 1, 2, 3, 4}, st.CompletedPhases)
	return tasksRead
}

// nativeTools maps the actions of runSpecExecution to mcpflow's own tools.
var nativeTools = map[string]string{
	"start": server.ToolStartWorkflow, "get_phase": server.ToolGetCurrentPhase, "get_task": server.ToolGetTask,
	"complete_phase": server.ToolCompletePhase, "get_state": server.ToolGetWorkflowState,
}

// TestSpecExecutionOverSDK runs the whole of spec_execution_v1 over the
// shipped thread-safety spec through the Go SDK client, once with
// mcpflow's own tools and once with pos_workflow: start with spec_path,
// every phase and every one of the 18 tasks (3 of phase 0 and the spec's
// 15) read, every phase completed with its gate evidence, completion.
func TestSpecExecutionOverSDK(t *testing.T) {
	cs := praxisClient(t)
	n := runSpecExecution(t, cs, "native", func(action string, args map[string]any) *mcp.CallToolResult {
		return mustOK(t, cs, nativeTools[action], args)
	})
	assert.Equal(t, 18, n)
	n = runSpecExecution(t, cs, "pos", func(action string, args map[string]any) *mcp.CallToolResult {
		a := map[string]any{"action": action}
		maps.Copy(a, args)
		return mustOK(t, cs, server.ToolPosWorkflow, a)
	})
	assert.Equal(t, 18, n)
	specs, ok := info(t, cs).Caches["specs"]
	require.True(t, ok, "get_server_info shows the spec plan cache")
	assert.Positive(t, specs.Hits, "the plan is served from the cache")
	assert.Positive(t, specs.Loads)
}

// TestPosWorkflowIsTheSameEngineCall: pos_workflow's start resumes the
// session start_workflow created, and its replies add prAxIs OS's fields
// (phase_completed as a number) to mcpflow's.
func TestPosWorkflowIsTheSameEngineCall(t *testing.T) {
	cs := praxisClient(t)
	args := map[string]any{"workflow_type": "spec_execution_v1", "target_file": "same", "options": map[string]any{"spec_path": threadSafetySpec}}
	first := decode[struct {
		SessionID string `json:"session_id"`
	}](t, mustOK(t, cs, server.ToolStartWorkflow, args))
	args["action"] = "start"
	again := decode[struct {
		SessionID string       `json:"session_id"`
		Resumed   bool         `json:"resumed"`
		Tasks     []praxisTask `json:"tasks"`
	}](t, mustOK(t, cs, server.ToolPosWorkflow, args))
	assert.Equal(t, first.SessionID, again.SessionID)
	assert.True(t, again.Resumed)
	assert.Equal(t, praxisTask{TaskNumber: 1, Name: "Locate the spec", TaskID: "0.1", Title: "Locate the spec"}, again.Tasks[0])
	id := first.SessionID

	ph := decode[praxisPhase](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "get_current_phase", "session_id": id}))
	require.NotNil(t, ph.PhaseNumber)
	assert.Equal(t, 0, *ph.PhaseNumber)

	type completed struct {
		Phase            int      `json:"phase"`
		PhaseCompleted   *int     `json:"phase_completed"`
		ValidationPassed bool     `json:"validation_passed"`
		Errors           []string `json:"errors"`
	}
	bad := decode[completed](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "complete_phase", "session_id": id, "phase": 0, "evidence": map[string]any{}}))
	require.NotNil(t, bad.PhaseCompleted, "prAxIs OS returns the phase's number when the gate did not pass, too")
	assert.Equal(t, 0, *bad.PhaseCompleted)
	assert.False(t, bad.ValidationPassed)
	assert.NotEmpty(t, bad.Errors)
	ok := decode[completed](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "complete_phase", "session_id": id, "phase": 0,
		"evidence": map[string]any{"spec_read": true, "phases_found": 4, "plan_summary": "phase by phase, in order"}}))
	require.NotNil(t, ok.PhaseCompleted)
	assert.Equal(t, 0, *ok.PhaseCompleted)
	assert.True(t, ok.ValidationPassed)

	// mcpflow's own complete_phase keeps phase_completed a bool.
	native := decode[struct {
		PhaseCompleted bool `json:"phase_completed"`
	}](t, mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": id, "phase": 1, "evidence": map[string]any{
		"all_modified_files_pass_linting_ruff_mypy": true, "code_review_completed_2_reviewers": true, "manual_smoke_tests_pass_no_crashes": true,
	}}))
	assert.True(t, native.PhaseCompleted)

	task := decode[struct {
		TaskID string `json:"task_id"`
		Title  string `json:"title"`
	}](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "get_task", "session_id": id, "phase": 2, "task_number": 3}))
	assert.Equal(t, "2.3", task.TaskID)
	assert.Equal(t, "Add Logging for Race Detection", task.Title)

	list := decode[struct {
		Count int `json:"count"`
	}](t, mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "list_sessions", "status": "active"}))
	assert.Equal(t, 1, list.Count)
	mustOK(t, cs, server.ToolPosWorkflow, map[string]any{"action": "delete_session", "session_id": id})
	assert.True(t, callTool(t, cs, server.ToolGetWorkflowState, map[string]any{"session_id": id}).IsError)
}

func TestPosWorkflowBadArguments(t *testing.T) {
	cs := praxisClient(t)
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "action: is required"},
		{map[string]any{"action": "pause_all"}, "action: must be one of "},
		{map[string]any{"action": "rollback", "session_id": "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"}, "to_phase"},
		{map[string]any{"action": "get_task", "evidence": map[string]any{}}, `"evidence": is not an argument of action get_task; it takes session_id, phase, task_number`},
		{map[string]any{"action": "list_workflows", "session_id": "x"}, "it takes category"},
		{map[string]any{"action": "get_task", "session_id": "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"}, "phase"},
		{map[string]any{"action": "start", "workflow_type": "spec_execution_v1", "target_file": "x"}, "options.spec_path is required"},
		{map[string]any{"action": "start", "workflow_type": "spec_execution_v1", "target_file": "x", "options": map[string]any{"spec_path": "../../etc"}}, "outside the project folder"},
	} {
		res := callTool(t, cs, server.ToolPosWorkflow, tc.args)
		require.True(t, res.IsError, "%v", tc.args)
		assert.Contains(t, textOf(res), tc.want, "%v", tc.args)
		e := decode[posError](t, res)
		assert.Equal(t, "error", e.Status)
		assert.Equal(t, textOf(res), e.Error)
		assert.Equal(t, "ValueError", e.ErrorType, "%v", tc.args)
		assert.Contains(t, e.ValidActions, "complete_phase")
		assert.NotEmpty(t, e.Remediation)
	}
}

func TestCurrentDate(t *testing.T) {
	cs := praxisClient(t)
	before := time.Now().Unix()
	d := decode[struct {
		ISODate       string `json:"iso_date"`
		ISODateTime   string `json:"iso_datetime"`
		UTCDateTime   string `json:"utc_datetime"`
		DayOfWeek     string `json:"day_of_week"`
		Year          int    `json:"year"`
		UnixTimestamp int64  `json:"unix_timestamp"`
		Formatted     struct {
			SpecDirectory string `json:"spec_directory"`
			Header        string `json:"header"`
		} `json:"formatted"`
	}](t, mustOK(t, cs, server.ToolCurrentDate, nil))
	after := time.Now().Unix()
	assert.GreaterOrEqual(t, d.UnixTimestamp, before)
	assert.LessOrEqual(t, d.UnixTimestamp, after)
	at := time.Unix(d.UnixTimestamp, 0)
	assert.Equal(t, at.Format(time.DateOnly), d.ISODate)
	assert.Equal(t, at.Format(time.RFC3339), d.ISODateTime)
	assert.Equal(t, at.UTC().Format(time.RFC3339), d.UTCDateTime)
	assert.Equal(t, at.Weekday().String(), d.DayOfWeek)
	assert.Equal(t, at.Year(), d.Year)
	assert.Equal(t, d.ISODate+"-", d.Formatted.SpecDirectory)
	assert.True(t, strings.HasSuffix(d.Formatted.Header, d.ISODate))
	res := callTool(t, cs, server.ToolCurrentDate, map[string]any{"tz": "UTC"})
	assert.True(t, res.IsError)
}
