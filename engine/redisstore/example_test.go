package redisstore_test

import (
	"context"
	"fmt"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/redisstore"
)

// ExampleOpenURL serves an engine from Redis, as each replica of
// `mcpflow serve --state redis://...` does. It needs a running Redis, so
// it is compiled but not run by go test; the package's tests run the
// same calls against a real redis-server.
func ExampleOpenURL() {
	ctx := context.Background()
	store, err := redisstore.OpenURL(ctx, "redis://127.0.0.1:6379/0?prefix=demo")
	if err != nil {
		panic(err)
	}
	defer func() { _ = store.Close() }()
	e, err := engine.New(engine.Config{Store: store})
	if err != nil {
		panic(err)
	}
	defer func() { _ = e.Close() }()
	start, err := e.Start(ctx, "bug_fix", "internal/lexer/lexer.go", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(start.CurrentPhase, start.PhaseName, store.Stats().Saves)
}
