package ragcache

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/search/query"
)

// BenchmarkEngines puts the bleve setup the package uses (scorch in memory,
// one batch) beside bleve's legacy in-memory index (NewMemOnly, batches of
// 500), on the same chunks, mapping and queries: build time, and the
// median and 95th percentile of a query. docs/ARCHITECTURE.md lists the measurements
// that chose the first; this reproduces them on the generated corpus.
func BenchmarkEngines(b *testing.B) {
	dir := benchCorpus(b)
	ix := openBench(b, dir)
	chunks := ix.cur.Load().chunks
	queries := benchQueries(256)

	engines := []struct {
		name  string
		build func(b *testing.B) bleve.Index
	}{
		{"scorch-one-batch", func(b *testing.B) bleve.Index {
			b.Helper()
			s := &snapshot{chunks: chunks}
			if err := s.index(context.Background()); err != nil {
				b.Fatal(err)
			}
			return s.idx
		}},
		{"memonly-batches-500", func(b *testing.B) bleve.Index {
			b.Helper()
			idx, err := bleve.NewMemOnly(indexMapping())
			if err != nil {
				b.Fatal(err)
			}
			batch := idx.NewBatch()
			for i := range chunks {
				c := &chunks[i]
				doc := map[string]any{fieldText: indexedText(c), fieldTags: c.Tags}
				if err := batch.Index(strconv.Itoa(i), doc); err != nil {
					b.Fatal(err)
				}
				if batch.Size() == 500 || i == len(chunks)-1 {
					if err := idx.Batch(batch); err != nil {
						b.Fatal(err)
					}
					batch = idx.NewBatch()
				}
			}
			return idx
		}},
	}
	for _, e := range engines {
		b.Run(e.name+"/build", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = e.build(b).Close()
			}
		})
		b.Run(e.name+"/query", func(b *testing.B) {
			idx := e.build(b)
			defer func() { _ = idx.Close() }()
			var d []time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				mq := query.NewMatchQuery(queries[i%len(queries)])
				mq.SetField(fieldText)
				mq.Analyzer = en.AnalyzerName
				start := time.Now()
				if _, err := idx.Search(bleve.NewSearchRequestOptions(mq, DefaultLimit, 0, false)); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(start))
			}
			slices.Sort(d)
			reportPercentiles(b, d)
		})
	}
}
