package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/metrics"
)

// TestFileCacheCountersExact: n goroutines, released together, each read
// the demo workflow's metadata.json and its three gates (phases 0 and 2
// have a file, phase 1 none). Metrics and Parses then count exactly: per
// key one miss (one look at the file) and every other read a hit or a
// coalesced wait; one parse per file that exists. A second round is all
// hits. After metadata.json and phase 2's gate change and GateRecheck
// passes, a third round looks at every key once more and parses exactly
// the two changed files.
func TestFileCacheCountersExact(t *testing.T) {
	const gates = 3
	for _, n := range goroutineCounts() {
		t.Run(fmt.Sprintf("ConcurrentSharedKeys/n=%d", n), func(t *testing.T) {
			en := newEnv(t, demoWorkflows(t))
			base := en.Metrics()
			baseParses := en.Parses()
			round := func() {
				testutil.Release(n, func(int) {
					if _, err := en.metadata(t.Context(), MustParseWorkflowName("demo")); err != nil {
						t.Errorf("metadata: %v", err)
					}
					for phase := range gates {
						if _, err := en.gates.Gate(t.Context(), MustParseWorkflowName("demo"), phase); err != nil {
							t.Errorf("gate %d: %v", phase, err)
						}
					}
				})
			}
			// check compares the counters gained since base with what
			// rounds of n readers give: misses looks per key, parses
			// parses.
			check := func(name string, keys, rounds, misses, parses int64) {
				t.Helper()
				got, was := en.Metrics()[name], base[name]
				d := metrics.Snapshot{Hits: got.Hits - was.Hits, Misses: got.Misses - was.Misses, Loads: got.Loads - was.Loads, Coalesced: got.Coalesced - was.Coalesced}
				assert.Equal(t, misses, d.Misses, "%s: one miss per look at a file", name)
				assert.Equal(t, misses, d.Loads, "%s: one load per miss", name)
				assert.Equal(t, rounds*int64(n)*keys-misses, d.Hits+d.Coalesced, "%s: every other read is a hit or a wait", name)
				assert.Equal(t, parses, en.Parses()[name]-baseParses[name], "%s: parses", name)
			}
			round()
			check("metadata", 1, 1, 1, 1)
			check("gates", gates, 1, gates, 2)

			before := en.Metrics()
			round()
			after := en.Metrics()
			for _, c := range []struct {
				name string
				keys int64
			}{{"metadata", 1}, {"gates", gates}} {
				assert.Equal(t, int64(n)*c.keys, after[c.name].Hits-before[c.name].Hits, "%s: a second round only hits", c.name)
				assert.Equal(t, before[c.name].Misses, after[c.name].Misses, c.name)
			}

			for name, content := range map[string]string{"demo/metadata.json": demoMetadata + " ", "demo/phases/2/gate-definition.yaml": demoGate2 + "\n"} {
				require.NoError(t, os.WriteFile(filepath.Join(en.wfDir, filepath.FromSlash(name)), []byte(content), 0o644))
			}
			en.clock.Advance(2 * time.Second) // past GateRecheck
			round()
			check("metadata", 1, 3, 2, 2)
			check("gates", gates, 3, 2*gates, 3)
		})
	}
}
