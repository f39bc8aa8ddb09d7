package main

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

const praxisSpec = ".praxis-os/specs/2025-10-13-thread-safety"

// praxisProject lays out a prAxIs OS project in a fresh folder:
// .praxis-os/workflows/spec_execution_v1 (the built-in one, without its
// example spec), one standards file, and the thread-safety spec.
func praxisProject(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	sub, err := fs.Sub(workflows.BuiltinWorkflows(), "spec_execution_v1")
	require.NoError(t, err)
	wf := filepath.Join(root, ".praxis-os", "workflows", "spec_execution_v1")
	require.NoError(t, os.CopyFS(wf, sub))
	meta, err := os.ReadFile(filepath.Join(wf, "metadata.json"))
	require.NoError(t, err)
	meta = regexp.MustCompile(`,\s*"example_spec": "[^"]*"`).ReplaceAll(meta, nil)
	require.NoError(t, os.WriteFile(filepath.Join(wf, "metadata.json"), meta, 0o644))
	std := filepath.Join(root, ".praxis-os", "standards", "universal")
	require.NoError(t, os.MkdirAll(std, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(std, "locking.md"), []byte("# Locking\n\n## Double-checked locking\n\nRe-check the map inside the lock before creating the entry.\n"), 0o644))
	tasks, err := os.ReadFile(filepath.Join("..", "..", "spec", "testdata", "tasks-thread-safety.md"))
	require.NoError(t, err)
	dir := filepath.Join(root, filepath.FromSlash(praxisSpec))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tasks.md"), tasks, 0o644))
	return root
}

var gateLine = regexp.MustCompile("(?m)^- \\[ \\] `([a-z0-9_]+)`:")

// TestBinaryServesPraxisProject builds mcpflow, serves a prAxIs OS project
// from the current folder over stdio, and runs the whole of
// spec_execution_v1 over the thread-safety spec with the tool names the
// prAxIs OS standards teach (pos_workflow, search_standards,
// current_date, get_server_info).
func TestBinaryServesPraxisProject(t *testing.T) {
	bin := testutil.Binary(t)
	root := praxisProject(t)
	cmd := exec.Command(bin, "serve", "--transport", "stdio", "--log-level", "debug")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MCPFLOW_LOG_FORMAT=text")
	errs := watchStderr(cmd)
	c := mcp.NewClient(&mcp.Implementation{Name: "praxis-stdio", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	require.NoError(t, err)

	pos := func(action string, args map[string]any) map[string]any {
		a := map[string]any{"action": action}
		maps.Copy(a, args)
		return toolJSON[map[string]any](t, cs, server.ToolPosWorkflow, a)
	}
	start := pos("start", map[string]any{"workflow_type": "spec_execution_v1", "target_file": "thread-safety", "options": map[string]any{"spec_path": praxisSpec}})
	id, _ := start["session_id"].(string)
	require.NotEmpty(t, id)
	assert.InDelta(t, 5, start["total_phases"], 0)

	tasks := 0
	for p := 0; p <= 4; p++ {
		ph := pos("get_phase", map[string]any{"session_id": id})
		require.InDelta(t, p, ph["phase_number"], 0)
		list, _ := ph["tasks"].([]any)
		for _, tv := range list {
			task := tv.(map[string]any)
			got := pos("get_task", map[string]any{"session_id": id, "phase": p, "task_number": task["task_number"]})
			require.Equal(t, task["title"], got["title"])
			require.Equal(t, task["task_id"], got["task_id"])
			tasks++
		}
		evidence := map[string]any{"spec_read": true, "phases_found": 4, "plan_summary": "one phase after another, in dependency order"}
		if p > 0 {
			evidence = map[string]any{}
			for _, m := range gateLine.FindAllStringSubmatch(ph["phase_content"].(string), -1) {
				evidence[m[1]] = true
			}
			require.Len(t, evidence, 3, "phase %d", p)
		}
		done := pos("complete_phase", map[string]any{"session_id": id, "phase": p, "evidence": evidence})
		require.Equal(t, true, done["validation_passed"], "phase %d: %v", p, done["errors"])
		assert.InDelta(t, p, done["phase_completed"], 0, "phase_completed is the phase's number")
		assert.Equal(t, p == 4, done["workflow_complete"])
	}
	assert.Equal(t, 18, tasks, "3 tasks of phase 0 and the spec's 15")
	st := pos("get_state", map[string]any{"session_id": id})
	assert.Equal(t, "success", st["status"], "every pos_workflow reply, as prAxIs OS's")
	ws, ok := st["workflow_state"].(map[string]any)
	require.True(t, ok, "prAxIs OS's workflow_state wrapper: %v", st)
	assert.Equal(t, true, ws["is_complete"])
	assert.InDelta(t, 5, ws["total_phases"], 0)
	assert.Equal(t, "completed", ws["status"])

	hits := toolJSON[struct {
		Results []struct {
			File string `json:"file"`
		} `json:"results"`
	}](t, cs, server.ToolSearchStandards, map[string]any{"query": "double-checked locking"})
	require.NotEmpty(t, hits.Results)
	assert.Equal(t, "universal/locking.md", hits.Results[0].File, "the project's .praxis-os/standards are served")
	date := toolJSON[struct {
		ISODate string `json:"iso_date"`
	}](t, cs, server.ToolCurrentDate, nil)
	assert.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, date.ISODate)
	info := toolJSON[struct {
		Folders map[string]string `json:"folders"`
	}](t, cs, server.ToolGetServerInfo, nil)
	realRoot, err := filepath.EvalSymlinks(root)
	require.NoError(t, err)
	assert.Equal(t, "praxis-os", info.Folders["layout"])
	assert.Equal(t, filepath.Join(realRoot, ".praxis-os", "workflows"), info.Folders["workflows"])
	assert.Equal(t, filepath.Join(realRoot, ".praxis-os", ".cache", "state"), info.Folders["state"])

	// The session is saved where prAxIs OS keeps its state.
	saved, err := os.ReadFile(filepath.Join(root, ".praxis-os", ".cache", "state", id+".json"))
	require.NoError(t, err)
	var state struct {
		CompletedPhases []int `json:"completed_phases"`
	}
	require.NoError(t, json.Unmarshal(saved, &state))
	assert.Equal(t, []int{0, 1, 2, 3, 4}, state.CompletedPhases)
	_, err = os.Stat(filepath.Join(root, ".mcpflow"))
	require.ErrorIs(t, err, fs.ErrNotExist, "nothing is written outside .praxis-os")

	require.NoError(t, cs.Close())
	logs := errs.close()
	assert.Equal(t, 0, cmd.ProcessState.ExitCode())
	assert.Contains(t, logs, `msg="mcpflow started"`)
	assert.Contains(t, logs, "layout=praxis-os")
}

// TestFoldersLayout: .praxis-os is used only when .mcpflow is absent, with
// --root or from the current folder, and flags still win.
func TestFoldersLayout(t *testing.T) {
	root := praxisProject(t)
	got, err := folderFlags{root: root}.resolve(true)
	require.NoError(t, err)
	assert.Equal(t, layoutPraxis, got.layout)
	for name, dir := range map[string]string{"workflows": got.workflows, "standards": got.standards} {
		assert.Equal(t, filepath.Join(root, ".praxis-os", name), dir, name)
	}
	assert.Equal(t, filepath.Join(root, ".praxis-os", ".cache", "state"), got.state, "prAxIs OS's own state folder")
	assert.Empty(t, got.legacyState, "no older .praxis-os/state to move sessions from")
	got, err = folderFlags{root: root, state: filepath.Join(root, "elsewhere")}.resolve(true)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "elsewhere"), got.state, "--state wins")

	other := t.TempDir()
	got, err = folderFlags{root: root, workflows: other}.resolve(false)
	require.NoError(t, err)
	assert.Equal(t, other, got.workflows, "a flag wins")
	assert.Equal(t, filepath.Join(root, ".praxis-os", "standards"), got.standards)

	require.NoError(t, os.MkdirAll(filepath.Join(root, ".mcpflow"), 0o755))
	got, err = folderFlags{root: root}.resolve(true)
	require.NoError(t, err)
	assert.Equal(t, layoutMcpflow, got.layout, ".mcpflow wins when both exist")
	assert.Empty(t, got.workflows, "the built-in samples: .mcpflow has no workflows folder")
	assert.Equal(t, filepath.Join(root, ".mcpflow", "state"), got.state)

	got, err = folderFlags{root: t.TempDir()}.resolve(false)
	require.NoError(t, err)
	assert.Equal(t, layoutMcpflow, got.layout)

	// The workflows command reads the same folders.
	code, out, errOut := runCmd(t, nil, "", "workflows", "--root", praxisProject(t))
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, filepath.Join(".praxis-os", "workflows"))
	assert.Contains(t, out, "spec_execution_v1 v1.0.0 — dynamic phases")
}
