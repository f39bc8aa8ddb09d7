package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestMain(m *testing.M) {
	if code, ok := testChild(); ok {
		os.Exit(code)
	}
	code := m.Run()
	testutil.RemoveBinary()
	if code == 0 {
		// bleve starts its analysis workers at package init, for the
		// life of the process.
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
