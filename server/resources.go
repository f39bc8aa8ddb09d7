package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/mcpflow/mcpflow/checkpoint"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/ragcache"
)

// Resource URIs.
const (
	// StandardsScheme prefixes every standards file's URI:
	// standards://<path relative to the standards folder>.
	StandardsScheme = "standards://"
	// WorkflowFileTemplate is the URI template of a workflow's phase and
	// task files (phase.md, task-*.md, gate-definition.yaml).
	WorkflowFileTemplate = "workflow://{workflow_type}/phases/{phase}/{file}"
	// StandardsTemplate is the URI template of the standards files, which
	// resources/list names one by one.
	StandardsTemplate = "standards://{+path}"
	// DefaultPageSize is how many items one resources/list (and
	// prompts/list, tools/list) page holds.
	DefaultPageSize = 100
)

const (
	mimeMarkdown = "text/markdown"
	mimeYAML     = "application/yaml"
)

// StandardsURI returns the resource URI of a standards file.
func StandardsURI(file string) string {
	parts := strings.Split(file, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return StandardsScheme + strings.Join(parts, "/")
}

// standardsPath is StandardsURI's inverse.
func standardsPath(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, StandardsScheme)
	if !ok {
		return "", false
	}
	p, err := url.PathUnescape(rest)
	if err != nil || p == "" {
		return "", false
	}
	return p, true
}

// errResource is wrapped by every error a resource read returns for a bad
// or unknown URI.
var errResource = errors.New("resource")

// DefaultMaxSubscriptions bounds the resource subscriptions of one MCP
// session.
const DefaultMaxSubscriptions = 256

// subscriptions records which MCP sessions subscribed to which resource
// URIs. mcp-go v1.2.1 answers resources/subscribe but none of its
// sessions (stdio, streamable HTTP) records the subscription, so this
// server does: Server.preflight adds one before mcp-go answers the
// subscribe, the unsubscribe hook removes it, and a session's end drops
// them all.
//
// Only a registered session may subscribe: open starts a session's
// record when mcp-go registers it and drop ends it, under the same lock
// as add, so that a subscribe racing the session's end leaves nothing
// behind.
//
// A subscriptions is safe for concurrent use; its zero value is empty and
// ready. Every field is guarded by mu.
type subscriptions struct {
	mu        sync.Mutex
	byURI     map[string]map[string]struct{} // uri -> session IDs
	bySession map[string]map[string]struct{} // open session -> its URIs
}

// open starts the record of a registered session.
func (ss *subscriptions) open(session string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.bySession == nil {
		ss.bySession = map[string]map[string]struct{}{}
	}
	if ss.bySession[session] == nil {
		ss.bySession[session] = map[string]struct{}{}
	}
}

// Outcomes of subscriptions.add.
const (
	subscribed = iota
	subscribeFull
	subscribeNoSession
)

// add subscribes session to uri, unless the session already has limit
// subscriptions (subscribeFull) or is not open (subscribeNoSession).
// Subscribing again to the same URI is no new subscription.
func (ss *subscriptions) add(uri, session string, limit int) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	mine, ok := ss.bySession[session]
	switch {
	case !ok:
		return subscribeNoSession
	case len(mine) >= limit:
		if _, dup := mine[uri]; !dup {
			return subscribeFull
		}
	}
	mine[uri] = struct{}{}
	if ss.byURI == nil {
		ss.byURI = map[string]map[string]struct{}{}
	}
	set := ss.byURI[uri]
	if set == nil {
		set = map[string]struct{}{}
		ss.byURI[uri] = set
	}
	set[session] = struct{}{}
	return subscribed
}

func (ss *subscriptions) remove(uri, session string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.bySession[session], uri)
	ss.removeLocked(uri, session)
}

func (ss *subscriptions) removeLocked(uri, session string) {
	if set := ss.byURI[uri]; set != nil {
		delete(set, session)
		if len(set) == 0 {
			delete(ss.byURI, uri)
		}
	}
}

// drop removes every subscription of session and closes its record.
func (ss *subscriptions) drop(session string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for uri := range ss.bySession[session] {
		ss.removeLocked(uri, session)
	}
	delete(ss.bySession, session)
}

// sessions returns the sessions subscribed to uri.
func (ss *subscriptions) sessions(uri string) []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := make([]string, 0, len(ss.byURI[uri]))
	for id := range ss.byURI[uri] {
		out = append(out, id)
	}
	return out
}

// standardsTemplate serves resources/read of the standards files. They are
// not registered one by one with mcp-go, whose resources/list copies and
// sorts its whole registry for every page (0.5 s a page with 50,000
// files); listStandards lists them instead, from the index's sorted list.
func (s *Server) standardsTemplate() mcpserver.ServerResourceTemplate {
	return mcpserver.ServerResourceTemplate{
		Template: mcp.NewResourceTemplate(StandardsTemplate, "standards-file",
			mcp.WithTemplateDescription("A standards document, by its path in the standards folder; resources/list names every one, "+
				"and search_standards searches them all."),
			mcp.WithTemplateMIMEType(mimeMarkdown),
		),
		Handler: s.readStandards,
	}
}

// listStandards answers resources/list with one page of the standards
// files, which mcp-go's registry does not hold (see standardsTemplate),
// in place of the empty page mcp-go made. A page costs its own files only:
// the index keeps its files sorted by path, so a page is a binary search
// for the cursor and a slice. The cursor is mcp-go's: the base64 of the
// last path of the previous page, which mcp-go has already checked; it
// stays valid across reindexes. Sizes are the current index's, so that
// an edited file changes its size without a list_changed notification.
func (s *Server) listStandards(_ context.Context, _ any, req *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
	if res == nil || req == nil {
		return
	}
	files := s.cfg.Index.Files()
	start := 0
	if req.Params.Cursor != "" {
		after, err := base64.StdEncoding.DecodeString(string(req.Params.Cursor))
		if err != nil {
			return // mcp-go refused it already
		}
		start = sort.Search(len(files), func(i int) bool { return files[i].Path > string(after) })
	}
	end := min(start+DefaultPageSize, len(files))
	page := make([]mcp.Resource, 0, end-start+len(res.Resources))
	for _, f := range files[start:end] {
		page = append(page, mcp.Resource{
			URI:         StandardsURI(f.Path),
			Name:        f.Path,
			Title:       path.Base(f.Path),
			Description: "Standards document " + f.Path + "; search_standards searches all of them.",
			MIMEType:    mimeMarkdown,
			Size:        new(f.Size),
		})
	}
	res.Resources = append(page, res.Resources...)
	res.NextCursor = ""
	if end < len(files) {
		res.NextCursor = mcp.Cursor(base64.StdEncoding.EncodeToString([]byte(files[end-1].Path)))
	}
}

// readStandards reads a standards file through the index's file cache.
func (s *Server) readStandards(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	p, ok := standardsPath(req.Params.URI)
	if !ok {
		return nil, fmt.Errorf("%w: uri %q is not a standards:// URI; resources/list names them", errResource, req.Params.URI)
	}
	b, _, err := s.cfg.Index.ReadFile(ctx, p)
	if errors.Is(err, ragcache.ErrNoFile) {
		return nil, fmt.Errorf("%w: uri %q: no such standards file; resources/list names them", errResource, req.Params.URI)
	}
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: mimeMarkdown, Text: string(b)}}, nil
}

// workflowTemplate is the resource template of the workflows' files.
func (s *Server) workflowTemplate() mcpserver.ServerResourceTemplate {
	return mcpserver.ServerResourceTemplate{
		Template: mcp.NewResourceTemplate(WorkflowFileTemplate, "workflow-file",
			mcp.WithTemplateDescription("A workflow's phase instructions (phase.md), task files and gate definition (gate-definition.yaml). "+
				"Complete workflow_type, phase and file with completion/complete."),
			mcp.WithTemplateMIMEType(mimeMarkdown),
		),
		Handler: s.readWorkflowFile,
	}
}

// templateArg returns one variable the URI template matched.
func templateArg(req mcp.ReadResourceRequest, name string) string {
	switch v := req.Params.Arguments[name].(type) {
	case string:
		return v
	case []string:
		if len(v) == 1 {
			return v[0]
		}
	}
	return ""
}

// readWorkflowFile reads workflow://<workflow_type>/phases/<phase>/<file>
// through the engine, whose os.Root refuses any path outside the
// workflows folder.
func (s *Server) readWorkflowFile(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	wt, ps, file := templateArg(req, "workflow_type"), templateArg(req, "phase"), templateArg(req, "file")
	if unescaped, err := url.PathUnescape(file); err == nil {
		file = unescaped
	}
	phase, err := strconv.Atoi(ps)
	if err != nil || phase < 0 {
		return nil, fmt.Errorf("%w: uri %q: phase must be a phase number such as 1, got %q", errResource, req.Params.URI, ps)
	}
	wf, err := checkpoint.ParseWorkflowName(wt)
	if err != nil {
		return nil, fmt.Errorf("%w: uri %q: workflow_type %q is not a workflow name; list_workflows names them", errResource, req.Params.URI, wt)
	}
	b, err := s.cfg.Engine.ReadPhaseFile(ctx, wf, phase, file)
	if errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrInvalidArgument) {
		return nil, fmt.Errorf("%w: uri %q: %s", errResource, req.Params.URI, state.Message(err))
	}
	if err != nil {
		return nil, err
	}
	mime := mimeMarkdown
	if ext := strings.ToLower(path.Ext(file)); ext == ".yaml" || ext == ".yml" {
		mime = mimeYAML
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: mime, Text: string(b)}}, nil
}

// onIndexChange keeps the standards resources in step with the index: an
// added or removed file replaces the list (one list_changed
// notification), a changed file tells its subscribers with
// notifications/resources/updated, and every rebuild is logged to the
// clients. The index calls it after each rebuild, one at a time.
func (s *Server) onIndexChange(c ragcache.Change) {
	if c.Err != nil {
		level, data := indexEvent(c)
		s.clientLog(context.Background(), level, "search", data)
		return
	}
	if len(c.Added) > 0 || len(c.Removed) > 0 {
		s.mcp.SendNotificationToAllClients(mcp.MethodNotificationResourcesListChanged, nil)
	}
	for _, p := range c.Modified {
		uri := StandardsURI(p)
		s.notifyListeners(uri)
		for _, id := range s.subs.sessions(uri) {
			if err := s.mcp.SendNotificationToSpecificClient(id, mcp.MethodNotificationResourceUpdated, map[string]any{"uri": uri}); err != nil {
				s.log.Debug("resource update not delivered", "uri", uri, "session", id, "err", err)
			}
		}
	}
	level, data := indexEvent(c)
	s.clientLog(context.Background(), level, "search", data)
}

// indexEvent is the client log event of a rebuild: reindex_done, or
// reindex_failed.
func indexEvent(c ragcache.Change) (mcp.LoggingLevel, map[string]any) {
	if c.Err != nil {
		return mcp.LoggingLevelError, map[string]any{
			"event": "reindex_failed", "generation": c.Generation, "error": c.Err.Error(),
			"message": "the standards index could not be rebuilt; searches use the previous index",
		}
	}
	return mcp.LoggingLevelInfo, map[string]any{
		"event": "reindex_done", "generation": c.Generation, "files": c.Files, "chunks": c.Chunks,
		"added": nonNil(c.Added), "removed": nonNil(c.Removed), "modified": nonNil(c.Modified),
	}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// subscribeHooks records resources/unsubscribe, and opens and forgets a
// session's subscriptions as it starts and ends; Server.preflight records
// resources/subscribe.
func (s *Server) subscribeHooks(h *mcpserver.Hooks) {
	h.AddOnRegisterSession(func(_ context.Context, cs mcpserver.ClientSession) {
		s.subs.open(cs.SessionID())
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if cs := mcpserver.ClientSessionFromContext(ctx); cs != nil && req != nil {
			s.subs.remove(req.Params.URI, cs.SessionID())
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, cs mcpserver.ClientSession) {
		s.subs.drop(cs.SessionID())
	})
	h.AddAfterListResources(s.listStandards)
}
