package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// specCreation is a six-phase static workflow (phases 0-5, no gates)
// under the name prAxIs OS gives its spec-writing workflow, written for
// these tests.
func writeSpecCreation(t *testing.T, workflows string) {
	t.Helper()
	dir := filepath.Join(workflows, "spec_creation_v1")
	var phases []string
	for p := range 6 {
		phases = append(phases, fmt.Sprintf(`{"phase_number": %d, "phase_name": "Step %d", "purpose": "write part %d of the spec", "estimated_effort": "10m", "key_deliverables": [], "validation_criteria": [], "tasks": []}`, p, p, p))
		pd := filepath.Join(dir, "phases", fmt.Sprint(p))
		require.NoError(t, os.MkdirAll(pd, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(pd, "phase.md"), fmt.Appendf(nil, "# Step %d\n\nWrite part %d of the spec.\n", p, p), 0o644))
	}
	meta := `{"workflow_type": "spec_creation_v1", "version": "1.0.0", "name": "Spec creation", "description": "write a spec in six steps",
"total_phases": 6, "estimated_duration": "1 hour", "primary_outputs": ["spec"], "phases": [` + strings.Join(phases, ",") + `]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(meta), 0o644))
}

// praxisSession returns a session file in prAxIs OS's shape: naive
// timestamps, string phase keys, no status, no version; each completed
// phase has an artifact and a passed checkpoint.
func praxisSession(id, workflow, target string, current int, completed []int, metadata map[string]any) string {
	arts, cks := map[string]any{}, map[string]any{}
	for _, p := range completed {
		arts[fmt.Sprint(p)] = map[string]any{"phase_number": p, "evidence": map[string]any{"summary": fmt.Sprint("step ", p, " done"), "counts": []any{1, 2}},
			"outputs": map[string]any{}, "commands_executed": []any{}, "timestamp": fmt.Sprintf("2025-10-2%dT10:00:00.123456", p%10)}
		cks[fmt.Sprint(p)] = "passed"
	}
	doc := map[string]any{
		"session_id": id, "workflow_type": workflow, "target_file": target, "current_phase": current, "completed_phases": completed,
		"phase_artifacts": arts, "checkpoints": cks, "created_at": "2025-10-20T09:00:00.000001", "updated_at": "2025-10-21T17:30:00.654321",
		"metadata": metadata,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// serveBinary serves root with the built binary over stdio and connects an
// official Go SDK client.
func serveBinary(t *testing.T, root string) (*mcp.ClientSession, func() string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), "serve", "--transport", "stdio", "--log-level", "debug")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "MCPFLOW_LOG_FORMAT=text")
	errs := watchStderr(cmd)
	c := mcp.NewClient(&mcp.Implementation{Name: "praxis-sessions", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.CommandTransport{Command: cmd, TerminateDuration: 5 * time.Second}, nil)
	require.NoError(t, err)
	stop := func() string {
		require.NoError(t, cs.Close())
		logs := errs.close()
		assert.Equal(t, 0, cmd.ProcessState.ExitCode(), logs)
		return logs
	}
	return cs, stop
}

// TestBinaryResumesPraxisSessions serves, with the built binary, a prAxIs
// OS project whose sessions prAxIs OS wrote to .praxis-os/.cache/state
// (fixtures of the shapes it writes), plus one an older mcpflow kept in
// .praxis-os/state: all are found, an open one is resumed and advanced, a
// finished one reads as complete, one whose spec is gone still answers,
// and what is written back is prAxIs OS's format with the new phase.
func TestBinaryResumesPraxisSessions(t *testing.T) {
	root := praxisProject(t)
	writeSpecCreation(t, filepath.Join(root, ".praxis-os", "workflows"))
	stateDir := filepath.Join(root, ".praxis-os", ".cache", "state")
	legacy := filepath.Join(root, ".praxis-os", "state")
	require.NoError(t, os.MkdirAll(stateDir, 0o700))
	require.NoError(t, os.MkdirAll(legacy, 0o700))
	const (
		fresh    = "0a1b2c3d-0000-4000-8000-000000000001"
		finished = "0a1b2c3d-0000-4000-8000-000000000002"
		midSpec  = "0a1b2c3d-0000-4000-8000-000000000003"
		goneSpec = "0a1b2c3d-0000-4000-8000-000000000004"
		older    = "0a1b2c3d-0000-4000-8000-000000000005"
	)
	files := map[string]string{
		fresh:    praxisSession(fresh, "spec_creation_v1", "session-redesign", 0, []int{}, map[string]any{"total_phases": 6}),
		finished: praxisSession(finished, "spec_creation_v1", "persona-system", 6, []int{0, 1, 2, 3, 4, 5}, map[string]any{"feature_name": "Personas", "supporting_docs": []any{"a.md"}}),
		midSpec:  praxisSession(midSpec, "spec_execution_v1", "thread-safety", 2, []int{0, 1}, map[string]any{"spec_path": praxisSpec}),
		goneSpec: praxisSession(goneSpec, "spec_execution_v1", "evidence-validation", 3, []int{0, 1, 2}, map[string]any{"spec_path": ".praxis-os/specs/2025-10-20-moved-away"}),
	}
	for id, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(stateDir, id+".json"), []byte(body), 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(legacy, older+".json"), []byte(praxisSession(older, "spec_creation_v1", "older", 1, []int{0}, map[string]any{"total_phases": 6})), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(legacy, "notes.txt"), []byte("not a session"), 0o600))

	cs, stop := serveBinary(t, root)
	pos := func(action string, args map[string]any) map[string]any {
		t.Helper()
		a := map[string]any{"action": action}
		maps.Copy(a, args)
		return toolJSON[map[string]any](t, cs, server.ToolPosWorkflow, a)
	}
	list := pos("list_sessions", nil)
	assert.InDelta(t, 5, list["count"], 0, "every session is found, the older mcpflow one moved over")
	for _, s := range list["sessions"].([]any) {
		assert.Empty(t, s.(map[string]any)["error"], "no session reads as corrupt")
	}

	// Resumed and advanced.
	start := pos("start", map[string]any{"workflow_type": "spec_creation_v1", "target_file": "session-redesign"})
	assert.Equal(t, fresh, start["session_id"])
	assert.Equal(t, true, start["resumed"])
	done := pos("complete_phase", map[string]any{"session_id": fresh, "phase": 0, "evidence": map[string]any{"spec_dir": ".praxis-os/specs/x"}})
	assert.Equal(t, true, done["validation_passed"])
	assert.InDelta(t, 1, done["next_phase"], 0)

	// Finished: complete, not "phase 6 is not in workflow".
	st := pos("get_state", map[string]any{"session_id": finished})
	assert.Equal(t, "completed", st["session_status"])
	ph := pos("get_phase", map[string]any{"session_id": finished})
	assert.Equal(t, true, ph["workflow_complete"])
	again := pos("start", map[string]any{"workflow_type": "spec_creation_v1", "target_file": "persona-system"})
	assert.NotEqual(t, finished, again["session_id"], "a finished session is not resumed")

	// A spec_execution_v1 session finds its spec at metadata.spec_path.
	ph = pos("get_phase", map[string]any{"session_id": midSpec})
	assert.InDelta(t, 2, ph["phase_number"], 0)
	evidence := map[string]any{}
	for _, m := range gateLine.FindAllStringSubmatch(ph["phase_content"].(string), -1) {
		evidence[m[1]] = true
	}
	require.NotEmpty(t, evidence)
	done = pos("complete_phase", map[string]any{"session_id": midSpec, "phase": 2, "evidence": evidence})
	require.Equal(t, true, done["validation_passed"], "%v", done["errors"])
	pos("pause", map[string]any{"session_id": midSpec, "reason": "switching tools"})
	assert.Equal(t, "paused", pos("get_state", map[string]any{"session_id": midSpec})["session_status"])
	paused := pos("list_sessions", map[string]any{"status": "paused"})
	require.InDelta(t, 1, paused["count"], 0)
	assert.Equal(t, midSpec, paused["sessions"].([]any)[0].(map[string]any)["session_id"])

	// Its spec is gone: the state still answers; the phase read says what
	// is missing and what to do.
	st = pos("get_state", map[string]any{"session_id": goneSpec})
	assert.InDelta(t, 3, st["current_phase"], 0)
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolPosWorkflow, Arguments: map[string]any{"action": "get_phase", "session_id": goneSpec}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	msg := res.Content[0].(*mcp.TextContent).Text
	assert.Contains(t, msg, "metadata.spec_path")
	assert.Contains(t, msg, "2025-10-20-moved-away")
	assert.Contains(t, msg, "move the spec back")
	assert.NotContains(t, msg, "corrupt")

	st = pos("get_state", map[string]any{"session_id": older})
	assert.InDelta(t, 1, st["current_phase"], 0)
	logs := stop()
	assert.Contains(t, logs, "moved sessions from the old state folder")

	// Written back in prAxIs OS's format, with the new positions.
	for id, want := range map[string]struct {
		current   int
		completed []any
	}{fresh: {1, []any{0.0}}, midSpec: {3, []any{0.0, 1.0, 2.0}}} {
		b, err := os.ReadFile(filepath.Join(stateDir, id+".json"))
		require.NoError(t, err)
		m := testutil.CheckPraxisState(t, b)
		assert.InDelta(t, want.current, m["current_phase"], 0, id)
		assert.Equal(t, want.completed, m["completed_phases"], id)
	}
	b, err := os.ReadFile(filepath.Join(stateDir, midSpec+".json"))
	require.NoError(t, err)
	var mid struct {
		Metadata map[string]any `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(b, &mid))
	assert.Equal(t, praxisSpec, mid.Metadata["spec_path"], "prAxIs OS's spec_path stays")
	assert.Equal(t, true, mid.Metadata["paused"], "prAxIs OS reads the pause from metadata.paused")
	_, err = os.Stat(filepath.Join(legacy, older+".json"))
	require.ErrorIs(t, err, os.ErrNotExist, "moved, not copied")
	_, err = os.Stat(filepath.Join(legacy, "notes.txt"))
	require.NoError(t, err, "what is not a session stays")
}

// TestBinaryServesRealPraxisSessions serves a project holding the session
// files prAxIs OS wrote (testutil.PraxisData, copied into a temporary
// project at test time, never into the repository) with the built binary:
// each answers get_workflow_state, the finished one reads as complete, the
// one whose spec moved says so, and the open one is resumed and advanced
// and written back in prAxIs OS's format.
func TestBinaryServesRealPraxisSessions(t *testing.T) {
	data := testutil.PraxisData(t)
	files, err := filepath.Glob(filepath.Join(data, "state", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	root := praxisProject(t)
	writeSpecCreation(t, filepath.Join(root, ".praxis-os", "workflows"))
	stateDir := filepath.Join(root, ".praxis-os", ".cache", "state")
	require.NoError(t, os.MkdirAll(stateDir, 0o700))
	byStatus := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(stateDir, filepath.Base(f)), b, 0o600))
	}

	cs, stop := serveBinary(t, root)
	pos := func(action string, args map[string]any) map[string]any {
		t.Helper()
		a := map[string]any{"action": action}
		maps.Copy(a, args)
		return toolJSON[map[string]any](t, cs, server.ToolPosWorkflow, a)
	}
	var open []map[string]any
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		st := pos("get_state", map[string]any{"session_id": id})
		status := st["session_status"].(string)
		byStatus[status] = append(byStatus[status], id)
		t.Logf("%s: %s %s, phase %v, completed %v, %s", id, st["workflow_type"], st["target_file"], st["current_phase"], st["completed_phases"], status)
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolPosWorkflow, Arguments: map[string]any{"action": "get_phase", "session_id": id}})
		require.NoError(t, err)
		text := res.Content[0].(*mcp.TextContent).Text
		assert.NotContains(t, text, "corrupt", id)
		if res.IsError {
			assert.Contains(t, text, "spec_path", "%s: a phase read fails only for a moved spec: %s", id, text)
			continue
		}
		if status != "completed" {
			open = append(open, st)
		}
	}
	assert.NotEmpty(t, byStatus["completed"], "the finished session reads as complete")
	require.NotEmpty(t, open)
	for _, st := range open {
		id := st["session_id"].(string)
		start := pos("start", map[string]any{"workflow_type": st["workflow_type"], "target_file": st["target_file"]})
		assert.Equal(t, id, start["session_id"], "resumed")
		cur := start["current_phase"].(float64)
		done := pos("complete_phase", map[string]any{"session_id": id, "phase": cur, "evidence": map[string]any{"note": "advanced by mcpflow"}})
		require.Equal(t, true, done["validation_passed"], "%v", done)
	}
	stop()
	for _, st := range open {
		id := st["session_id"].(string)
		b, err := os.ReadFile(filepath.Join(stateDir, id+".json"))
		require.NoError(t, err)
		m := testutil.CheckPraxisState(t, b)
		assert.InDelta(t, st["current_phase"].(float64)+1, m["current_phase"], 0)
	}
}

// TestLegacySessionsStayWhileAnotherServerHoldsTheirFolder: sessions in
// .praxis-os/state are not moved while another server holds that folder,
// and a session already in the state folder is never overwritten.
func TestLegacySessionsStayWhileAnotherServerHoldsTheirFolder(t *testing.T) {
	root := praxisProject(t)
	legacy := filepath.Join(root, ".praxis-os", "state")
	require.NoError(t, os.MkdirAll(legacy, 0o700))
	const a, b = "0a1b2c3d-0000-4000-8000-00000000000a", "0a1b2c3d-0000-4000-8000-00000000000b"
	for _, id := range []string{a, b} {
		require.NoError(t, os.WriteFile(filepath.Join(legacy, id+".json"), []byte(praxisSession(id, "spec_creation_v1", id, 0, []int{}, nil)), 0o600))
	}
	dirs, err := folderFlags{root: root}.resolve(true)
	require.NoError(t, err)
	require.Equal(t, legacy, dirs.legacyState)
	require.NoError(t, os.WriteFile(filepath.Join(dirs.state, b+".json"), []byte("newer"), 0o600))

	held, err := filestore.LockStateDir(legacy)
	require.NoError(t, err)
	var logs testutil.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	dirs.moveLegacySessions(log)
	assert.FileExists(t, filepath.Join(legacy, a+".json"), "not moved while another server holds the folder")
	assert.Contains(t, logs.String(), "another server uses it")
	require.NoError(t, held.Close())

	dirs.moveLegacySessions(log)
	assert.NoFileExists(t, filepath.Join(legacy, a+".json"))
	assert.FileExists(t, filepath.Join(dirs.state, a+".json"))
	kept, err := os.ReadFile(filepath.Join(dirs.state, b+".json"))
	require.NoError(t, err)
	assert.Equal(t, "newer", string(kept), "never overwritten")
	assert.FileExists(t, filepath.Join(legacy, b+".json"), "left where it is")
	assert.Contains(t, logs.String(), "a session is in both state folders")
	assert.Contains(t, logs.String(), "sessions=1")
}

// TestSessionsCommandReadsPraxisStateFolder pins the bug where `mcpflow
// sessions` in a prAxIs OS project looked in .praxis-os/state while serve
// keeps sessions in .praxis-os/.cache/state: the command reads serve's
// folder, and the older one only when no server has made the new one yet.
func TestSessionsCommandReadsPraxisStateFolder(t *testing.T) {
	bin := testutil.Binary(t)
	for _, tc := range []struct{ name, folder string }{
		{"cache", filepath.Join(".praxis-os", ".cache", "state")},
		{"legacy", filepath.Join(".praxis-os", "state")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeSpecCreation(t, filepath.Join(root, ".praxis-os", "workflows"))
			dir := filepath.Join(root, tc.folder)
			require.NoError(t, os.MkdirAll(dir, 0o755))
			ids := []string{"5b0f7a52-3c1e-4d7a-9e2b-6f1d8c3a4b51", "8e2d4c61-7a9b-4f3e-8d1c-2b5a6e7f9c02"}
			for i, id := range ids {
				doc := praxisSession(id, "spec_creation_v1", fmt.Sprint("feature-", i), 1, []int{0}, map[string]any{"total_phases": 6})
				require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), []byte(doc), 0o644))
			}
			cmd := exec.Command(bin, "sessions", "--json")
			cmd.Dir = root
			out, err := cmd.Output()
			require.NoError(t, err, "stderr: %s", stderrOf(err))
			var got struct {
				Count    int `json:"count"`
				Sessions []struct {
					SessionID string `json:"session_id"`
					Status    string `json:"status"`
				} `json:"sessions"`
			}
			require.NoError(t, json.Unmarshal(out, &got), "%s", out)
			assert.Equal(t, len(ids), got.Count)
			var listed []string
			for _, s := range got.Sessions {
				listed = append(listed, s.SessionID)
				assert.Equal(t, "active", s.Status, s.SessionID)
			}
			assert.ElementsMatch(t, ids, listed)
		})
	}
}

// stderrOf returns what a failed command wrote to stderr.
func stderrOf(err error) string {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return string(ee.Stderr)
	}
	return ""
}
