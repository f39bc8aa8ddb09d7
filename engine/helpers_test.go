package engine

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type fakeClock = testutil.Clock

func newFakeClock() *fakeClock {
	return testutil.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

// countingStore counts the calls that reach a Store. hold, when set, makes
// Load wait until it is closed.
type countingStore struct {
	state.Store
	loads, creates, saves, deletes atomic.Int64
	hold                           chan struct{}
}

func (c *countingStore) Load(ctx context.Context, id string) (*state.SessionState, state.Version, error) {
	c.loads.Add(1)
	if c.hold != nil {
		<-c.hold
	}
	return c.Store.Load(ctx, id)
}

func (c *countingStore) Save(ctx context.Context, st *state.SessionState, expected state.Version) (state.Version, error) {
	if expected == 0 {
		c.creates.Add(1)
	}
	c.saves.Add(1)
	return c.Store.Save(ctx, st, expected)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

type syncBuffer = testutil.Buffer

// env is one engine under test with its folders.
type env struct {
	*Engine
	stateDir, wfDir string
	store           *countingStore
	fstore          *filestore.Store
	clock           *fakeClock
	logs            *syncBuffer
}

type envOpt func(*Config)

// newEnv starts an engine on a fresh state folder and, when wfDir is not
// "", on that workflows folder (else on the built-in samples).
func newEnv(t *testing.T, wfDir string, opts ...envOpt) *env {
	t.Helper()
	return newEnvAt(t, wfDir, t.TempDir(), opts...)
}

func newEnvAt(t *testing.T, wfDir, stateDir string, opts ...envOpt) *env {
	t.Helper()
	fs, err := filestore.New(stateDir)
	require.NoError(t, err)
	fs.SetNoSync(true) // the crash test exercises the real fsyncs
	en := &env{stateDir: stateDir, wfDir: wfDir, fstore: fs, store: &countingStore{Store: fs}, clock: newFakeClock(), logs: &syncBuffer{}}
	cfg := Config{
		WorkflowsDir: wfDir,
		Store:        en.store,
		Clock:        en.clock,
		GateRecheck:  time.Second,
		Logger:       slog.New(slog.NewTextHandler(en.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := New(cfg)
	require.NoError(t, err)
	en.Engine = e
	t.Cleanup(func() {
		_ = e.Close()
		_ = fs.Close()
	})
	return en
}

// demoMetadata is a three-phase workflow numbered from 0: phase 0 has a
// strict gate, phase 1 no gate, phase 2 a lenient gate.
const demoMetadata = `{
  "workflow_type": "demo",
  "version": "0.1.0",
  "name": "Demo",
  "description": "test workflow",
  "total_phases": 3,
  "estimated_duration": "1 hour",
  "primary_outputs": ["x"],
  "unknown_field": {"tolerated": true},
  "phases": [
    {"phase_number": 0, "phase_name": "Zero", "purpose": "p0", "estimated_effort": "1m",
     "key_deliverables": ["a"], "validation_criteria": ["b"],
     "tasks": [{"task_number": 0, "name": "Task zero", "file": "task-0-zero.md", "purpose": "tz"},
               {"task_number": 1, "name": "Task one", "file": "task-1-one.md"}]},
    {"phase_number": 1, "phase_name": "One", "purpose": "p1", "estimated_effort": "1m",
     "key_deliverables": [], "validation_criteria": [],
     "tasks": [{"task_number": 1, "name": "Only", "file": "task-1-only.md"}]},
    {"phase_number": 2, "phase_name": "Two", "purpose": "p2", "estimated_effort": "1m",
     "key_deliverables": [], "validation_criteria": [], "tasks": []}
  ]
}`

const demoGate0 = `checkpoint:
  strict: true
evidence_schema:
  n:
    type: integer
    required: true
    min: 1
  note:
    type: string
`

const demoGate2 = `checkpoint:
  strict: false
evidence_schema:
  ok:
    type: boolean
    required: true
`

// writeFiles writes files (path relative to dir -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// demoWorkflows returns a workflows folder holding the demo workflow.
func demoWorkflows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"demo/metadata.json":                 demoMetadata,
		"demo/phases/0/phase.md":             "# Phase zero\n",
		"demo/phases/0/task-0-zero.md":       "task zero text\n",
		"demo/phases/0/task-1-one.md":        "task one text\n",
		"demo/phases/0/gate-definition.yaml": demoGate0,
		"demo/phases/1/phase.md":             "# Phase one\n",
		"demo/phases/1/task-1-only.md":       "only task\n",
		"demo/phases/2/phase.md":             "# Phase two\n",
		"demo/phases/2/gate-definition.yaml": demoGate2,
	})
	return dir
}

// passing evidence for each demo phase.
var demoPass = map[int]map[string]any{0: {"n": 3}, 1: {}, 2: {"ok": true}}

func (en *env) stateFiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(en.stateDir, "*.json"))
	require.NoError(t, err)
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }

func writeFileB(b *testing.B, dir, name, content string) {
	b.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}
