package dashboard

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/engine/filestore"
	"github.com/mcpflow/mcpflow/engine/state"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

func TestMain(m *testing.M) {
	// bleve's analysis workers start with the package, not with a test.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

// fixture is an engine on a workflow whose phase 0 requires approval,
// with one session awaiting it, behind a dashboard.
type fixture struct {
	eng          *engine.Engine
	wf, stateDir string
	dash         *Dashboard
	srv          *httptest.Server
	id           string
	c            *http.Client
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	wf := t.TempDir()
	testutil.WriteApprovalWorkflow(t, wf, testutil.ApprovalOnly)
	stateDir := t.TempDir()
	eng, err := engine.New(engine.Config{WorkflowsDir: wf, StateDir: stateDir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	ctx := t.Context()
	st, err := eng.Start(ctx, engine.MustParseWorkflowName("review"), "a.go", nil)
	require.NoError(t, err)
	res, err := eng.CompletePhase(ctx, state.MustParseSessionID(st.SessionID), 0, map[string]any{"plan": "<script>alert(1)</script>"})
	require.NoError(t, err)
	require.True(t, res.AwaitingApproval)
	d, err := New(Config{Engine: eng, Token: token, ApproveCommand: "mcpflow approve", Poll: 20 * time.Millisecond})
	require.NoError(t, err)
	srv := httptest.NewServer(d)
	t.Cleanup(func() { d.Close(); srv.Close() })
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &fixture{eng: eng, wf: wf, stateDir: stateDir, dash: d, srv: srv, id: st.SessionID, c: c}
}

func (f *fixture) get(t *testing.T, path string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+path, http.NoBody)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.c.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

func (f *fixture) post(t *testing.T, path string, form url.Values, hdr ...string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.c.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestIndexListsSessionsAndQueue(t *testing.T) {
	f := newFixture(t, "")
	code, body, hdr := f.get(t, "/")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, hdr.Get("Content-Security-Policy"), "script-src 'self'")
	assert.Contains(t, body, `<span class="count" id="approval-count">1</span>`)
	assert.Contains(t, body, "/session/"+f.id)
	assert.Contains(t, body, "phase 1 of 2")
	_, body, _ = f.get(t, "/?status=completed")
	assert.NotContains(t, body, `<tr data-session="`+f.id)
	code, _, _ = f.get(t, "/nope")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestEvidenceIsEscapedText(t *testing.T) {
	f := newFixture(t, "")
	code, body, _ := f.get(t, "/session/"+f.id)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotContains(t, body, "<script>alert")
}

func TestDecideNeedsCSRFAndSameSite(t *testing.T) {
	f := newFixture(t, "")
	form := url.Values{"session": {f.id}, "phase": {"0"}, "decision": {"approved"}, "by": {"ana"}}
	code, _ := f.post(t, "/decide", form)
	assert.Equal(t, http.StatusForbidden, code, "no CSRF token")
	form.Set("csrf", f.dash.csrfToken())
	code, _ = f.post(t, "/decide", form, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, code)
	v, err := f.eng.CurrentPhase(t.Context(), state.MustParseSessionID(f.id))
	require.NoError(t, err)
	require.Equal(t, 0, v.Phase, "refused posts decide nothing")

	rej := url.Values{"csrf": {f.dash.csrfToken()}, "session": {f.id}, "phase": {"0"}, "decision": {"rejected"}}
	code, hdr := f.post(t, "/decide", rej)
	assert.Equal(t, http.StatusSeeOther, code)
	assert.Contains(t, hdr.Get("Location"), "needs+a+comment")

	code, hdr = f.post(t, "/decide", form)
	require.Equal(t, http.StatusSeeOther, code)
	assert.True(t, strings.HasPrefix(hdr.Get("Location"), "/session/"+f.id))
	v, err = f.eng.CurrentPhase(t.Context(), state.MustParseSessionID(f.id))
	require.NoError(t, err)
	assert.Equal(t, 1, v.Phase)
	st, err := f.eng.State(t.Context(), state.MustParseSessionID(f.id))
	require.NoError(t, err)
	require.Len(t, st.Decisions, 1)
	assert.Equal(t, "ana", st.Decisions[0].By)
}

func TestTokenLogin(t *testing.T) {
	f := newFixture(t, "s3cret")
	code, _, hdr := f.get(t, "/")
	require.Equal(t, http.StatusSeeOther, code)
	assert.Equal(t, "/login", hdr.Get("Location"))
	code, _, _ = f.get(t, "/events")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = f.get(t, "/", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusOK, code)

	csrf := f.dash.csrfToken()
	code, _ = f.post(t, "/login", url.Values{"csrf": {csrf}, "token": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, code)
	code, hdr = f.post(t, "/login", url.Values{"csrf": {csrf}, "token": {"s3cret"}})
	require.Equal(t, http.StatusSeeOther, code)
	cookie := hdr.Get("Set-Cookie")
	assert.Contains(t, cookie, "HttpOnly")
	assert.Contains(t, cookie, "SameSite=Strict")
	assert.NotContains(t, cookie, "s3cret")
	name, value, _ := strings.Cut(strings.Split(cookie, ";")[0], "=")
	code, body, _ := f.get(t, "/", "Cookie", name+"="+value)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "Log out")
}

// A decision saved by this process reaches an open /events stream.
func TestEventsOnChange(t *testing.T) {
	f := newFixture(t, "")
	f.eventAfter(t, func() {
		_, err := f.eng.Decide(t.Context(), state.MustParseSessionID(f.id), 0, state.DecisionApproved, "ana", "")
		require.NoError(t, err)
	})
}

// A decision saved by another process (mcpflow approve on the same state
// folder) reaches an open /events stream too, through the poll.
func TestEventsOnChangeByAnotherProcess(t *testing.T) {
	f := newFixture(t, "")
	f.eventAfter(t, func() {
		fs, err := filestore.OpenShared(f.stateDir)
		require.NoError(t, err)
		cli, err := engine.New(engine.Config{WorkflowsDir: f.wf, Store: fs})
		require.NoError(t, err)
		_, err = cli.Decide(t.Context(), state.MustParseSessionID(f.id), 0, state.DecisionApproved, "ana", "")
		require.NoError(t, err)
		require.NoError(t, cli.Close())
		require.NoError(t, fs.Close())
	})
	_, body, _ := f.get(t, "/")
	assert.Contains(t, body, `<span class="count" id="approval-count">0</span>`)
}

// eventAfter opens /events, runs change, and waits for a change event.
func (f *fixture) eventAfter(t *testing.T, change func()) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/events", http.NoBody)
	require.NoError(t, err)
	resp, err := f.c.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != ": connected" {
	}
	change()
	got := false
	for sc.Scan() {
		if sc.Text() == "event: change" {
			got = true
			break
		}
	}
	assert.True(t, got, "a change event")
}

// A page rendered before a change and a stream opened after it: the
// stream's first event is a change (the page would otherwise show the old
// sessions until the next change); a page that is up to date gets none.
func TestEventsSinceThePage(t *testing.T) {
	f := newFixture(t, "")
	since := regexp.MustCompile(`<span id="live" data-state="off" data-since="([0-9a-f]+)">`)
	_, body, _ := f.get(t, "/")
	m := since.FindStringSubmatch(body)
	require.NotNil(t, m, "the page carries its fingerprint")
	_, err := f.eng.Decide(t.Context(), state.MustParseSessionID(f.id), 0, state.DecisionApproved, "ana", "")
	require.NoError(t, err)
	assert.Equal(t, "event: change", f.firstEvent(t, "/events?since="+m[1]), "the page is older than the stream")

	_, body, _ = f.get(t, "/session/"+f.id)
	m = since.FindStringSubmatch(body)
	require.NotNil(t, m, "the session page carries its fingerprint")
	assert.Equal(t, ":", f.firstEvent(t, "/events?since="+m[1]), "the page is up to date: only the keep-alive")
}

// firstEvent opens path and returns the first line the stream sends after
// its greeting: "event: change", or ":" (the keep-alive of a poll that
// found nothing new).
func (f *fixture) firstEvent(t *testing.T, path string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+path, http.NoBody)
	require.NoError(t, err)
	resp, err := f.c.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != ": connected" {
	}
	for sc.Scan() {
		if sc.Text() != "" {
			return sc.Text()
		}
	}
	t.Fatalf("the stream ended: %v", sc.Err())
	return ""
}
