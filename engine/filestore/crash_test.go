package filestore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

// crashChildEnv, when set to a folder, makes the test binary act as the
// crash test's child: TestMain calls crashChild instead of running tests.
const crashChildEnv = "MCPFLOW_CRASH_CHILD_DIR"

// crashChildID is the session the child writes again and again.
const crashChildID = "5f0c5e4e-8d1b-4c52-9d0f-2b1a3c4d5e6f"

// crashChildBigEnv, when set, makes the child save the largest evidence
// CompletePhase accepts by default instead of a 36 KB one.
const crashChildBigEnv = "MCPFLOW_CRASH_CHILD_BIG"

// crashBlobLen is the length of the child's evidence blob; with the other
// fields, the evidence is JSON-encoded within state.DefaultMaxEvidenceBytes.
func crashBlobLen() int {
	if os.Getenv(crashChildBigEnv) != "" {
		return state.DefaultMaxEvidenceBytes - 64
	}
	return len("evidence ") * (4 << 10)
}

// crashChild saves a growing session state in a loop through a Store
// with real fsyncs, and reports each save that returned ("ack N") on
// stdout, until it is killed.
func crashChild() int {
	dir := os.Getenv(crashChildEnv)
	s, err := New(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var n int
	s.stage = func(step string) { _, _ = fmt.Fprintf(os.Stdout, "%s %d\n", step, n) }
	ctx := context.Background()
	// A large artifact makes each write long enough to be cut in the
	// middle.
	blob := strings.Repeat("e", crashBlobLen())
	var ver state.Version
	for n = 1; n <= 100000; n++ {
		now := time.Now().UTC()
		st := &state.SessionState{
			SessionID: crashChildID, WorkflowType: "demo", TargetFile: "crash.go",
			CurrentPhase: n % 3, CompletedPhases: []int{}, Status: state.StatusActive,
			PhaseArtifacts: map[int]*state.PhaseArtifact{0: {PhaseNumber: 0, Evidence: map[string]any{"blob": blob, "n": n}, Timestamp: now}},
			Checkpoints:    map[int]state.CheckpointStatus{0: state.CheckpointFailed},
			CreatedAt:      now, UpdatedAt: now,
			Metadata: map[string]any{"n": n},
		}
		if ver, err = s.Save(ctx, st, ver); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if _, err := fmt.Fprintf(os.Stdout, "ack %d\n", n); err != nil {
			return 2
		}
	}
	return 0
}

func TestCrashSafety(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	const runs = 20
	var cut, ahead int
	for run := range runs {
		dir := t.TempDir()
		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		// The last run saves the largest evidence allowed, 1 MiB a save.
		big := run == runs-1
		if big {
			cmd.Env = append(cmd.Env, crashChildBigEnv+"=1")
		}
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		// Kill during save number killAt (2 to 11), at a step that varies
		// with the run: just after the temporary file is opened, after it
		// is written, after its fsync, or once the save is acknowledged.
		killAt := 2 + run%10
		killStep := []string{"open", "written", "synced", "ack"}[run%4]
		// last is the last save acknowledged when the kill is sent. The
		// child goes on saving until the signal lands, so after the kill
		// the rest of its output is drained: lastAck and lastStarted bound
		// what the state file may hold (TestCrashSafety was flaky on a
		// loaded machine when it assumed at most one save past last).
		last, lastAck, lastStarted := 0, 0, 0
		killed := false
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			step, num, ok := strings.Cut(sc.Text(), " ")
			n, err := strconv.Atoi(num)
			require.True(t, ok && err == nil, "child said %q", sc.Text())
			switch step {
			case "ack":
				lastAck = max(lastAck, n)
			case "open":
				lastStarted = max(lastStarted, n)
			}
			if !killed && step == "ack" {
				last = n
			}
			if !killed && n == killAt && step == killStep {
				require.NoError(t, cmd.Process.Kill()) // SIGKILL
				killed = true
			}
		}
		_ = cmd.Wait()
		require.True(t, killed, "run %d: the child exited before the kill", run)
		if killStep == "ack" {
			require.Equal(t, killAt, last, "run %d: the child stopped early", run)
		} else {
			require.Equal(t, killAt-1, last, "run %d: the child stopped early", run)
		}

		// Every state file parses and holds the last acknowledged state,
		// or a later one whose rename landed before the kill did.
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			switch {
			case e.Name() == lockFileName:
			case strings.HasPrefix(e.Name(), tempPrefix):
				cut++
			default:
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				require.NoError(t, err)
				_, _, err = state.DecodeState(data)
				require.NoError(t, err, "run %d: %s is torn", run, e.Name())
			}
		}
		s, err := New(dir)
		require.NoError(t, err)
		st, ver, err := s.Load(t.Context(), crashChildID)
		require.NoError(t, err, "run %d", run)
		n := int(st.Metadata["n"].(float64))
		if n > last {
			ahead++
		}
		if n < max(last, lastAck) || n > lastStarted {
			t.Errorf("run %d: state holds save %d; acknowledged up to %d, started up to %d", run, n, max(last, lastAck), lastStarted)
		}
		assert.Equal(t, state.Version(n), ver)
		assert.EqualValues(t, n, st.PhaseArtifacts[0].Evidence["n"])
		if big {
			ev, err := json.Marshal(st.PhaseArtifacts[0].Evidence)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(ev), state.DefaultMaxEvidenceBytes, "the evidence is within the limit")
			assert.Greater(t, len(ev), state.DefaultMaxEvidenceBytes-100, "the evidence is the largest allowed")
		}
		entries, err = os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 2, "run %d: NewFileStore removes temporary files left by the crash (the state and lock files remain)", run)
		require.NoError(t, s.Close())
	}
	t.Logf("%d runs: %d killed during a write (temporary file left), %d after a rename that was not yet acknowledged", runs, cut, ahead)
}

func TestFileStoreRoundTripAndVersions(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	id := uuid.NewString()
	// State files keep microseconds, as prAxIs OS writes them.
	now := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	st := &state.SessionState{SessionID: id, WorkflowType: "w", TargetFile: "t", CurrentPhase: 2, CompletedPhases: []int{0, 1},
		PhaseArtifacts: map[int]*state.PhaseArtifact{1: {PhaseNumber: 1, Evidence: map[string]any{"a": "b"}, Timestamp: now, Attempts: 2}},
		Checkpoints:    map[int]state.CheckpointStatus{0: state.CheckpointPassed, 1: state.CheckpointPassed, 2: state.CheckpointPending},
		Status:         state.StatusActive, CreatedAt: now, UpdatedAt: now, Metadata: map[string]any{"k": "v"}}

	v, err := s.Save(ctx, st, 0)
	require.NoError(t, err)
	assert.Equal(t, state.Version(1), v)
	got, v, err := s.Load(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, state.Version(1), v)
	assert.Equal(t, st, got)

	fi, err := os.Stat(filepath.Join(dir, id+".json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(filepath.Join(dir, id+".json"))
	require.NoError(t, err)
	for _, k := range []string{"session_id", "workflow_type", "target_file", "current_phase", "completed_phases", "phase_artifacts", "checkpoints", "created_at", "updated_at", "metadata", "status", "version"} {
		assert.Contains(t, string(data), `"`+k+`"`)
	}
	assert.Contains(t, string(data), `"1":{`, "phase keys are strings, as prAxIs OS writes them")

	_, err = s.Save(ctx, st, 0)
	require.ErrorIs(t, err, state.ErrConflict, "create of an existing session")
	v, err = s.Save(ctx, st, 1)
	require.NoError(t, err)
	assert.Equal(t, state.Version(2), v)
	_, err = s.Save(ctx, st, 1)
	require.ErrorIs(t, err, state.ErrConflict, "stale version")
	assert.Contains(t, err.Error(), "version 2, expected 1")

	require.NoError(t, s.Delete(ctx, id))
	_, _, err = s.Load(ctx, id)
	require.ErrorIs(t, err, state.ErrNotFound)
	_, err = s.Save(ctx, st, 2)
	require.ErrorIs(t, err, state.ErrNotFound, "a deleted session is not written back")
	require.ErrorIs(t, s.Delete(ctx, id), state.ErrNotFound)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, lockFileName, entries[0].Name(), "only the lock file is left")
}

func TestFileStoreRefusesBadIDsAndPaths(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	for _, id := range []string{"", "../x", "/etc/passwd", "a\x00b", "..", "123E4567-E89B-42D3-A456-426614174000x"} {
		_, _, err := s.Load(ctx, id)
		require.ErrorIs(t, err, state.ErrInvalidArgument, "%q", id)
		require.ErrorIs(t, s.Delete(ctx, id), state.ErrInvalidArgument)
		_, err = s.Save(ctx, &state.SessionState{SessionID: id, WorkflowType: "w"}, 0)
		require.ErrorIs(t, err, state.ErrInvalidArgument)
	}
	_, err = s.Save(ctx, &state.SessionState{SessionID: strings.ToUpper(uuid.NewString()), WorkflowType: "w"}, 0)
	require.ErrorIs(t, err, state.ErrInvalidArgument, "Save wants the canonical form")

	// A state file that is a symlink to a file outside the folder.
	id := uuid.NewString()
	secret := filepath.Join(outside, "secret.json")
	require.NoError(t, os.WriteFile(secret, []byte(`{"session_id": "`+id+`", "workflow_type": "leak"}`), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(dir, id+".json")))
	st, _, err := s.Load(ctx, id)
	require.Error(t, err)
	assert.Nil(t, st)
	list, err := s.List(ctx)
	require.NoError(t, err)
	for _, l := range list {
		assert.NotEqual(t, "leak", l.WorkflowType)
	}
	_, err = s.Save(ctx, &state.SessionState{SessionID: id, WorkflowType: "w"}, 1)
	require.Error(t, err)
	data, err := os.ReadFile(secret)
	require.NoError(t, err)
	assert.Contains(t, string(data), "leak", "the file outside is untouched")
}

func TestFileStoreCleansTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	id := uuid.NewString()
	writeFiles(t, dir, map[string]string{
		tempPrefix + "0011-" + id + ".json": `{"session_id": "` + id + `", "workf`,
		"README.txt":                        "kept",
	})
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{lockFileName, "README.txt"}, names)
	list, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestDecodeStateErrorsNameTheField(t *testing.T) {
	tests := []struct{ json, field string }{
		{`{`, "JSON"},
		{`{"workflow_type": "w"}`, "session_id"},
		{`{"session_id": "x"}`, "workflow_type"},
		{`{"session_id": "x", "workflow_type": "w", "current_phase": -1}`, "current_phase"},
		{`{"session_id": "x", "workflow_type": "w", "status": "paused"}`, "status"},
		{`{"session_id": "x", "workflow_type": "w", "created_at": "yesterday"}`, "timestamp"},
		{`{"session_id": "x", "workflow_type": "w", "version": -3}`, "version"},
	}
	for _, tt := range tests {
		_, _, err := state.DecodeState([]byte(tt.json))
		require.Error(t, err, tt.json)
		assert.Contains(t, err.Error(), tt.field)
	}
}

// TestFileStoreSeesExternalWrites: the version check notices a file that
// another process replaced or rewrote, though this store last wrote it.
func TestFileStoreSeesExternalWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	ctx := t.Context()
	st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "w"}
	_, err = s.Save(ctx, st, 0)
	require.NoError(t, err)
	other := *st
	other.TargetFile = "written by someone else"
	data, err := state.EncodeState(&other, 5)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, st.SessionID+".json"), data, 0o600))
	_, err = s.Save(ctx, st, 1)
	require.ErrorIs(t, err, state.ErrConflict)
	assert.Contains(t, err.Error(), "version 5, expected 1")
	v, err := s.Save(ctx, st, 5)
	require.NoError(t, err)
	assert.Equal(t, state.Version(6), v)
}

// TestFileStoreTwoHandlesOneWinner: Stores on one folder, as two
// processes would hold, let exactly one of concurrent saves at a version
// win.
func TestFileStoreTwoHandlesOneWinner(t *testing.T) {
	dir := t.TempDir()
	var stores [2]*Store
	for i := range stores {
		s, err := New(dir)
		require.NoError(t, err)
		s.noSync = true
		// Widen the window between the version check and the rename.
		s.stage = func(step string) {
			if step == "synced" {
				runtime.Gosched()
			}
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}
	ctx := t.Context()
	st := &state.SessionState{SessionID: uuid.NewString(), WorkflowType: "w"}
	_, err := stores[0].Save(ctx, st, 0)
	require.NoError(t, err)
	for round := state.Version(1); round <= 5; round++ {
		var wins, conflicts atomic.Int64
		testutil.Release(50, func(i int) {
			mine := *st
			mine.TargetFile = fmt.Sprint(i)
			_, err := stores[i%2].Save(ctx, &mine, round)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, state.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("save: %v", err)
			}
		})
		assert.Equal(t, int64(1), wins.Load(), "round %d", round)
		assert.Equal(t, int64(49), conflicts.Load(), "round %d", round)
	}
	_, ver, err := stores[1].Load(ctx, st.SessionID)
	require.NoError(t, err)
	assert.Equal(t, state.Version(6), ver)
}
