package server

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpflow/mcpflow/engine"
)

// BenchmarkPosReply measures turning a get_current_phase result (20
// tasks, 8 KB of content) into pos_workflow's reply and encoding it: the
// typed reply, against re-encoding the result to a JSON map first (what
// pos_workflow did before its replies were typed, without the patching).
func BenchmarkPosReply(b *testing.B) {
	v := &engine.PhaseView{SessionID: "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53", WorkflowType: "spec_execution_v1", TotalPhases: 5}
	v.Phase, v.PhaseName, v.Content, v.Source = 2, "Instrumentation", strings.Repeat("phase text ", 750), engine.SourceDynamic
	v.ValidationGate = []string{"all tests pass", "metrics exported", "reviewed"}
	for i := range 20 {
		v.Tasks = append(v.Tasks, engine.TaskInfo{TaskNumber: i + 1, Name: "Task " + strconv.Itoa(i), File: "tasks.md", Purpose: "do it", EstimatedTime: "1 hour", Dependencies: []string{"1.2"}})
	}
	out := newPhaseOut(v)
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(posReply("get_phase", out)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := asMap(out)
			if err != nil {
				b.Fatal(err)
			}
			m["status"], m["action"] = posSuccess, "get_phase"
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
