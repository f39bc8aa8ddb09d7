package workflows

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
)

func builtinMeta(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(BuiltinWorkflows(), name+"/"+MetadataFile)
	require.NoError(t, err)
	return b
}

// TestBuiltinWorkflowsAreValid: the samples compiled into the binary
// decode and validate without a problem.
func TestBuiltinWorkflowsAreValid(t *testing.T) {
	names, err := Names(BuiltinWorkflows())
	require.NoError(t, err)
	assert.Equal(t, []string{"bug_fix", "feature_delivery", "spec_execution_v1"}, names)
	assert.Empty(t, ValidateFS(BuiltinWorkflows()))
	m, err := ReadMetadata(BuiltinWorkflows(), "bug_fix")
	require.NoError(t, err)
	assert.Equal(t, "bug_fix", m.WorkflowType)
	assert.Equal(t, []int{1, 2, 3}, m.Order())
	next, ok := m.Next(1)
	assert.True(t, ok)
	assert.Equal(t, 2, next)
	_, ok = m.Next(3)
	assert.False(t, ok)
}

// TestMetadataErrorHasItsParts: a field of the wrong type is a
// MetadataError naming the field's path; it matches ErrMetadata and
// state.ErrCorrupt, and its Problem is the message without the sentinel.
func TestMetadataErrorHasItsParts(t *testing.T) {
	bad := strings.Replace(string(builtinMeta(t, "bug_fix")), `"phase_number": 2,`, `"phase_number": "1-N",`, 1)
	_, err := ParseMetadata([]byte(bad))
	require.ErrorIs(t, err, ErrMetadata)
	require.ErrorIs(t, err, state.ErrCorrupt)
	me, ok := errors.AsType[*MetadataError](err)
	require.True(t, ok, "%T", err)
	assert.Equal(t, "phases[1].phase_number", me.Field)
	assert.Equal(t, `phases[1].phase_number: must be a whole number, got "1-N"`, me.Problem())
	assert.Equal(t, "engine: corrupt: metadata.json: "+me.Problem(), err.Error())

	for _, tc := range []struct{ in, problem string }{
		{`[1]`, "(file): must be a JSON object, got a list"},
		{`{} {}`, "(file): has data after the JSON object"},
		{`{"total_phases": "many"}`, `total_phases: must be a whole number or "dynamic", got "many"`},
	} {
		_, err := ParseMetadata([]byte(tc.in))
		me, ok := errors.AsType[*MetadataError](err)
		require.True(t, ok, "%s: %v", tc.in, err)
		assert.Equal(t, tc.problem, me.Problem(), tc.in)
	}
	_, err = ParseMetadata([]byte(`{"a" 1}`))
	me, ok = errors.AsType[*MetadataError](err)
	require.True(t, ok)
	var syntax *json.SyntaxError
	require.ErrorAs(t, err, &syntax, "the JSON error stays wrapped")
	assert.Equal(t, "(file)", me.Field)
}

// TestReadMetadataErrors: an unknown workflow is a FieldError of kind
// ErrNotFound; a file too large or not decoding is ErrCorrupt naming the
// workflow; DecodeMetadata says the same as ReadMetadata.
func TestReadMetadataErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"big/metadata.json":    {Data: []byte(strings.Repeat(" ", MaxMetadataBytes+1))},
		"broken/metadata.json": {Data: []byte(`{"phases": 3}`)},
	}
	_, err := ReadMetadata(fsys, "nope")
	fe, ok := errors.AsType[*state.FieldError](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "workflow_type", fe.Field)
	require.ErrorIs(t, err, state.ErrNotFound)

	_, err = ReadMetadata(fsys, "../x")
	require.ErrorIs(t, err, state.ErrInvalidArgument)

	_, err = ReadMetadata(fsys, "big")
	require.ErrorIs(t, err, state.ErrCorrupt)
	assert.Contains(t, err.Error(), "big/metadata.json is larger than 1048576 bytes")
	_, derr := DecodeMetadata(checkpoint.MustParseWorkflowName("big"), []byte(strings.Repeat(" ", MaxMetadataBytes+1)))
	assert.Equal(t, err.Error(), derr.Error(), "DecodeMetadata refuses an over-long file as ReadMetadata does")

	_, err = ReadMetadata(fsys, "broken")
	require.ErrorIs(t, err, ErrMetadata)
	assert.Equal(t, "workflow_type broken: engine: corrupt: metadata.json: phases: must be a list of phase objects, got 3; fix the file (mcpflow workflows lists every problem)", err.Error())
}

// TestValidateSaysProblemsWithoutSentinels: Validate's messages carry the
// problem of a metadata.json or a gate that does not parse, under the
// file's name, without the packages' sentinel text.
func TestValidateSaysProblemsWithoutSentinels(t *testing.T) {
	meta := builtinMeta(t, "bug_fix")
	fsys := fstest.MapFS{
		"wf/metadata.json":  {Data: []byte(strings.Replace(string(meta), `"bug_fix"`, `"wf"`, 1))},
		"bad/metadata.json": {Data: []byte(`{"phases": 3}`)},
	}
	for _, n := range []int{1, 2, 3} {
		dir := "wf/phases/" + string(rune('0'+n))
		sub, err := fs.Sub(BuiltinWorkflows(), "bug_fix/phases/"+string(rune('0'+n)))
		require.NoError(t, err)
		entries, err := fs.ReadDir(sub, ".")
		require.NoError(t, err)
		for _, e := range entries {
			b, err := fs.ReadFile(sub, e.Name())
			require.NoError(t, err)
			fsys[dir+"/"+e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	fsys["wf/phases/2/gate-definition.yaml"] = &fstest.MapFile{Data: []byte("evidence_schema: [1]\n")}
	var got []string
	for _, p := range ValidateFS(fsys) {
		got = append(got, p.String())
	}
	require.Len(t, got, 2, "%q", got)
	assert.Equal(t, "bad: metadata.json: phases: must be a list of phase objects, got 3", got[0])
	assert.True(t, strings.HasPrefix(got[1], "wf: phases/2/gate-definition.yaml: evidence_schema (line 1): "), got[1])
	assert.NotContains(t, got[1], "checkpoint:")
}

func TestCheckTaskFile(t *testing.T) {
	for _, ok := range []string{"task-1.md", "sub/task.md"} {
		require.NoError(t, CheckTaskFile(ok), ok)
	}
	for _, bad := range []string{"", ".", "../x.md", "/abs.md", "a\\b.md", "a\x00.md", "a/../b.md"} {
		assert.Error(t, CheckTaskFile(bad), "%q", bad)
	}
}

func TestTotalPhasesJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TotalPhases
	}{{`3`, TotalPhases{N: 3}}, {`"dynamic"`, TotalPhases{Dynamic: true}}, {`0`, TotalPhases{}}} {
		var tp TotalPhases
		require.NoError(t, json.Unmarshal([]byte(tc.in), &tp), tc.in)
		assert.Equal(t, tc.want, tp)
		out, err := json.Marshal(tp)
		require.NoError(t, err)
		assert.JSONEq(t, tc.in, string(out))
	}
	var tp TotalPhases
	err := json.Unmarshal([]byte(`-1`), &tp)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "total_phases: ")
}

// TestParseName: the engine's error for a bad workflow name is a
// FieldError naming workflow_type, with the text CheckName gave.
func TestParseName(t *testing.T) {
	wf, err := ParseName("bug_fix")
	require.NoError(t, err)
	assert.Equal(t, "bug_fix", wf.String())
	_, err = ParseName("../x")
	require.ErrorIs(t, err, state.ErrInvalidArgument)
	fe, ok := errors.AsType[*state.FieldError](err)
	require.True(t, ok)
	assert.Equal(t, "workflow_type", fe.Field)
	assert.Equal(t, `engine: invalid argument: workflow_type "../x": must be the name of a workflow folder (letters, digits, '_', '-', '.', not starting with '.')`, err.Error())
}
