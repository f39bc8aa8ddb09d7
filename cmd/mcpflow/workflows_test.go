package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/workflows"
)

// workflowsWithProblems returns a workflows folder holding bug_fix (the
// built-in one, its description made multi-line) and "broken", whose
// metadata names a phase that is not there.
func workflowsWithProblems(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, workflows.BuiltinWorkflows()))
	for _, name := range []string{"feature_delivery", "spec_execution_v1"} {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, name)))
	}
	meta := filepath.Join(dir, "bug_fix", "metadata.json")
	b, err := os.ReadFile(meta)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	m["description"] = "Fix a bug:\n  reproduce it,\r\n\tfix it."
	b, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(meta, b, 0o600))
	require.NoError(t, os.CopyFS(filepath.Join(dir, "broken"), os.DirFS(filepath.Join(dir, "bug_fix"))))
	b = []byte(strings.Replace(string(b), `"workflow_type":"bug_fix"`, `"workflow_type":"broken"`, 1))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken", "metadata.json"), b, 0o600))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "broken", "phases", "3")))
	return dir
}

// TestWorkflowsListsOneLineEachAndMarksTheBroken: a multi-line
// description stays on its workflow's line, and a workflow with problems
// is marked as one that cannot be started.
func TestWorkflowsListsOneLineEachAndMarksTheBroken(t *testing.T) {
	dir := workflowsWithProblems(t)
	code, out, errOut := runCmd(t, nil, "", "workflows", dir)
	assert.Equal(t, 1, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 4, out)
	assert.Equal(t, "Workflows in "+dir+":", lines[0])
	assert.Regexp(t, `^  broken v1\.0\.0 — 3 phases — Fix a bug: reproduce it, fix it\. \[BROKEN: \d+ problem\(s\) below; it cannot be started\]$`, lines[1])
	assert.Equal(t, "  bug_fix v1.0.0 — 3 phases — Fix a bug: reproduce it, fix it.", lines[2])
	assert.Contains(t, lines[3], "problem(s):")
	for _, l := range lines[4:] {
		assert.True(t, strings.HasPrefix(l, "  broken: "), "every problem is broken's: %q", l)
	}
}

// TestServeLogsBrokenWorkflows: the startup log names each broken
// workflow, and start_workflow refuses it.
func TestServeLogsBrokenWorkflows(t *testing.T) {
	dir := workflowsWithProblems(t)
	script := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"script","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"start_workflow","arguments":{"workflow_type":"broken","target_file":"x.go"}}}`,
	}, "\n") + "\n"
	code, out, errOut := runCmd(t, nil, script, "serve", "--transport", "stdio", "--root", t.TempDir(), "--workflows", dir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, `level=WARN msg="workflow is broken and cannot be started; mcpflow workflows lists its problems" workflow=broken problems=`)
	assert.NotContains(t, errOut, "workflow=bug_fix")
	assert.Contains(t, out, `"isError":true`)
	assert.Contains(t, out, "workflow_type broken is broken")
}

// TestHelpNamesThePraxisLayout: the top-level help and the help of every
// command that reads project folders say that a prAxIs OS project's
// .praxis-os folder is served as it is.
func TestHelpNamesThePraxisLayout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"search", "--help"}, {"workflows", "--help"}} {
		code, out, _ := runCmd(t, nil, "", args...)
		assert.Equal(t, 0, code, args)
		assert.Contains(t, out, ".praxis-os", "%v", args)
	}
}

// TestVersionHelp: "version --help" is help, not the version.
func TestVersionHelp(t *testing.T) {
	for _, args := range [][]string{{"version", "--help"}, {"version", "-h"}, {"help", "version"}} {
		code, out, _ := runCmd(t, nil, "", args...)
		assert.Equal(t, 0, code, args)
		assert.True(t, strings.HasPrefix(out, "Usage: mcpflow version\n"), "%v: %q", args, out)
		assert.NotContains(t, out, "Flags", "version has no flags")
	}
	code, _, errOut := runCmd(t, nil, "", "version", "extra")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unexpected argument "extra"`)
	code, out, _ := runCmd(t, nil, "", "--version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out, "mcpflow "), out)
}

// TestWorkflowsNamesFileAndLineOfABadCheck: a gate's check that climbs
// out of the project folder is a problem naming the gate file, the check
// and its line.
func TestWorkflowsNamesFileAndLineOfABadCheck(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, workflows.BuiltinWorkflows()))
	gate := filepath.Join(dir, "bug_fix", "phases", "3", "gate-definition.yaml")
	b, err := os.ReadFile(gate)
	require.NoError(t, err)
	b = append(b, "  - kind: command\n    argv: []\n"...)
	require.NoError(t, os.WriteFile(gate, b, 0o600))
	line := strings.Count(string(b), "\n")
	code, out, errOut := runCmd(t, nil, "", "workflows", dir)
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, out, "  bug_fix: phases/3/gate-definition.yaml: checks[1](command).argv (line "+strconv.Itoa(line)+"): must be a non-empty list")
}
