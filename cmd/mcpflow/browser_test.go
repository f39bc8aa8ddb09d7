package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/testutil"
	"github.com/mcpflow/mcpflow/server"
)

// chromiumPath is Debian's chromium, which .ci/run installs. The test
// never downloads a browser.
const chromiumPath = "/usr/bin/chromium"

// browser starts a fresh headless chromium for the test, or fails (skips
// when BROWSER_OPTIONAL=1) when chromium is not installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else if os.Getenv("BROWSER_OPTIONAL") == "1" {
			t.Skip("chromium is not installed and BROWSER_OPTIONAL=1; apt-get install -y chromium")
		} else {
			t.Fatalf("chromium is not installed (%v): apt-get install -y chromium, or set BROWSER_OPTIONAL=1 to skip", err)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Everything the test does in the page must happen within a minute.
	ctx, cancelRun := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(cancelRun)
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// TestBrowserDashboardApproval: the built binary serves; an MCP client
// (the agent) starts a workflow; the dashboard in a real chromium shows
// the session; the agent's passing evidence appears in the approval queue
// live (no reload); the reviewer rejects with a comment in the page, and
// the agent's next get_current_phase shows it first; the agent submits
// again, the reviewer approves in the page, and the agent's next
// get_current_phase is on the next phase. Evidence holding <script> is
// shown as text.
func TestBrowserDashboardApproval(t *testing.T) {
	bin := testutil.Binary(t)
	ctx := browser(t)
	root := writeApprovalProject(t)
	_, _, _, url := startServe(t, bin, root, "--transport", "http", "--http", "127.0.0.1:0")
	base := strings.TrimSuffix(url, server.PathMCP)
	agent := httpSession(t, url, "", false)
	started := toolJSON[struct {
		ID string `json:"session_id"`
	}](t, agent, server.ToolStartWorkflow, map[string]any{"workflow_type": "review", "target_file": "a.go"})
	id := started.ID
	row := `tr[data-session="` + id + `"]`
	card := `li.card[data-session="` + id + `"]`

	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return v
	}
	run(chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="on"]`)))
	assert.Equal(t, "Live updates on.", text("#live"))

	complete := func(plan string) {
		t.Helper()
		res, err := agent.CallTool(t.Context(), &mcp.CallToolParams{Name: server.ToolCompletePhase,
			Arguments: map[string]any{"session_id": id, "phase": 0, "evidence": map[string]any{"plan": plan}}})
		require.NoError(t, err)
		require.False(t, res.IsError)
		text := res.Content[0].(*mcp.TextContent).Text
		require.Contains(t, text, "AWAITING APPROVAL")
		require.Contains(t, text, base+"/session/"+id, "the answer says where to approve")
	}
	currentPhase := func() phaseReply {
		t.Helper()
		return toolJSON[phaseReply](t, agent, server.ToolGetCurrentPhase, map[string]any{"session_id": id})
	}

	// The approval appears live (no reload), then the reviewer rejects it.
	complete("<script>document.title='pwned'</script> first plan")
	run(chromedp.WaitVisible(chromedp.CSS(card)))
	assert.Equal(t, "1", text("#approval-count"))
	run(chromedp.SendKeys(chromedp.CSS(card+` input[name="by"]`), "ana"),
		chromedp.SendKeys(chromedp.CSS(card+` textarea[name="comment"]`), "name the tests"),
		chromedp.Click(chromedp.CSS(card+` button.reject`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		chromedp.WaitNotPresent(chromedp.CSS(card)))
	p := currentPhase()
	assert.Equal(t, 0, p.Phase)
	require.NotNil(t, p.Rejection)
	assert.Equal(t, "name the tests", p.Rejection.Comment)
	assert.Equal(t, "ana", p.Rejection.By)

	// Again, approved on the session's page this time.
	complete("<script>document.title='pwned'</script> second plan")
	run(chromedp.WaitVisible(chromedp.CSS(card)))
	if shot := os.Getenv("MCPFLOW_SCREENSHOT"); shot != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(shot, png, 0o644))
	}
	run(chromedp.Navigate(base+"/session/"+id), chromedp.WaitVisible(chromedp.CSS(`form.decide button.approve`)))
	assert.Contains(t, text(`pre.evidence`), "<script>document.title='pwned'</script> second plan", "evidence is shown as text")
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script").length`))
	require.NoError(t, err)
	assert.Zero(t, scripts, "no script element from evidence")
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	assert.NotEqual(t, "pwned", title)
	run(chromedp.SendKeys(chromedp.CSS(`form.decide input[name="by"]`), "bob"),
		chromedp.Click(chromedp.CSS(`form.decide button.approve`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form.decide`)))
	p = currentPhase()
	assert.Equal(t, 1, p.Phase, "the agent is on the next phase without a re-prompt")
	st := toolJSON[struct {
		Decisions []struct {
			Decision string `json:"decision"`
			By       string `json:"by"`
		} `json:"decisions"`
	}](t, agent, server.ToolGetWorkflowState, map[string]any{"session_id": id})
	require.Len(t, st.Decisions, 2)
	assert.Equal(t, "rejected", st.Decisions[0].Decision)
	assert.Equal(t, "bob", st.Decisions[1].By)
}
