package ragcache

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// benchFiles is the number of generated files: about 1 MB, 3,000 chunks.
const benchFiles = 62

// vocabulary for the generated corpus: words of engineering standards,
// drawn with a Zipf distribution so that a few are common and most rare.
var vocabulary = strings.Fields(`
	error errors test tests testing code review commit branch merge deploy release
	service request response handler context timeout retry backoff cache key value
	index search query result chunk token file folder path config option default
	goroutine channel mutex lock atomic race detector benchmark profile memory heap
	allocation latency throughput queue worker pool batch stream buffer reader writer
	schema migration database table column transaction rollback replica shard partition
	log logging metric metrics trace span alert incident outage postmortem runbook
	security secret credential token password encryption certificate rotation audit
	validation input output boundary field message status code client server http
	api endpoint version versioning pagination cursor limit rate quota throttle
	interface struct method function package module dependency vendor build lint
	format style naming comment documentation readme changelog example tutorial
	phase gate evidence workflow task plan design implementation verification
	fuzz fuzzing property invariant assertion fixture mock fake stub table driven
	concurrency parallel sequential deterministic flaky sleep clock deadline cancel
	panic recover wrap unwrap sentinel type assertion nil pointer slice map array
	string byte rune unicode utf encoding json yaml markdown heading paragraph fence
	container image kubernetes pod node cluster scheduler autoscaling probe health
	frontend accessibility keyboard screen reader contrast layout component render
	cli flag argument stdin stdout stderr exit signal shutdown graceful drain
	owner reviewer approval blocking nit question suggestion refactor cleanup debt
	performance regression baseline comparison benchstat variance noise percentile
`)

// genCorpus writes a deterministic markdown corpus of about files×16 kB:
// front matter with tags on most files, headings at three levels (some
// named "Phase N"), paragraphs, lists, and fenced code whose lines start
// with "#". It returns the bytes written.
func genCorpus(tb testing.TB, dir string, files int) int {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(vocabulary)-1))
	word := func() string { return vocabulary[zipf.Uint64()] }
	sentence := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = word()
		}
		w[0] = strings.ToUpper(w[0][:1]) + w[0][1:]
		return strings.Join(w, " ") + "."
	}
	title := func() string {
		t := word() + " " + word()
		if rng.IntN(3) == 0 {
			t += " " + word()
		}
		return strings.ToUpper(t[:1]) + t[1:]
	}
	total := 0
	for f := range files {
		var b strings.Builder
		if f%5 != 0 {
			fmt.Fprintf(&b, "---\ntitle: %s\ntags: [%s, %s]\n---\n", title(), word(), word())
		}
		fmt.Fprintf(&b, "# %s\n\n%s %s\n\n", title(), sentence(12), sentence(10))
		for s := 0; b.Len() < 16000; s++ {
			switch {
			case s%9 == 4:
				fmt.Fprintf(&b, "## Phase %d: %s\n\n", s/9, title())
			case s%3 == 0:
				fmt.Fprintf(&b, "## %s\n\n", title())
			default:
				fmt.Fprintf(&b, "### %s\n\n", title())
			}
			for range 1 + rng.IntN(2) {
				fmt.Fprintf(&b, "%s %s %s\n\n", sentence(8+rng.IntN(8)), sentence(6+rng.IntN(8)), sentence(5+rng.IntN(6)))
			}
			switch rng.IntN(6) {
			case 0:
				fmt.Fprintf(&b, "```sh\n# %s\nmake %s\n# %s\n```\n\n", sentence(4), word(), sentence(3))
			case 1:
				fmt.Fprintf(&b, "- %s\n- %s\n- %s\n\n", sentence(5), sentence(6), sentence(4))
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("area%d", f%6), fmt.Sprintf("standard-%02d.md", f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
		total += b.Len()
	}
	return total
}

// benchQueries are plausible agent queries over the generated vocabulary.
func benchQueries(n int) []string {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]string, n)
	for i := range out {
		k := 2 + rng.IntN(4)
		w := make([]string, k)
		for j := range w {
			w[j] = vocabulary[rng.IntN(len(vocabulary))]
		}
		out[i] = strings.Join(w, " ")
	}
	return out
}

// TestGeneratedCorpus checks the generator on an eighth of the benchmark
// corpus (the whole takes seconds under -race): about 16 kB per file and
// 330 bytes per chunk, so benchFiles files make about 1 MB and 3,000
// chunks; and no "#" line of its code blocks becomes a heading.
func TestGeneratedCorpus(t *testing.T) {
	dir := t.TempDir()
	const files = benchFiles / 8
	n := genCorpus(t, dir, files)
	ix := openTest(t, Config{Dir: dir}, hooks{})
	st := ix.Stats()
	t.Logf("%d files, %d bytes, %d chunks, %d tokens, built in %v", st.Files, n, st.Chunks, st.Tokens, st.BuildTime)
	assert.InDelta(t, float64(files)*1_000_000/benchFiles, float64(n), 10_000)
	assert.InDelta(t, 330, float64(n)/float64(st.Chunks), 60)
	for _, c := range ix.cur.Load().chunks {
		if strings.HasSuffix(c.Section, ".") {
			t.Fatalf("a code comment became a heading: %q in %s", c.Section, c.File)
		}
	}
}
