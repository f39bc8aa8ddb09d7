package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

const gateV1 = "checkpoint:\n  strict: true\nevidence_schema:\n  n:\n    type: integer\n    required: true\n"
const gateV2 = "checkpoint:\n  strict: true\nevidence_schema:\n  n:\n    type: integer\n    required: true\n  s:\n    type: string\n    required: true\n"

// newTestLoader returns a loader on a fresh workflows folder opened with
// os.Root, and the folder's path.
func newTestLoader(t *testing.T, clock *fakeClock) (*Loader, string) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	cfg := LoaderConfig{FS: root.FS(), Recheck: time.Second}
	if clock != nil {
		cfg.Clock = clock
	}
	l, err := NewLoader(cfg)
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l, dir
}

func writeGate(t *testing.T, dir, wf string, phase, content string) string {
	t.Helper()
	p := filepath.Join(dir, wf, "phases", phase, GateFile)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestLoaderConcurrentSameGate(t *testing.T) {
	for _, n := range []int{1, 4, 100} {
		l, dir := newTestLoader(t, newFakeClock())
		writeGate(t, dir, "wf", "1", gateV1)
		gates := make([]*Gate, n)
		errs := make([]error, n)
		testutil.Release(n, func(i int) {
			gates[i], errs[i] = l.Gate(t.Context(), MustParseWorkflowName("wf"), 1)
		})
		for i := range n {
			if errs[i] != nil || gates[i] != gates[0] {
				t.Errorf("goroutine %d: gate %p, err %v; want the shared %p", i, gates[i], errs[i], gates[0])
			}
		}
		assert.Equal(t, int64(1), l.Parses(), "%d goroutines, one parse", n)
		assert.Len(t, gates[0].Fields, 1)
	}
}

func TestLoaderPicksUpEditsWithOneParsePerChange(t *testing.T) {
	clock := newFakeClock()
	l, dir := newTestLoader(t, clock)
	p := writeGate(t, dir, "wf", "0", gateV1)
	ctx := t.Context()

	g1, err := l.Gate(ctx, MustParseWorkflowName("wf"), 0)
	require.NoError(t, err)
	require.Len(t, g1.Fields, 1)

	require.NoError(t, os.WriteFile(p, []byte(gateV2), 0o644))
	g, err := l.Gate(ctx, MustParseWorkflowName("wf"), 0)
	require.NoError(t, err)
	assert.Same(t, g1, g, "within Recheck the cached gate is served without a look at the file")

	clock.Advance(2 * time.Second)
	gates := make([]*Gate, 100)
	testutil.Release(100, func(i int) {
		var err error
		if gates[i], err = l.Gate(ctx, MustParseWorkflowName("wf"), 0); err != nil {
			t.Errorf("Gate: %v", err)
		}
	})
	for i := range gates {
		if gates[i] != gates[0] {
			t.Errorf("goroutine %d got another gate object", i)
		}
	}
	assert.Len(t, gates[0].Fields, 2, "the edit is served after Recheck")
	assert.Equal(t, int64(2), l.Parses(), "one parse per version of the file")

	// Unchanged file: looked at again after Recheck, not parsed.
	clock.Advance(2 * time.Second)
	g, err = l.Gate(ctx, MustParseWorkflowName("wf"), 0)
	require.NoError(t, err)
	assert.Same(t, gates[0], g)
	assert.Equal(t, int64(2), l.Parses())

	// Same size, new modification time: a new version.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(p, later, later))
	clock.Advance(2 * time.Second)
	_, err = l.Gate(ctx, MustParseWorkflowName("wf"), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(3), l.Parses())

	// Forget skips the wait.
	require.NoError(t, os.WriteFile(p, []byte(gateV1+"\n"), 0o644))
	l.Forget(MustParseWorkflowName("wf"))
	g, err = l.Gate(ctx, MustParseWorkflowName("wf"), 0)
	require.NoError(t, err)
	assert.Len(t, g.Fields, 1)
	assert.Equal(t, int64(4), l.Parses())
}

func TestLoaderMissingGateIsPermissive(t *testing.T) {
	clock := newFakeClock()
	l, dir := newTestLoader(t, clock)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "wf", "phases", "3"), 0o755))
	g, err := l.Gate(t.Context(), MustParseWorkflowName("wf"), 3)
	require.NoError(t, err)
	assert.True(t, g.Permissive)
	assert.Equal(t, GateSourceNone, g.Source)
	r := Validate(g, map[string]any{})
	assert.True(t, r.CheckpointPassed)
	assert.NotEmpty(t, r.Warnings)

	// Workflow or phase folder missing altogether: permissive too.
	g, err = l.Gate(t.Context(), MustParseWorkflowName("nowf"), 9)
	require.NoError(t, err)
	assert.True(t, g.Permissive)

	// A gate file created later is picked up.
	writeGate(t, dir, "wf", "3", gateV1)
	clock.Advance(2 * time.Second)
	g, err = l.Gate(t.Context(), MustParseWorkflowName("wf"), 3)
	require.NoError(t, err)
	assert.False(t, g.Permissive)
	assert.Equal(t, "wf/phases/3/gate-definition.yaml", g.Source)
}

func TestLoaderBrokenGateIsParsedOncePerChange(t *testing.T) {
	clock := newFakeClock()
	l, dir := newTestLoader(t, clock)
	p := writeGate(t, dir, "wf", "1", "evidence_schema:\n  n:\n    type: date\n")
	for range 3 {
		_, err := l.Gate(t.Context(), MustParseWorkflowName("wf"), 1)
		require.ErrorIs(t, err, ErrInvalidGate)
		assert.Contains(t, err.Error(), "evidence_schema.n.type")
		clock.Advance(2 * time.Second)
	}
	assert.Equal(t, int64(1), l.Parses())
	require.NoError(t, os.WriteFile(p, []byte(gateV1), 0o644))
	clock.Advance(2 * time.Second)
	g, err := l.Gate(t.Context(), MustParseWorkflowName("wf"), 1)
	require.NoError(t, err)
	assert.Len(t, g.Fields, 1)
	assert.Equal(t, int64(2), l.Parses())
}

func TestLoaderRefusesTraversal(t *testing.T) {
	l, dir := newTestLoader(t, nil)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, GateFile), []byte(gateV1), 0o644))

	for _, name := range []string{"", "..", "../wf", "/etc", "wf/../x", "a/b", "a\x00b", ".hidden", `a\b`} {
		// The name is checked where it enters the program.
		_, err := ParseWorkflowName(name)
		require.ErrorIs(t, err, ErrInvalidArgument, "workflow %q", name)
	}
	_, err := l.Gate(t.Context(), MustParseWorkflowName("wf"), -1)
	require.ErrorIs(t, err, ErrInvalidArgument)

	// A gate file that is a symlink to a file outside the folder.
	phase := filepath.Join(dir, "wf", "phases", "1")
	require.NoError(t, os.MkdirAll(phase, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(outside, GateFile), filepath.Join(phase, GateFile)))
	_, err = l.Gate(t.Context(), MustParseWorkflowName("wf"), 1)
	require.Error(t, err, "a symlink leading outside must not be followed")
	require.NotErrorIs(t, err, ErrInvalidGate)

	// A workflow folder that is a symlink to a folder outside.
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "phases", "1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "phases", "1", GateFile), []byte(gateV1), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "linked")))
	_, err = l.Gate(t.Context(), MustParseWorkflowName("linked"), 1)
	require.Error(t, err)
}

func TestNewLoaderConfigErrors(t *testing.T) {
	_, err := NewLoader(LoaderConfig{})
	require.ErrorIs(t, err, ErrInvalidArgument)
	assert.Contains(t, err.Error(), "LoaderConfig.FS")
	_, err = NewLoader(LoaderConfig{FS: os.DirFS(t.TempDir()), Recheck: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	assert.Contains(t, err.Error(), "LoaderConfig.Recheck")
}

// Gate used to look a gate of a workflow it knew up with Get and then, on
// a miss, with GetOrLoad, so that such a miss was counted twice.
func TestLoaderCountsEachLookupOnce(t *testing.T) {
	clock := newFakeClock()
	l, dir := newTestLoader(t, clock)
	writeGate(t, dir, "wf", "1", gateV1)
	writeGate(t, dir, "wf", "2", gateV1)
	lookup := func(phase int) {
		t.Helper()
		_, err := l.Gate(t.Context(), MustParseWorkflowName("wf"), phase)
		require.NoError(t, err)
	}
	lookup(1) // miss: the workflow's first lookup
	lookup(1) // hit
	lookup(2) // miss: a known workflow, a phase not yet cached
	clock.Advance(2 * time.Second)
	lookup(1) // miss: Recheck has passed
	m := l.Metrics()
	assert.Equal(t, int64(3), m.Misses)
	assert.Equal(t, int64(3), m.Loads)
	assert.Equal(t, int64(1), m.Hits)
	assert.Equal(t, int64(1), m.Expirations)

	allocs := testing.AllocsPerRun(100, func() {
		if _, err := l.Gate(t.Context(), MustParseWorkflowName("wf"), 1); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "a hit allocates nothing")
}
