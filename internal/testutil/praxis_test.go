package testutil

import (
	"fmt"
	"strings"
	"testing"
)

// recordingTB collects Errorf calls instead of failing.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckPraxisStateRefusesWhatFromDictCannotRead: a state file as
// mcpflow wrote it before it wrote prAxIs OS's format (zoned timestamps,
// no outputs, no commands_executed, null metadata) fails the check, field
// by field; prAxIs OS's own shape passes.
func TestCheckPraxisStateRefusesWhatFromDictCannotRead(t *testing.T) {
	old := `{"session_id":"s","workflow_type":"w","target_file":"t","current_phase":1,"completed_phases":[0],
"phase_artifacts":{"0":{"phase_number":0,"evidence":{"a":1},"timestamp":"2025-01-02T03:04:05.000000006Z","attempts":1}},
"checkpoints":{"0":"passed","1":"pending"},"status":"active","created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","metadata":null}`
	r := &recordingTB{TB: t}
	CheckPraxisState(r, []byte(old))
	all := strings.Join(r.errs, "\n")
	for _, want := range []string{"phase_artifacts[0].outputs", "phase_artifacts[0].commands_executed", "phase_artifacts[0].timestamp", "created_at", "updated_at", "metadata must be an object"} {
		if !strings.Contains(all, want) {
			t.Errorf("the check does not report %s; it reported:\n%s", want, all)
		}
	}

	good := `{"session_id":"s","workflow_type":"w","target_file":"t","current_phase":1,"completed_phases":[0],
"phase_artifacts":{"0":{"phase_number":0,"evidence":{"a":1},"outputs":{},"commands_executed":[],"timestamp":"2025-01-02T03:04:05.000006"}},
"checkpoints":{"0":"passed"},"created_at":"2025-01-02T03:04:05","updated_at":"2025-01-02T03:04:05.123456","metadata":{"total_phases":3,"paused":true}}`
	r = &recordingTB{TB: t}
	CheckPraxisState(r, []byte(good))
	if len(r.errs) > 0 {
		t.Errorf("prAxIs OS's own shape fails the check: %v", r.errs)
	}
}
