package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server/internal/transport"
)

// fuzzServer is a server on the built-in samples and a fresh state folder,
// closed when the fuzz run ends; targets call its mcp-go server directly.
func fuzzServer(f *testing.F) *Server {
	f.Helper()
	quiet := slog.New(slog.DiscardHandler)
	eng, err := engine.New(engine.Config{StateDir: f.TempDir(), Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = eng.Close() })
	ix, err := ragcache.Open(f.Context(), ragcache.Config{Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = ix.Close() })
	s, err := New(Config{Engine: eng, Index: ix, Logger: quiet, Stdio: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	return s
}

// FuzzToolArguments sends arbitrary arguments to every tool that cannot
// create state, through mcp-go's message handling: every call must be
// answered with a result (an isError one for bad input) and never panic or
// become a protocol error other than for arguments that do not decode.
func FuzzToolArguments(f *testing.F) {
	s := fuzzServer(f)
	tools := []string{ToolSearchStandards, ToolListWorkflows, ToolGetCurrentPhase, ToolGetTask,
		ToolCompletePhase, ToolGetWorkflowState, ToolListSessions, ToolDeleteSession, ToolGetServerInfo,
		ToolPosWorkflow, ToolCurrentDate}
	for _, seed := range []string{
		`{"query":"error handling","n_results":3,"tags":["errors"],"phase":1}`,
		`{"session_id":"../../etc/passwd","phase":1,"task_number":0,"evidence":{"a":[1,{"b":null}]}}`,
		`{"action":"get_task","session_id":"3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53","phase":1,"task_number":1}`,
		`{"action":"start","workflow_type":"spec_execution_v1","target_file":"x","options":{"spec_path":"../.."}}`,
		`{"status":"active"}`, `[]`, `null`, `"x"`, `{"query":""}`, `{"n_results":1e308}`,
		`{"session_id":"3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53","phase":-0.5}`,
	} {
		for i := range tools {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, args string) {
		tool := tools[int(which)%len(tools)]
		if !json.Valid([]byte(args)) {
			args = `"` + strings.ReplaceAll(strings.ReplaceAll(args, `\`, `\\`), `"`, `\"`) + `"`
			if !json.Valid([]byte(args)) {
				return
			}
		}
		// Valid JSON can still fail to decode: a number such as 2e700 does
		// not fit a float64. mcp-go rejects such a request as a whole, with
		// a JSON-RPC error, before any tool runs; that is the one protocol
		// error allowed here (found by the fuzzing campaign).
		var decoded any
		undecodable := json.Unmarshal([]byte(args), &decoded) != nil
		msg := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`
		resp := s.mcp.HandleMessage(context.Background(), []byte(msg))
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("%s %s: answer does not encode: %v", tool, args, err)
		}
		var m struct {
			Result *mcp.CallToolResult `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %v", tool, args, err)
		}
		if undecodable {
			if m.Error == nil || m.Error.Message == "" {
				t.Fatalf("%s %s: undecodable arguments got %s; want a JSON-RPC error that says why", tool, args, b)
			}
			return
		}
		if m.Result == nil {
			t.Fatalf("%s %s: protocol error %s", tool, args, b)
		}
		if m.Result.IsError && m.Result.StructuredContent != nil && tool != ToolPosWorkflow {
			t.Fatalf("%s %s: an error result carries structured content", tool, args)
		}
		// pos_workflow's errors carry prAxIs OS's error shape, an object
		// as its output schema asks.
		if sc, ok := m.Result.StructuredContent.(map[string]any); m.Result.IsError && tool == ToolPosWorkflow && (!ok || sc["status"] != "error" || sc["error"] == "" || sc["error_type"] == nil) {
			t.Fatalf("%s %s: error result without prAxIs OS's error shape: %v", tool, args, m.Result.StructuredContent)
		}
	})
}

// FuzzStdioGate feeds arbitrary bytes through the gate, with the text
// check as its preflight: it must never panic, pass on only what it read,
// in order, and count no request twice.
func FuzzStdioGate(f *testing.F) {
	const (
		reqLine   = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`
		notifLine = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
		respLine  = `{"jsonrpc":"2.0","id":1,"result":{}}`
	)
	f.Add([]byte(reqLine + "\n" + notifLine + "\n" + respLine + "\n"))
	f.Add([]byte(`{"id":null,"method":"x"}` + "\n" + `{"id":[1],"method":"x"}` + "\n\n\n"))
	f.Add([]byte(strings.Repeat("x", 300) + "\n" + `{"id":"a"`))
	// mcp-go answers a wrong version with the ID even when a result comes
	// with it; an escaped revision key declares the revision.
	f.Add([]byte(`{"jsonrpc":"1.0","id":7,"result":{}}` + "\n" + reqLine + "\n"))
	f.Add([]byte(`{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol\/protocolVersion":"2026-07-28"}}}` + "\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		g := transport.NewStdioGate(bytes.NewReader(in), &out, 256, "", textCheck)
		g.Release()
		got, err := io.ReadAll(g)
		if err != nil {
			t.Fatal(err)
		}
		if g.Pending() < 0 {
			t.Fatalf("pending %d", g.Pending())
		}
		// Every line passed on is a line of the input (a final newline may
		// have been added).
		rest := in
		for line := range bytes.SplitSeq(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")) {
			i := bytes.Index(rest, line)
			if i < 0 {
				t.Fatalf("line %q was not in the input, or out of order", line)
			}
			rest = rest[i+len(line):]
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
			if len(line) > 0 && !json.Valid(line) {
				t.Fatalf("the gate wrote invalid JSON: %q", line)
			}
		}
	})
}

// FuzzPrimitiveRequests sends arbitrary URIs and arguments to
// resources/read, prompts/get and completion/complete: every request is
// answered, with a result or a JSON-RPC error, and never panics; a read
// that succeeds returns a file of one of the two folders, under the URI
// asked for.
func FuzzPrimitiveRequests(f *testing.F) {
	s := fuzzServer(f)
	for _, seed := range []string{
		"standards://engineering/testing.md", "standards://../../etc/passwd", "workflow://bug_fix/phases/1/phase.md",
		"workflow://bug_fix/phases/1/..%2F..%2Fmetadata.json", "workflow://%2e%2e/phases/1/x.md", "workflow://a/phases/-1/b.yaml",
		"standards://%zz", "", "resume_workflow", "bug_fix",
	} {
		for method := range 3 {
			f.Add(uint8(method), seed, "3f2b8c1e-9a4d-4e1b-8f6a-2c7d9e0b1a53")
		}
	}
	f.Fuzz(func(t *testing.T, method uint8, s1, s2 string) {
		q := func(v string) string { b, _ := json.Marshal(v); return string(b) }
		var msg string
		switch method % 3 {
		case 0:
			msg = `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":` + q(s1) + `}}`
		case 1:
			msg = `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":` + q(s1) + `,"arguments":{"target_file":` + q(s2) + `,"session_id":` + q(s2) + `,"phase":` + q(s2) + `}}}`
		default:
			msg = `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":` + q(WorkflowFileTemplate) + `},"argument":{"name":` + q(s1) + `,"value":` + q(s2) + `},"context":{"arguments":{"workflow_type":` + q(s2) + `,"phase":` + q(s2) + `,"session_id":` + q(s2) + `}}}}`
		}
		resp := s.mcp.HandleMessage(context.Background(), []byte(msg))
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("%s: answer does not encode: %v", msg, err)
		}
		var m struct {
			Result *struct {
				Contents []struct {
					URI  string `json:"uri"`
					Text string `json:"text"`
				} `json:"contents"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		if (m.Result == nil) == (m.Error == nil) {
			t.Fatalf("%s: want a result or an error, got %s", msg, b)
		}
		if method%3 == 0 && m.Result != nil {
			if len(m.Result.Contents) != 1 || m.Result.Contents[0].URI != s1 {
				t.Fatalf("%s: read answered %s", msg, b)
			}
			if !strings.HasPrefix(s1, StandardsScheme) && !strings.HasPrefix(s1, "workflow://") {
				t.Fatalf("%s: read a URI of no known scheme", msg)
			}
		}
	})
}
