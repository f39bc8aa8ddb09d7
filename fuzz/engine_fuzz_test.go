package fuzz

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"regexp"
	"testing"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/workflows"
)

// metadataErr is the shape of every ParseMetadata error: the sentinel, then
// the field path (or "(file)"), then the reason.
var metadataErr = regexp.MustCompile(`^engine: corrupt: metadata\.json: (\(file\)|[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*): \S`)

// FuzzParseMetadata: any bytes give a Metadata or an error that names the
// field at fault; never a panic.
func FuzzParseMetadata(f *testing.F) {
	_ = fs.WalkDir(workflows.BuiltinWorkflows(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "metadata.json" {
			if b, err := fs.ReadFile(workflows.BuiltinWorkflows(), p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"phases": [{"phase_number": "1-N"}]}`, `{"total_phases": "dynamic"}`,
		`{"total_phases": 1e3, "phases": [{"phase_number": 0, "tasks": [{"task_number": 0, "file": "a.md"}]}]}`,
		`{"phases": [{"phase_number": 1, "tasks": [{"task_number": -1}]}]}`, `{"version": 1.5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := workflows.ParseMetadata(data)
		if err != nil {
			if !errors.Is(err, workflows.ErrMetadata) || !errors.Is(err, state.ErrCorrupt) {
				t.Fatalf("error does not wrap ErrMetadata and ErrCorrupt: %v", err)
			}
			if !metadataErr.MatchString(err.Error()) {
				t.Fatalf("error does not name its field: %q", err)
			}
			return
		}
		if m.TotalPhases.N < 0 {
			t.Fatalf("negative total_phases %d", m.TotalPhases.N)
		}
		for i := range m.Phases {
			p := &m.Phases[i]
			if p.PhaseNumber < 0 {
				t.Fatalf("negative phase_number %d", p.PhaseNumber)
			}
			for _, task := range p.Tasks {
				if task.TaskNumber < 0 {
					t.Fatalf("negative task_number %d", task.TaskNumber)
				}
			}
		}
	})
}

// FuzzDecodeState: any bytes give a state or an error, never a panic; a
// state that decodes survives an encode and a decode unchanged.
func FuzzDecodeState(f *testing.F) {
	for _, s := range []string{
		`{"session_id": "x", "workflow_type": "w"}`,
		`{"session_id": "x", "workflow_type": "w", "current_phase": 1, "completed_phases": [0], "phase_artifacts": {"0": {"phase_number": 0, "evidence": {"a": 1}, "timestamp": "2025-10-06T12:34:56.789012"}}, "checkpoints": {"0": "passed"}, "created_at": "2025-10-06T12:00:00", "updated_at": "2025-10-06T12:00:00Z", "metadata": {"k": [1, "x"]}, "status": "active", "version": 4}`,
		`{"session_id": "x", "workflow_type": "w", "phase_artifacts": {"a": {}}}`,
		`{"session_id": "x", "workflow_type": "w", "status": "completed", "phase_artifacts": {"1": null}}`,
		`{"session_id": "x", "workflow_type": "w", "created_at": "2025-10-06T12:00:00.123456789Z", "metadata": {"paused": true, "mcpflow": {"pause_reason": "r", "paused_at": "2025-10-06T12:00:00", "failed_attempts": [{"phase": 1, "attempt": 2, "errors": ["e"], "at": "2025-10-06T12:00:00.5"}], "history": [{"phase": 0, "reason": "rollback", "at": "2025-10-06T12:00:00", "checkpoint": "passed", "artifact": {"phase_number": 0, "evidence": {}, "timestamp": "2025-10-06T12:00:00"}}]}}}`,
		`{"session_id": "x", "workflow_type": "w", "current_phase": 3, "completed_phases": [0, 1, 2], "metadata": {"total_phases": 3}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, ver, err := state.DecodeState(data)
		if err != nil {
			return
		}
		if ver < 1 {
			t.Fatalf("version %d of a decoded file", ver)
		}
		enc, err := state.EncodeState(st, ver)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		st2, ver2, err := state.DecodeState(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		a, _ := json.Marshal(st)
		b, _ := json.Marshal(st2)
		if ver2 != ver || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(st, st2) {
			t.Fatalf("round trip changed the state:\n%s\n%s", a, b)
		}
	})
}
