package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

// Example serves the built-in workflows and standards over streamable HTTP
// on a free loopback port, and calls two tools with an MCP client.
func Example() {
	if err := serveAndCall(context.Background()); err != nil {
		fmt.Println("error:", err)
	}
	// Output:
	// bug_fix
	// feature_delivery
	// spec_execution_v1
	// isError: true
	// serve: <nil>
}

func serveAndCall(ctx context.Context) error {
	state, err := os.MkdirTemp("", "mcpflow-example-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(state) }()
	eng, err := engine.New(engine.Config{StateDir: state}) // no WorkflowsDir: built-in samples
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	ix, err := ragcache.Open(ctx, ragcache.Config{Logger: slog.New(slog.DiscardHandler)}) // no Dir: built-in standards
	if err != nil {
		return err
	}
	defer func() { _ = ix.Close() }()

	srv, err := server.New(server.Config{Engine: eng, Index: ix, HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, nil, nil) }()
	defer func() {
		stop()
		fmt.Println("serve:", <-served)
	}()

	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL(), HTTPClient: &http.Client{}}, nil)
	if err != nil {
		return err
	}
	defer func() { _ = cs.Close() }()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: server.ToolListWorkflows})
	if err != nil {
		return err
	}
	for _, w := range res.StructuredContent.(map[string]any)["workflows"].([]any) {
		fmt.Println(w.(map[string]any)["workflow_type"])
	}
	// A domain failure is a tool result with isError, not a protocol error.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: server.ToolStartWorkflow, Arguments: map[string]any{"workflow_type": "nope", "target_file": "a.go"}})
	if err != nil {
		return err
	}
	fmt.Println("isError:", res.IsError)
	return nil
}
