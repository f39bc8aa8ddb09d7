package server

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/ragcache"
)

// jsonArgs decodes arguments the way mcp-go hands them to a handler.
func jsonArgs(t *testing.T, js string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(js), &v))
	return v
}

func TestDecodeSearch(t *testing.T) {
	q, err := decodeSearch(jsonArgs(t, `{"query": "error handling", "n_results": 3.0, "phase": 1, "tags": ["go", "testing"]}`))
	require.NoError(t, err)
	p := 1
	assert.Equal(t, ragcache.Query{Text: "error handling", Limit: 3, Phase: &p, Tags: []string{"go", "testing"}}, q)

	q, err = decodeSearch(jsonArgs(t, `{"query": "x", "phase": null}`))
	require.NoError(t, err, "a nil *argError must not come back as a non-nil error")
	assert.Equal(t, ragcache.Query{Text: "x"}, q, "absent n_results is the index's default, a null phase no filter")

	for args, want := range map[string]string{
		`{"query": "x", "n_results": 2.5}`:              "n_results: must be a whole number, got 2.5; omit it for 5 results",
		`{"query": "x", "n_results": 51}`:               "n_results: must be between 1 and 50, got 51; omit it for 5 results",
		`{"query": "x", "n_results": "3"}`:              "n_results: must be a whole number, got a string; omit it for 5 results",
		`{"query": "x", "phase": 10000}`:                "phase: must be between 0 and 9999, got 10000; omit it to search every phase",
		`{"query": "x", "phase": 1e300}`:                "phase: must be between 0 and 9999, got 1e+300; omit it to search every phase",
		`{"n_results": 3}`:                              `query: required; give the words to search for, e.g. "error handling"`,
		`{"query": "x", "n_results": 2.5, "phase": -1}`: "n_results: must be a whole number, got 2.5",
	} {
		_, err := decodeSearch(jsonArgs(t, args))
		var ae *argError
		require.ErrorAs(t, err, &ae, args)
		assert.Contains(t, ae.msg, want, args)
	}
}

func TestDecodeStart(t *testing.T) {
	a, err := decodeStart(jsonArgs(t, `{"workflow_type": "bug_fix", "target_file": "a.go"}`))
	require.NoError(t, err)
	assert.Equal(t, startArgs{WorkflowType: engine.MustParseWorkflowName("bug_fix"), TargetFile: "a.go"}, a)

	a, err = decodeStart(jsonArgs(t, `{"workflow_type": "bug_fix", "target_file": "a.go", "options": {"k": 1}}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"k": 1.0}, a.Options)

	_, err = decodeStart(jsonArgs(t, `{"workflow_type": "../x", "target_file": "a.go"}`))
	require.EqualError(t, err, `workflow_type: "../x" is not a workflow name (letters, digits, '_', '-' and '.', no path); call list_workflows to see them`)
	_, err = decodeStart(jsonArgs(t, `{"workflow_type": "../x"}`))
	require.EqualError(t, err, `target_file: required; name the file or feature the workflow is about, e.g. "src/login.go"`, "a missing argument is reported before the name is checked")
}

func TestDecodeTaskAndComplete(t *testing.T) {
	const id = "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"
	ta, err := decodeTask(jsonArgs(t, `{"session_id": "`+id+`", "phase": 2, "task_number": 0}`))
	require.NoError(t, err)
	assert.Equal(t, taskArgs{SessionID: state.MustParseSessionID(id), Phase: 2}, ta)

	_, err = decodeTask(jsonArgs(t, `{"session_id": "`+id+`", "task_number": 0}`))
	require.EqualError(t, err, "phase: required; pass the phase number, e.g. the current_phase of get_current_phase")
	_, err = decodeTask(jsonArgs(t, `{"session_id": "nope", "phase": 0.5}`))
	require.ErrorContains(t, err, `session_id: "nope" is not a session ID`, "the first argument's problem wins")

	ca, err := decodeComplete(jsonArgs(t, `{"session_id": "`+id+`", "phase": 1, "evidence": {"n": 2}}`))
	require.NoError(t, err)
	assert.Equal(t, completeArgs{SessionID: state.MustParseSessionID(id), Phase: 1, Evidence: map[string]any{"n": 2.0}}, ca)
	_, err = decodeComplete(jsonArgs(t, `{"session_id": "`+id+`", "phase": 1.5, "evidence": {}}`))
	require.EqualError(t, err, "phase: must be a whole number, got 1.5; pass the session's current phase (get_current_phase shows it)")
}

func TestDecodeSessionAndList(t *testing.T) {
	const id = "3F2B8C1E-9A4D-4E1B-8F6A-2C7D9E0B1A53"
	const id2 = "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53"
	for _, tool := range []string{ToolGetCurrentPhase, ToolGetWorkflowState, ToolDeleteSession} {
		a, err := decodeSession(tool, jsonArgs(t, `{"session_id": "`+id+`"}`))
		require.NoError(t, err, tool)
		assert.Equal(t, "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53", a.SessionID.String(), "%s: canonical form", tool)
		_, err = decodeSession(tool, jsonArgs(t, `{"session_id": "`+id+`", "phase": 1}`))
		require.EqualError(t, err, `"phase": unknown argument; this tool takes session_id`, tool)
	}

	for status, want := range map[string]state.Status{`{}`: "", `{"status": "all"}`: "", `{"status": "active"}`: "active", `{"status": "completed"}`: "completed", `{"status": "error"}`: "error", `{"status": "paused"}`: "paused"} {
		a, err := decodeListSessions(jsonArgs(t, status))
		require.NoError(t, err, status)
		assert.Equal(t, want, a.Status, status)
		assert.Equal(t, state.DefaultPageLimit, a.Limit, "the default page")
		assert.Nil(t, a.After)
	}
	_, err := decodeListSessions(jsonArgs(t, `{"status": "halted"}`))
	require.EqualError(t, err, `status: must be one of active, completed, error, paused, all, got "halted"`)
	k := state.ListKey{Created: 1_700_000_000_000_000, ID: id2}
	a, err := decodeListSessions(jsonArgs(t, `{"limit": 10, "cursor": "`+engine.EncodeCursor(&k)+`"}`))
	require.NoError(t, err)
	assert.Equal(t, state.PageQuery{Limit: 10, After: &k}, a)
	for args, want := range map[string]string{
		`{"limit": 0}`:                 "limit: must be between 1 and 500, got 0",
		`{"limit": 501}`:               "limit: must be between 1 and 500, got 501",
		`{"limit": 1.5}`:               "limit: must be a whole number, got 1.5",
		`{"cursor": "abc"}`:            "cursor: is not a cursor this server gave",
		`{"cursor": 5}`:                "cursor: must be a string",
		`{"cursor": "` + id2 + `"}`:    "cursor: is not a cursor this server gave",
		`{"cursor": "YzE` + "A" + `"}`: "cursor: is not a cursor this server gave",
	} {
		_, err := decodeListSessions(jsonArgs(t, args))
		require.ErrorContains(t, err, want, args)
	}

	require.NoError(t, decodeNone(nil))
	require.NoError(t, decodeNone(jsonArgs(t, `{}`)))
	require.EqualError(t, decodeNone(jsonArgs(t, `{"all": true}`)), `"all": unknown argument; this tool takes no arguments`)
	require.EqualError(t, decodeNone(jsonArgs(t, `[1]`)), "arguments: must be a JSON object, got an array")
}

// TestEveryActionTakesItsToolsArguments: pos_workflow's actions name tools
// with a handler, and every tool that takes arguments lists them.
func TestEveryActionTakesItsToolsArguments(t *testing.T) {
	s := &Server{}
	for action, tool := range posActions {
		assert.NotNil(t, s.handlerFor(tool), "action %s: tool %s has a handler", action, tool)
		if tool != ToolListWorkflows {
			assert.NotEmpty(t, toolArgs[tool], "action %s: tool %s lists its arguments", action, tool)
		}
	}
}
