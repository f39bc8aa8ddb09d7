package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// PraxisDataEnv names the environment variable that points tests at the
// real prAxIs OS project data when it is not beside the module.
const PraxisDataEnv = "MCPFLOW_PRAXIS_DATA"

// PraxisData returns the folder of real prAxIs OS project data (session
// files under state/, specs under specs/): $MCPFLOW_PRAXIS_DATA when set,
// else ../shared/data/praxis beside the module root, where CI keeps it.
// The test is skipped, saying why, when the folder does not exist. Those
// files are inputs to test against, never copied into the repository.
func PraxisData(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(PraxisDataEnv)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			tb.Skipf("real prAxIs OS data: cannot find the module root: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "data", "praxis")
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		tb.Skipf("real prAxIs OS data not found at %s (CI has it; set %s to its folder to run this test)", dir, PraxisDataEnv)
	}
	return dir
}

// moduleRoot returns the nearest folder at or above the working folder
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// naiveISO is a timestamp as Python's datetime.isoformat() writes a naive
// datetime; datetime.fromisoformat reads it back as naive, the kind
// prAxIs OS compares with datetime.now().
var naiveISO = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$`)

// CheckPraxisState reports, as test errors, whatever in doc (a session
// state file) prAxIs OS's WorkflowState.from_dict could not read, and
// returns doc decoded. The checks follow from_dict's source
// (honeyhiveai/praxis-os, mcp_server/models/workflow.py):
//
//   - WorkflowState.from_dict reads data["session_id"], ["workflow_type"],
//     ["target_file"], ["current_phase"], ["completed_phases"],
//     ["phase_artifacts"] (.items(), int(key)), ["checkpoints"] (.items(),
//     int(key), CheckpointStatus(value): pending, passed, failed or
//     skipped), datetime.fromisoformat(["created_at"]) and
//     (["updated_at"]), and data.get("metadata", {}); it ignores other
//     keys;
//   - PhaseArtifact.from_dict reads ["phase_number"], ["evidence"],
//     ["outputs"], ["commands_executed"] (iterated, each through
//     CommandExecution.from_dict: command, output, exit_code, executed_at,
//     duration_ms) and fromisoformat(["timestamp"]);
//   - is_complete reads metadata.get("total_phases") as a number, and its
//     session handlers metadata.get("paused") as a flag.
//
// Timestamps must be naive, as prAxIs OS writes them: it compares them
// with its own naive datetime.now().
func CheckPraxisState(tb testing.TB, doc []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		tb.Fatalf("state file is not a JSON object: %v", err)
	}
	str := func(where string, v any) {
		if _, ok := v.(string); !ok {
			tb.Errorf("%s must be a string, got %T", where, v)
		}
	}
	integer := func(where string, v any) {
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			tb.Errorf("%s must be an integer, got %v", where, v)
		}
	}
	object := func(where string, v any) map[string]any {
		o, ok := v.(map[string]any)
		if !ok {
			tb.Errorf("%s must be an object, got %T", where, v)
		}
		return o
	}
	list := func(where string, v any) []any {
		l, ok := v.([]any)
		if !ok {
			tb.Errorf("%s must be a list, got %T", where, v)
		}
		return l
	}
	iso := func(where string, v any) {
		if s, _ := v.(string); !naiveISO.MatchString(s) {
			tb.Errorf("%s must be a naive ISO timestamp such as 2025-10-20T18:36:02.750704, got %v", where, v)
		}
	}
	intKey := func(where, k string) {
		if _, err := strconv.Atoi(k); err != nil {
			tb.Errorf("%s key %q must read as int()", where, k)
		}
	}
	for _, k := range []string{"session_id", "workflow_type", "target_file"} {
		str(k, m[k])
	}
	integer("current_phase", m["current_phase"])
	for _, p := range list("completed_phases", m["completed_phases"]) {
		integer("completed_phases[]", p)
	}
	for k, v := range object("phase_artifacts", m["phase_artifacts"]) {
		intKey("phase_artifacts", k)
		a := object("phase_artifacts["+k+"]", v)
		integer("phase_artifacts["+k+"].phase_number", a["phase_number"])
		object("phase_artifacts["+k+"].evidence", a["evidence"])
		object("phase_artifacts["+k+"].outputs", a["outputs"])
		for _, c := range list("phase_artifacts["+k+"].commands_executed", a["commands_executed"]) {
			cm := object("phase_artifacts["+k+"].commands_executed[]", c)
			for _, f := range []string{"command", "output", "exit_code", "executed_at", "duration_ms"} {
				if _, ok := cm[f]; !ok {
					tb.Errorf("phase_artifacts[%s].commands_executed[] lacks %s", k, f)
				}
			}
		}
		iso("phase_artifacts["+k+"].timestamp", a["timestamp"])
	}
	for k, v := range object("checkpoints", m["checkpoints"]) {
		intKey("checkpoints", k)
		if !slices.Contains([]any{"pending", "passed", "failed", "skipped"}, v) {
			tb.Errorf("checkpoints[%s] must be pending, passed, failed or skipped, got %v", k, v)
		}
	}
	iso("created_at", m["created_at"])
	iso("updated_at", m["updated_at"])
	md := object("metadata", m["metadata"])
	if tp, ok := md["total_phases"]; ok {
		integer("metadata.total_phases", tp)
	}
	if p, ok := md["paused"]; ok {
		if _, isBool := p.(bool); !isBool {
			tb.Errorf("metadata.paused must be true or false, got %T", p)
		}
	}
	return m
}
