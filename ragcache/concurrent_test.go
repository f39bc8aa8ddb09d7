package ragcache

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitUntil spins (yielding, never sleeping) until cond holds or the
// deadline passes, and reports whether cond held.
func waitUntil(deadline time.Duration, cond func() bool) bool {
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		runtime.Gosched()
	}
	return true
}

func TestSearchConcurrentSharedKeys(t *testing.T) {
	for _, n := range []int{1, runtime.GOMAXPROCS(0), 64, 128} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var ix *Index
			// The one index search waits until every other caller is
			// waiting for it, so the test proves coalescing, not just
			// caching after the fact.
			ix = openTest(t, Config{Dir: corpus}, hooks{beforeSearch: func() {
				ok := waitUntil(10*time.Second, func() bool { return ix.Metrics().Coalesced == int64(n-1) })
				if !ok {
					t.Errorf("only %d of %d callers waited for the search", ix.Metrics().Coalesced, n-1)
				}
			}})
			start := make(chan struct{})
			results := make([]Result, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					r, err := ix.Search(t.Context(), Query{Text: "rotate the leaked key"})
					if err != nil {
						t.Errorf("goroutine %d: %v", i, err)
					}
					results[i] = r
				})
			}
			close(start)
			wg.Wait()

			assert.Equal(t, int64(1), ix.Stats().Searches, "exactly one index search")
			m := ix.Metrics()
			assert.Equal(t, int64(1), m.Loads)
			assert.Equal(t, int64(n-1), m.Coalesced)
			assert.Equal(t, int64(1), m.Misses)
			assert.Zero(t, m.Hits)
			misses := 0
			for i, r := range results {
				if !r.CacheHit {
					misses++
				}
				require.NotEmpty(t, r.Chunks, "goroutine %d", i)
				assert.Equal(t, results[0].Chunks, r.Chunks, "goroutine %d", i)
			}
			assert.Equal(t, 1, misses, "exactly one caller ran the search")
		})
	}
}

func TestSearchConcurrentUnsharedKeys(t *testing.T) {
	queries := []string{"secrets", "injection", "migration", "logging", "pagination", "keyboard", "postmortem", "readme"}
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	want := make(map[string]Result)
	for _, q := range queries {
		r, err := ix.Search(t.Context(), Query{Text: q, Limit: 2})
		require.NoError(t, err)
		want[q] = r
	}
	for _, n := range []int{1, runtime.GOMAXPROCS(0), 100} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					for j := range 20 {
						q := queries[(i+j)%len(queries)]
						// Vary the limit so some queries miss the cache.
						limit := 2
						if j%3 == 0 {
							limit = 1 + i%4
						}
						r, err := ix.Search(t.Context(), Query{Text: strings.ToUpper(q), Limit: limit})
						if err != nil {
							t.Errorf("goroutine %d: %v", i, err)
							return
						}
						w := want[q].Chunks
						if len(r.Chunks) == 0 || r.Chunks[0].File != w[0].File || r.Chunks[0].Section != w[0].Section {
							t.Errorf("goroutine %d, query %q: top result %v, want %s %s", i, q, r.Chunks, w[0].File, w[0].Section)
							return
						}
					}
				})
			}
			close(start)
			wg.Wait()
		})
	}
}

// TestSearchRaceReindex runs searches while another goroutine rewrites the
// corpus and reindexes in a loop. No search may fail, and a search that
// starts after it has observed generation g must see the corpus of
// generation g or later: never a result cached on an older index.
func TestSearchRaceReindex(t *testing.T) {
	dir := t.TempDir()
	version := func(v int) string {
		return fmt.Sprintf("# Release notes\n\nThe corpus version is v%d.\n\n## Other\n\nunrelated text\n", v)
	}
	writeFile(t, dir, "notes.md", version(0))
	ix := openTest(t, Config{Dir: dir}, hooks{})

	const rebuilds = 15
	readers := max(runtime.GOMAXPROCS(0), 4)
	start := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(stop)
		<-start
		for v := 1; v <= rebuilds; v++ {
			// Generation g indexes the file written with version g-1.
			writeFile(t, dir, "notes.md", version(v))
			if err := ix.Reindex(t.Context()); err != nil {
				t.Errorf("reindex %d: %v", v, err)
				return
			}
		}
	})
	var searches, hits sync.Map
	for i := range readers {
		wg.Go(func() {
			<-start
			n, h := 0, 0
			for {
				select {
				case <-stop:
					searches.Store(i, n)
					hits.Store(i, h)
					return
				default:
				}
				seen := ix.Stats().Generation
				r, err := ix.Search(t.Context(), Query{Text: "corpus version"})
				if err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
				n++
				if r.CacheHit {
					h++
				}
				if len(r.Chunks) == 0 {
					t.Errorf("reader %d: no result", i)
					return
				}
				var v int
				_, after, _ := strings.Cut(r.Chunks[0].Content, "version is ")
				if _, err := fmt.Sscanf(after, "v%d", &v); err != nil {
					t.Errorf("reader %d: cannot parse %q", i, r.Chunks[0].Content)
					return
				}
				if uint64(v) < seen-1 {
					t.Errorf("reader %d: saw generation %d, then a result of generation %d", i, seen, v+1)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	st := ix.Stats()
	assert.Equal(t, uint64(rebuilds+1), st.Generation)
	assert.Equal(t, int64(rebuilds), st.Reindexes)
	r, err := ix.Search(t.Context(), Query{Text: "corpus version"})
	require.NoError(t, err)
	assert.Contains(t, r.Chunks[0].Content, fmt.Sprintf("v%d.", rebuilds))
	total, cached := 0, 0
	searches.Range(func(_, v any) bool { total += v.(int); return true })
	hits.Range(func(_, v any) bool { cached += v.(int); return true })
	t.Logf("%d searches (%d cache hits) by %d readers during %d rebuilds", total, cached, readers, rebuilds)
	assert.Positive(t, total)
}
