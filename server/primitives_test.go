package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/engine/workflows"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

// The protocol version of the primitive tests: the last one with
// resources/subscribe and logging/setLevel (2026-07-28 replaced both).
const primitivesProtocol = "2025-11-25"

// transports are the two ways a client reaches the server.
var transports = []string{"stdio", "http"}

// clientEvents collects the notifications a client receives.
type clientEvents struct {
	updated        chan string
	listChanged    chan struct{}
	promptsChanged chan struct{}
	logs           chan map[string]any
	progress       chan *mcp.ProgressNotificationParams
}

func newEvents() *clientEvents {
	return &clientEvents{
		updated:        make(chan string, 64),
		listChanged:    make(chan struct{}, 64),
		promptsChanged: make(chan struct{}, 64),
		logs:           make(chan map[string]any, 256),
		progress:       make(chan *mcp.ProgressNotificationParams, 256),
	}
}

func (ev *clientEvents) options() *mcp.ClientOptions {
	return &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			ev.updated <- r.Params.URI
		},
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { ev.listChanged <- struct{}{} },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { ev.promptsChanged <- struct{}{} },
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			ev.progress <- r.Params
		},
		//nolint:staticcheck // the issue asks for MCP logging, deprecated only from protocol 2026-07-28 on
		LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
			m, _ := r.Params.Data.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			m["_level"] = string(r.Params.Level)
			ev.logs <- m
		},
	}
}

// primHarness starts a server serving only transport tr and connects one
// client to it that records its notifications.
func primHarness(t *testing.T, tr string, o harnessOpts) (*harness, *mcp.ClientSession, *clientEvents) {
	t.Helper()
	o.stdio, o.http = tr == "stdio", tr == "http"
	h := startHarness(t, o)
	ev := newEvents()
	c := mcp.NewClient(&mcp.Implementation{Name: "primitives-" + tr, Version: "1"}, ev.options())
	var t2 mcp.Transport
	if tr == "stdio" {
		t2 = &mcp.IOTransport{Reader: h.stdoutR, Writer: h.stdinW}
	} else {
		httpTr := &http.Transport{IdleConnTimeout: 5 * time.Second}
		t.Cleanup(httpTr.CloseIdleConnections)
		t2 = &mcp.StreamableClientTransport{Endpoint: h.url, HTTPClient: &http.Client{Transport: httpTr}, MaxRetries: -1}
	}
	cs, err := c.Connect(t.Context(), t2, &mcp.ClientSessionOptions{ProtocolVersion: primitivesProtocol})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return h, cs, ev
}

// observer returns the events of a client that sends no request: over
// HTTP a second session, which mcp-go's per-request forwarder cannot rob
// of a broadcast (see awaitProgress); over stdio, whose one session has no
// such race, the events of the harness's client cs. A non-empty level is
// set with logging/setLevel on the observing session.
func observer(t *testing.T, tr string, h *harness, cs *mcp.ClientSession, ev *clientEvents, level string) *clientEvents {
	t.Helper()
	setLevel := func(cs *mcp.ClientSession) {
		if level != "" {
			//nolint:staticcheck // logging/setLevel, deprecated only from protocol 2026-07-28 on
			require.NoError(t, cs.SetLoggingLevel(t.Context(), &mcp.SetLoggingLevelParams{Level: mcp.LoggingLevel(level)}))
		}
	}
	if tr == "stdio" {
		setLevel(cs)
		return ev
	}
	obs := newEvents()
	httpTr := &http.Transport{IdleConnTimeout: 5 * time.Second}
	t.Cleanup(httpTr.CloseIdleConnections)
	c := mcp.NewClient(&mcp.Implementation{Name: "observer", Version: "1"}, obs.options())
	ocs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: h.url, HTTPClient: &http.Client{Transport: httpTr}, MaxRetries: -1},
		&mcp.ClientSessionOptions{ProtocolVersion: primitivesProtocol})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ocs.Close() })
	setLevel(ocs)
	return obs
}

// await returns the next value from ch; it fails the test after 20 s.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s within 20 s", what)
	}
	panic("unreachable")
}

// awaitLog returns the next log notification whose event is event,
// skipping others.
func awaitLog(t *testing.T, ev *clientEvents, event string) map[string]any {
	t.Helper()
	for range 100 {
		m := await(t, ev.logs, "log notification "+event)
		if m["event"] == event {
			return m
		}
	}
	t.Fatalf("no log notification %s among 100", event)
	return nil
}

// awaitProgress returns the progress notifications of one call that sent
// n of them. Over stdio all n arrive. Over HTTP mcp-go v1.2.1 may lose one:
// its per-request forwarder drops a notification it has taken off the
// session's queue when the response is written first
// (server/streamable_http.go, the "if the done chan is closed" branch), and
// it hands the others to the call's stream or the standalone GET stream,
// whichever reads first, so they may arrive out of order. Either way they
// are returned sorted by progress.
func awaitProgress(t *testing.T, tr string, ev *clientEvents, n int) []*mcp.ProgressNotificationParams {
	t.Helper()
	if tr == "http" {
		n--
	}
	var got []*mcp.ProgressNotificationParams
	for range n {
		got = append(got, await(t, ev.progress, "progress notification"))
	}
	slices.SortFunc(got, func(a, b *mcp.ProgressNotificationParams) int { return int(a.Progress - b.Progress) })
	for i := 1; i < len(got); i++ {
		assert.Less(t, got[i-1].Progress, got[i].Progress, "each progress value once")
	}
	return got
}

// writeStandards creates a standards folder with the given files.
func writeStandards(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func listAllResources(t *testing.T, cs *mcp.ClientSession) (pages int, out []*mcp.Resource) {
	t.Helper()
	cursor := ""
	for range 100 {
		res, err := cs.ListResources(t.Context(), &mcp.ListResourcesParams{Cursor: cursor})
		require.NoError(t, err)
		pages++
		out = append(out, res.Resources...)
		if res.NextCursor == "" {
			return pages, out
		}
		cursor = res.NextCursor
	}
	t.Fatal("resources/list did not end within 100 pages")
	return 0, nil
}

func readText(t *testing.T, cs *mcp.ClientSession, uri string) (string, string) {
	t.Helper()
	res, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: uri})
	require.NoError(t, err, "read %s", uri)
	require.Len(t, res.Contents, 1)
	return res.Contents[0].Text, res.Contents[0].MIMEType
}

// TestResourcesStandardsAndWorkflowFiles lists every standards file as a
// resource (paginated, with mime type and size), reads them, reads a
// workflow's phase and gate files through the template, and refuses URIs
// that lead outside the folders.
func TestResourcesStandardsAndWorkflowFiles(t *testing.T) {
	files := map[string]string{"sub/deep/rules.md": "# Rules\n\nAlways wrap errors with %w.\n"}
	for i := range server.DefaultPageSize + 20 {
		files[fmt.Sprintf("doc-%03d.md", i)] = fmt.Sprintf("# Document %d\n\nStandard number %d says to test things.\n", i, i)
	}
	dir := writeStandards(t, files)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			_, cs, _ := primHarness(t, tr, harnessOpts{standards: dir})
			pages, all := listAllResources(t, cs)
			assert.Equal(t, 2, pages, "%d resources in pages of %d", len(all), server.DefaultPageSize)
			require.Len(t, all, len(files))
			seen := map[string]bool{}
			for _, r := range all {
				p, ok := strings.CutPrefix(r.URI, server.StandardsScheme)
				require.True(t, ok, r.URI)
				body, ok := files[p]
				require.True(t, ok, "listed %s, which is not a standards file", r.URI)
				assert.False(t, seen[p], "listed twice: %s", p)
				seen[p] = true
				assert.Equal(t, "text/markdown", r.MIMEType)
				assert.Equal(t, int64(len(body)), r.Size, r.URI)
			}
			text, mime := readText(t, cs, server.StandardsURI("sub/deep/rules.md"))
			assert.Equal(t, files["sub/deep/rules.md"], text)
			assert.Equal(t, "text/markdown", mime)

			tpl, err := cs.ListResourceTemplates(t.Context(), nil)
			require.NoError(t, err)
			var templates []string
			for _, rt := range tpl.ResourceTemplates {
				templates = append(templates, rt.URITemplate)
			}
			assert.ElementsMatch(t, []string{server.WorkflowFileTemplate, server.StandardsTemplate}, templates)
			want, err := fs.ReadFile(workflows.BuiltinWorkflows(), "bug_fix/phases/1/phase.md")
			require.NoError(t, err)
			text, mime = readText(t, cs, "workflow://bug_fix/phases/1/phase.md")
			assert.Equal(t, string(want), text)
			assert.Equal(t, "text/markdown", mime)
			text, mime = readText(t, cs, "workflow://bug_fix/phases/1/gate-definition.yaml")
			assert.Contains(t, text, "repro_steps")
			assert.Equal(t, "application/yaml", mime)

			for _, uri := range []string{
				"standards://../outside.md",
				"standards://doc-999.md",
				"workflow://bug_fix/phases/1/..%2F..%2Fmetadata.json",
				"workflow://bug_fix/phases/1/%2Fetc%2Fpasswd",
				"workflow://..%2F..%2Fetc/phases/1/passwd.md",
				"workflow://bug_fix/phases/x/phase.md",
				"workflow://bug_fix/phases/9/phase.md",
			} {
				_, err := cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: uri})
				assert.Error(t, err, "read %s", uri)
			}
		})
	}
}

// TestSubscriptionUpdatedAfterEdit subscribes to one standards file; an
// edit of another file sends it nothing, an edit of its own file followed
// by a reindex sends notifications/resources/updated, and an added file
// sends list_changed. The client also sees the reindex in its log
// notifications.
func TestSubscriptionUpdatedAfterEdit(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			dir := writeStandards(t, map[string]string{
				"a.md": "# Alpha\n\nFirst version.\n",
				"b.md": "# Beta\n\nUnwatched.\n",
			})
			h, cs, ev := primHarness(t, tr, harnessOpts{standards: dir})
			//nolint:staticcheck // logging/setLevel, deprecated only from protocol 2026-07-28 on
			require.NoError(t, cs.SetLoggingLevel(t.Context(), &mcp.SetLoggingLevelParams{Level: "info"}))
			uriA := server.StandardsURI("a.md")
			require.NoError(t, cs.Subscribe(t.Context(), &mcp.SubscribeParams{URI: uriA}))

			// b changes first: had it been sent, it would arrive before a's.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "b.md"), []byte("# Beta\n\nEdited, nobody subscribed.\n"), 0o644))
			require.NoError(t, h.ix.Reindex(t.Context()))
			done := awaitLog(t, ev, "reindex_done")
			assert.Equal(t, []any{"b.md"}, done["modified"])
			assert.Equal(t, "info", done["_level"])

			edited := "# Alpha\n\nSecond version, longer than the first.\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte(edited), 0o644))
			require.NoError(t, h.ix.Reindex(t.Context()))
			assert.Equal(t, uriA, await(t, ev.updated, "resources/updated"))
			assert.Equal(t, []any{"a.md"}, awaitLog(t, ev, "reindex_done")["modified"])
			text, _ := readText(t, cs, uriA)
			assert.Equal(t, edited, text, "the read after the update serves the new content")
			_, all := listAllResources(t, cs)
			for _, r := range all {
				if r.URI == uriA {
					assert.Equal(t, int64(len(edited)), r.Size)
				}
			}
			assert.Empty(t, ev.listChanged, "an edit changes no list")

			require.NoError(t, os.WriteFile(filepath.Join(dir, "c.md"), []byte("# Gamma\n\nNew.\n"), 0o644))
			require.NoError(t, h.ix.Reindex(t.Context()))
			await(t, ev.listChanged, "resources/list_changed")
			added := awaitLog(t, ev, "reindex_done")
			assert.Equal(t, []any{"c.md"}, added["added"])
			_, all = listAllResources(t, cs)
			assert.Len(t, all, 3)

			require.NoError(t, cs.Unsubscribe(t.Context(), &mcp.UnsubscribeParams{URI: uriA}))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.md"), []byte("# Alpha\n\nThird.\n"), 0o644))
			require.NoError(t, os.Remove(filepath.Join(dir, "c.md")))
			require.NoError(t, h.ix.Reindex(t.Context()))
			await(t, ev.listChanged, "resources/list_changed after a removal")
			awaitLog(t, ev, "reindex_done")
			assert.Empty(t, ev.updated, "no update after unsubscribe")
		})
	}
}

// TestCompletionsFromLiveData completes workflow types from the workflows
// folder, session IDs from the store, a session's phases, and the
// template's phase and file variables.
func TestCompletionsFromLiveData(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			_, cs, _ := primHarness(t, tr, harnessOpts{})
			var ids []string
			for i := range 3 {
				out := decode[struct {
					SessionID string `json:"session_id"`
				}](t, mustOK(t, cs, server.ToolStartWorkflow, map[string]any{"workflow_type": "bug_fix", "target_file": fmt.Sprintf("pkg/f%d.go", i)}))
				ids = append(ids, out.SessionID)
			}
			complete := func(ref *mcp.CompleteReference, arg, value string, ctxArgs map[string]string) []string {
				t.Helper()
				p := &mcp.CompleteParams{Ref: ref, Argument: mcp.CompleteParamsArgument{Name: arg, Value: value}}
				if ctxArgs != nil {
					p.Context = &mcp.CompleteContext{Arguments: ctxArgs}
				}
				res, err := cs.Complete(t.Context(), p)
				require.NoError(t, err)
				return res.Completion.Values
			}
			tpl := &mcp.CompleteReference{Type: "ref/resource", URI: server.WorkflowFileTemplate}
			resume := &mcp.CompleteReference{Type: "ref/prompt", Name: server.PromptResume}

			assert.Equal(t, []string{"bug_fix", "feature_delivery", "spec_execution_v1"}, complete(tpl, "workflow_type", "", nil))
			assert.Equal(t, []string{"feature_delivery"}, complete(tpl, "workflow_type", "fe", nil))
			assert.Equal(t, []string{"1", "2", "3"}, complete(tpl, "phase", "", map[string]string{"workflow_type": "bug_fix"}))
			files := complete(tpl, "file", "", map[string]string{"workflow_type": "bug_fix", "phase": "1"})
			assert.Equal(t, []string{"gate-definition.yaml", "phase.md", "task-0-collect-report.md", "task-1-reproduce.md"}, files)

			got := complete(resume, "session_id", "", nil)
			assert.ElementsMatch(t, ids, got)
			assert.Equal(t, []string{ids[1]}, complete(resume, "session_id", ids[1][:13], nil))
			assert.Equal(t, []string{"1"}, complete(resume, "phase", "", map[string]string{"session_id": ids[0]}))
			mustOK(t, cs, server.ToolCompletePhase, map[string]any{"session_id": ids[0], "phase": 1, "evidence": validRepro()})
			assert.Equal(t, []string{"2", "1"}, complete(resume, "phase", "", map[string]string{"session_id": ids[0]}))
			assert.ElementsMatch(t, []string{"pkg/f0.go", "pkg/f1.go", "pkg/f2.go"},
				complete(&mcp.CompleteReference{Type: "ref/prompt", Name: "bug_fix"}, "target_file", "pkg/", nil))
			assert.Empty(t, complete(resume, "phase", "", map[string]string{"session_id": "not-a-uuid"}))
		})
	}
}

var startArgsRE = regexp.MustCompile(`start_workflow with (\{.*?\})\. `)

// TestPromptGetsAgentStarted gets a workflow's prompt and does what it
// says: the start_workflow arguments it gives start the session, and the
// resume prompt then shows that session's current phase.
func TestPromptGetsAgentStarted(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h, cs, ev := primHarness(t, tr, harnessOpts{})
			list, err := cs.ListPrompts(t.Context(), nil)
			require.NoError(t, err)
			var names []string
			for _, p := range list.Prompts {
				names = append(names, p.Name)
			}
			assert.Equal(t, []string{"bug_fix", "feature_delivery", server.PromptResume, "spec_execution_v1"}, names)

			_, err = cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: "bug_fix"})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "target_file")

			res, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: "bug_fix", Arguments: map[string]string{"target_file": "internal/auth/login.go"}})
			require.NoError(t, err)
			require.Len(t, res.Messages, 1)
			text := res.Messages[0].Content.(*mcp.TextContent).Text
			for _, want := range []string{"get_task", "complete_phase", "search_standards", "Phase 1:", "workflow://bug_fix/phases/<phase>/gate-definition.yaml"} {
				assert.Contains(t, text, want)
			}
			m := startArgsRE.FindStringSubmatch(text)
			require.Len(t, m, 2, "no start_workflow arguments in: %s", text)
			var args map[string]any
			require.NoError(t, json.Unmarshal([]byte(m[1]), &args))
			started := decode[struct {
				SessionID    string `json:"session_id"`
				CurrentPhase int    `json:"current_phase"`
			}](t, mustOK(t, cs, server.ToolStartWorkflow, args))

			res, err = cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: server.PromptResume, Arguments: map[string]string{"session_id": started.SessionID}})
			require.NoError(t, err)
			text = res.Messages[0].Content.(*mcp.TextContent).Text
			assert.Contains(t, text, started.SessionID)
			assert.Contains(t, text, fmt.Sprintf("Current phase %d of 3", started.CurrentPhase))

			// A refused gate shows in the clients' logs.
			obs := observer(t, tr, h, cs, ev, "warning")
			r := callTool(t, cs, server.ToolCompletePhase, map[string]any{"session_id": started.SessionID, "phase": 1, "evidence": map[string]any{}})
			require.False(t, r.IsError, textOf(r))
			gate := awaitLog(t, obs, "gate_failed")
			assert.Equal(t, started.SessionID, gate["session_id"])
			assert.Equal(t, "warning", gate["_level"])
			assert.NotEmpty(t, gate["errors"])
		})
	}
}

// TestPromptListFollowsWorkflowsFolder adds workflows to the folder: the
// next prompts/list shows them and the client is told the list changed;
// a dynamic workflow's prompt takes its spec option (spec_path) and passes
// it on.
func TestPromptListFollowsWorkflowsFolder(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			dir := t.TempDir()
			sub, err := fs.Sub(workflows.BuiltinWorkflows(), "bug_fix")
			require.NoError(t, err)
			require.NoError(t, os.CopyFS(filepath.Join(dir, "bug_fix"), sub))
			h, cs, ev := primHarness(t, tr, harnessOpts{workflows: dir})
			obs := observer(t, tr, h, cs, ev, "")
			names := func() []string {
				list, err := cs.ListPrompts(t.Context(), nil)
				require.NoError(t, err)
				var out []string
				for _, p := range list.Prompts {
					out = append(out, p.Name)
				}
				return out
			}
			assert.Equal(t, []string{"bug_fix", server.PromptResume}, names())
			assert.Empty(t, obs.promptsChanged)

			// The built-in dynamic workflow, less its example spec, so that
			// the prompt must ask for one.
			specDir := filepath.Join(dir, "spec_execution_v1")
			specSub, err := fs.Sub(workflows.BuiltinWorkflows(), "spec_execution_v1")
			require.NoError(t, err)
			require.NoError(t, os.CopyFS(specDir, specSub))
			metaPath := filepath.Join(specDir, "metadata.json")
			raw, err := os.ReadFile(metaPath)
			require.NoError(t, err)
			var meta map[string]any
			require.NoError(t, json.Unmarshal(raw, &meta))
			delete(meta["dynamic_config"].(map[string]any), "example_spec")
			raw, err = json.Marshal(meta)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(metaPath, raw, 0o600))
			got := names()
			assert.Equal(t, []string{"bug_fix", server.PromptResume, "spec_execution_v1"}, got)
			await(t, obs.promptsChanged, "prompts/list_changed")

			list, err := cs.ListPrompts(t.Context(), nil)
			require.NoError(t, err)
			i := slices.IndexFunc(list.Prompts, func(p *mcp.Prompt) bool { return p.Name == "spec_execution_v1" })
			require.GreaterOrEqual(t, i, 0)
			var argNames []string
			for _, a := range list.Prompts[i].Arguments {
				argNames = append(argNames, a.Name)
				assert.True(t, a.Required, a.Name)
			}
			assert.Equal(t, []string{"target_file", "spec_path"}, argNames)
			res, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: "spec_execution_v1",
				Arguments: map[string]string{"target_file": "auth", "spec_path": "specs/auth/spec.md"}})
			require.NoError(t, err)
			assert.Contains(t, res.Messages[0].Content.(*mcp.TextContent).Text, `"options": {"spec_path": "specs/auth/spec.md"}`)

			require.NoError(t, os.RemoveAll(specDir))
			assert.Equal(t, []string{"bug_fix", server.PromptResume}, names())
			await(t, obs.promptsChanged, "prompts/list_changed after a removal")
		})
	}
}

// TestToolSchemasPortable checks what the Inspector's --strict mode
// checks, on the schemas a client receives: no schema spells a type as a
// union and no property schema is empty.
func TestToolSchemasPortable(t *testing.T) {
	_, cs, _ := primHarness(t, "http", harnessOpts{})
	res, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	require.NotEmpty(t, res.Tools)
	var walk func(tool, at string, s map[string]any)
	walk = func(tool, at string, s map[string]any) {
		if _, isList := s["type"].([]any); isList {
			t.Errorf("tool %s: %s: type is a union: %v", tool, at, s["type"])
		}
		if props, ok := s["properties"].(map[string]any); ok {
			for name, p := range props {
				ps, _ := p.(map[string]any)
				keys := 0
				for k := range ps {
					if k != "description" {
						keys++
					}
				}
				if keys == 0 {
					t.Errorf("tool %s: %s.%s: schema constrains nothing", tool, at, name)
				}
				walk(tool, at+"."+name, ps)
			}
		}
		for _, k := range []string{"items"} {
			if sub, ok := s[k].(map[string]any); ok {
				walk(tool, at+"."+k, sub)
			}
		}
		if branches, ok := s["anyOf"].([]any); ok {
			for i, b := range branches {
				if bs, ok := b.(map[string]any); ok {
					walk(tool, fmt.Sprintf("%s.anyOf[%d]", at, i), bs)
				}
			}
		}
	}
	for _, tool := range res.Tools {
		for _, schema := range []any{tool.InputSchema, tool.OutputSchema} {
			b, err := json.Marshal(schema)
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			walk(tool.Name, "schema", m)
		}
	}
}

// TestReindexReportsProgress calls reindex_standards with a progress
// token: one notifications/progress per file read and one for the index
// build, increasing to the total; without a token, none.
func TestReindexReportsProgress(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			dir := writeStandards(t, map[string]string{
				"a.md": "# A\n\nOne.\n", "b.md": "# B\n\nTwo.\n", "sub/c.md": "# C\n\nThree.\n",
			})
			_, cs, ev := primHarness(t, tr, harnessOpts{standards: dir})
			p := &mcp.CallToolParams{Name: server.ToolReindexStandards}
			p.SetProgressToken("reindex-" + tr)
			res, err := cs.CallTool(t.Context(), p)
			require.NoError(t, err)
			require.False(t, res.IsError, textOf(res))
			out := decode[struct {
				Generation uint64 `json:"generation"`
				Files      int    `json:"files"`
			}](t, res)
			assert.Equal(t, uint64(2), out.Generation)
			assert.Equal(t, 3, out.Files)
			want := map[float64]string{1: "read a.md", 2: "read b.md", 3: "read sub/c.md", 4: "indexed 3 chunks of 3 files"}
			for _, n := range awaitProgress(t, tr, ev, len(want)) {
				assert.Equal(t, "reindex-"+tr, n.ProgressToken)
				assert.InDelta(t, 4, n.Total, 0)
				assert.Equal(t, want[n.Progress], n.Message, "progress %v", n.Progress)
				delete(want, n.Progress)
			}

			mustOK(t, cs, server.ToolReindexStandards, nil)
			for n := range len(ev.progress) {
				assert.Equal(t, "reindex-"+tr, (<-ev.progress).ProgressToken, "notification %d: no progress without a token", n)
			}
		})
	}
}

// TestPrimitivesOnLatestProtocol: resources, prompts and completions also
// answer a client on the SDK's latest protocol version (2026-07-28, one
// request per session), over HTTP and stdio.
func TestPrimitivesOnLatestProtocol(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startHarness(t, harnessOpts{stdio: tr == "stdio", http: tr == "http"})
			var cs *mcp.ClientSession
			if tr == "stdio" {
				cs = h.stdioClient("latest", "")
			} else {
				cs = h.httpClient("latest", "")
			}
			res, err := cs.ListResources(t.Context(), nil)
			require.NoError(t, err)
			require.NotEmpty(t, res.Resources)
			text, _ := readText(t, cs, res.Resources[0].URI)
			assert.NotEmpty(t, text)
			p, err := cs.GetPrompt(t.Context(), &mcp.GetPromptParams{Name: "feature_delivery", Arguments: map[string]string{"target_file": "x.go"}})
			require.NoError(t, err)
			assert.Contains(t, p.Messages[0].Content.(*mcp.TextContent).Text, `start_workflow with {"workflow_type": "feature_delivery", "target_file": "x.go"}`)
			c, err := cs.Complete(t.Context(), &mcp.CompleteParams{
				Ref:      &mcp.CompleteReference{Type: "ref/resource", URI: server.WorkflowFileTemplate},
				Argument: mcp.CompleteParamsArgument{Name: "workflow_type", Value: "b"},
			})
			require.NoError(t, err)
			assert.Equal(t, []string{"bug_fix"}, c.Completion.Values)
		})
	}
}

// TestSearchDuringRebuildReportsProgress holds a rebuild of the index in
// the middle: a search_standards call with a progress token is told that
// the index is being rebuilt and which generation answers it; once the
// rebuild is done, the same call reports nothing.
func TestSearchDuringRebuildReportsProgress(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h, cs, ev := primHarness(t, tr, harnessOpts{})
			started, release := make(chan struct{}), make(chan struct{})
			var once, releaseOnce sync.Once
			t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
			done := make(chan error, 1)
			go func() {
				done <- h.ix.Reindex(ragcache.WithProgress(context.Background(), func(int, int, string) {
					once.Do(func() { close(started); <-release })
				}))
			}()
			await(t, started, "the rebuild to start")
			search := func() *mcp.CallToolResult {
				p := &mcp.CallToolParams{Name: server.ToolSearchStandards, Arguments: map[string]any{"query": "error handling"}}
				p.SetProgressToken("search-" + tr)
				res, err := cs.CallTool(t.Context(), p)
				require.NoError(t, err)
				require.False(t, res.IsError, textOf(res))
				return res
			}
			search()
			want := map[float64]string{
				0: "the standards index is being rebuilt; answering from generation 1 meanwhile",
				1: "answered from generation 1",
			}
			for _, n := range awaitProgress(t, tr, ev, len(want)) {
				assert.Equal(t, "search-"+tr, n.ProgressToken)
				assert.Equal(t, want[n.Progress], n.Message, "progress %v", n.Progress)
				delete(want, n.Progress)
			}

			releaseOnce.Do(func() { close(release) })
			require.NoError(t, await(t, done, "the rebuild to finish"))
			search()
			for n := range len(ev.progress) {
				assert.NotEqual(t, "the standards index is being rebuilt; answering from generation 2 meanwhile", (<-ev.progress).Message,
					"notification %d: no rebuild, no progress", n)
			}
		})
	}
}

// TestResourcesListPagesFromTheIndex: resources/list pages come from the
// index's sorted file list: exactly DefaultPageSize files are one page with
// no cursor, and a cursor stays valid across a reindex that adds files on
// both sides of it, the next page going on after the cursor's file.
func TestResourcesListPagesFromTheIndex(t *testing.T) {
	files := map[string]string{}
	for i := range server.DefaultPageSize {
		files[fmt.Sprintf("doc-%03d.md", 2*i)] = "# D\n\nx\n"
	}
	dir := writeStandards(t, files)
	h, cs, _ := primHarness(t, "http", harnessOpts{standards: dir})
	pages, all := listAllResources(t, cs)
	assert.Equal(t, 1, pages, "a full last page has no next cursor")
	require.Len(t, all, server.DefaultPageSize)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "doc-200.md"), []byte("# D\n\ny\n"), 0o644))
	require.NoError(t, h.ix.Reindex(t.Context()))
	first, err := cs.ListResources(t.Context(), &mcp.ListResourcesParams{})
	require.NoError(t, err)
	require.Len(t, first.Resources, server.DefaultPageSize)
	require.NotEmpty(t, first.NextCursor)
	assert.Equal(t, "doc-198.md", first.Resources[len(first.Resources)-1].Name)
	for _, name := range []string{"doc-001.md", "doc-199.md"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("# D\n\nz\n"), 0o644))
	}
	require.NoError(t, h.ix.Reindex(t.Context()))
	next, err := cs.ListResources(t.Context(), &mcp.ListResourcesParams{Cursor: first.NextCursor})
	require.NoError(t, err)
	var names []string
	for _, r := range next.Resources {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"doc-199.md", "doc-200.md"}, names)
	assert.Empty(t, next.NextCursor)
	assert.Equal(t, int64(len("# D\n\ny\n")), next.Resources[1].Size)
}
