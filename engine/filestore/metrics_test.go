package filestore

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/engine/storetest"
	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/metrics"
)

// TestMetricsCountExactly: n goroutines, released together, check the
// version of every one of k sessions and list a page; the stamp and
// summary index counters hold exactly one hit or miss per check and per
// list. Then another Store on the folder (another process) saves session
// 0 and a file nobody saved is put in the folder: every check of session
// 0 at the old version is a miss (a read), the other sessions' checks are
// hits, one list of all n applies the change (a miss and one file read)
// and the others are hits; the other Store's open read every file, one of
// which did not decode.
func TestMetricsCountExactly(t *testing.T) {
	const k = 4
	for _, n := range []int{1, runtime.GOMAXPROCS(0), 100} {
		t.Run(fmt.Sprintf("ConcurrentSharedKeys/n=%d", n), func(t *testing.T) {
			dir := t.TempDir()
			a := newIndexStore(t, dir)
			ctx := t.Context()
			sts := make([]*state.SessionState, k)
			for i := range sts {
				sts[i] = storetest.State()
				_, err := a.Save(ctx, sts[i], 0)
				require.NoError(t, err)
			}
			m := a.Metrics()
			require.Equal(t, metrics.Snapshot{Entries: k}, m[MetricsStamps], "a create checks no stamp: there is no file yet")
			require.Equal(t, metrics.Snapshot{Entries: k}, m[MetricsSummaries])

			round := func() {
				testutil.Release(n, func(int) {
					for _, st := range sts {
						if _, _, err := a.LoadNewer(ctx, state.MustParseSessionID(st.SessionID), 1); err != nil {
							t.Errorf("LoadNewer: %v", err)
						}
					}
					if _, err := a.ListPage(ctx, state.PageQuery{Limit: 10}); err != nil {
						t.Errorf("ListPage: %v", err)
					}
				})
			}
			round()
			m = a.Metrics()
			assert.Equal(t, metrics.Snapshot{Hits: int64(n * k), Entries: k, HitRate: 1}, m[MetricsStamps])
			assert.Equal(t, metrics.Snapshot{Hits: int64(n), Entries: k, HitRate: 1}, m[MetricsSummaries])

			require.NoError(t, os.WriteFile(filepath.Join(dir, storetest.State().SessionID+".json"), []byte("garbage"), 0o600))
			b := newIndexStore(t, dir)
			next := *sts[0]
			next.CurrentPhase = 1
			_, err := b.Save(ctx, &next, 1)
			require.NoError(t, err)
			mb := b.Metrics()
			assert.Equal(t, metrics.Snapshot{Hits: 2, Entries: k, HitRate: 1}, mb[MetricsStamps],
				"b read every file when it opened: both checks of its save are stats")
			assert.Equal(t, metrics.Snapshot{Loads: k + 1, LoadErrors: 1, Entries: k + 1}, mb[MetricsSummaries])

			round()
			m = a.Metrics()
			hits, misses := int64(n*(2*k-1)), int64(n)
			assert.Equal(t, metrics.Snapshot{Hits: hits, Misses: misses, Entries: k, HitRate: metrics.HitRate(hits, misses)}, m[MetricsStamps],
				"session 0 is at version 2 now: every check at version 1 reads the file")
			assert.Equal(t, metrics.Snapshot{Hits: int64(2*n - 1), Misses: 1, Loads: 1, Entries: k, HitRate: metrics.HitRate(int64(2*n-1), 1)}, m[MetricsSummaries],
				"one list applies b's change, reading one file; the journal does not name the garbage file")
		})
	}
}
