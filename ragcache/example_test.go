package ragcache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/mcpflow/mcpflow/ragcache"
)

// Search the built-in sample standards, then ask the same question with
// different case and spacing: the second answer comes from the cache.
func Example() {
	ctx := context.Background()
	ix, err := ragcache.Open(ctx, ragcache.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = ix.Close() }()

	r, err := ix.Search(ctx, ragcache.Query{Text: "how do I name a regression test", Limit: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range r.Chunks {
		fmt.Printf("%s: %s\n", c.File, c.Section)
	}
	fmt.Println("cache hit:", r.CacheHit)

	r, _ = ix.Search(ctx, ragcache.Query{Text: "How do I name a   REGRESSION test", Limit: 1})
	fmt.Println("cache hit:", r.CacheHit)

	_, err = ix.Search(ctx, ragcache.Query{Text: "tests", Limit: 80})
	if qe, ok := errors.AsType[*ragcache.QueryError](err); ok {
		fmt.Println("bad field:", qe.Field)
	}
	// Output:
	// engineering/testing.md: Every bug gets a regression test
	// cache hit: false
	// cache hit: true
	// bad field: limit
}

func ExampleQuery_Canonical() {
	p := 2
	canon, err := ragcache.Query{Text: "  Wrap ERRORS\twith context ", Phase: &p, Tags: []string{"Go", "errors", "go"}}.Canonical()
	fmt.Println(canon, err)
	// Output:
	// l=5;p=2;t=6:errors2:go;q=wrap errors with context <nil>
}

func ExampleWriteText() {
	phase := 2
	r := ragcache.Result{
		Chunks: []ragcache.Chunk{{
			Content: "## No sleeps\n\nA test never sleeps to wait for something to happen.",
			File:    "engineering/testing.md",
			Section: "No sleeps",
			Parents: []string{"Testing standards", "How to write tests"},
			Score:   1.5764,
			Tokens:  17,
			Phase:   &phase,
			Tags:    []string{"quality", "testing"},
		}},
		TotalTokens: 17,
		Method:      ragcache.MethodBM25,
	}
	_ = ragcache.WriteText(os.Stdout, r)
	// Output:
	// 1. engineering/testing.md — Testing standards > How to write tests > No sleeps
	//    score 1.576 · 17 tokens · phase 2 · tags quality, testing
	//    No sleeps A test never sleeps to wait for something to happen.
	// 1 result(s), 17 tokens, bm25, 0s
}
