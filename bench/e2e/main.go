// Command e2e is the end-to-end load generator of mcpflow: it measures the
// throughput and latency percentiles of MCP tool calls over streamable
// HTTP with N concurrent clients, each with its own MCP session and
// keep-alive connection, for
//
//   - a trivial tool (the floor: HTTP, JSON-RPC, mcp-go and the server's
//     middleware, and nothing else),
//   - search_standards answered from the query cache (hits) and with a new
//     query every call (misses),
//   - start_workflow creating a new session every call (one state file
//     written each), and
//   - complete_phase advancing each of those sessions by one phase.
//
// By default it starts the server in-process on 127.0.0.1:0 with the
// built-in workflows and standards (state in a temporary folder), so the
// load generator and the server share the machine. With -url it drives a
// running "mcpflow serve" instead; the floor tool exists only in-process.
//
// Usage (from bench/):
//
//	go run ./e2e -clients 1,8,32 -duration 5s -rounds 5
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/mcpflow/mcpflow/engine"
	"github.com/mcpflow/mcpflow/ragcache"
	"github.com/mcpflow/mcpflow/server"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// run parses the flags, runs the scenarios and prints the table.
func run() error {
	var (
		clientsFlag = flag.String("clients", "1,8,32", "comma-separated numbers of concurrent clients")
		duration    = flag.Duration("duration", 3*time.Second, "how long each time-bound scenario runs")
		warmup      = flag.Duration("warmup", 500*time.Millisecond, "untimed run before each time-bound scenario")
		perClient   = flag.Int("sessions", 40, "sessions each client starts (then completes) in the start/complete scenarios")
		url         = flag.String("url", "", "drive a running server at this /mcp URL instead of an in-process one")
		token       = flag.String("token", os.Getenv("MCPFLOW_TOKEN"), "bearer token for -url")
		only        = flag.String("only", "", "comma-separated scenarios to run (floor, search_hit, search_miss, start_workflow, complete_phase)")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) to this file")
		rate        = flag.Float64("rate", 0, "open loop: total calls per second across all clients in the time-bound scenarios (0: closed loop, every client calls back to back)")
		rounds      = flag.Int("rounds", 5, "the time-bound scenarios take turns this many times, each running duration/rounds")
	)
	flag.Parse()
	var counts []int
	for f := range strings.SplitSeq(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q is not a positive number", f)
		}
		counts = append(counts, n)
	}
	want := func(name string) bool {
		return *only == "" || slices.Contains(strings.Split(*only, ","), name)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	target := *url
	floor := false
	if target == "" {
		u, stop, err := startInProcess()
		if err != nil {
			return err
		}
		defer stop()
		target, floor = u, true
	}
	mode := "closed loop"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f calls/s", *rate)
	}
	fmt.Printf("# mcpflow end-to-end: %s, %s, GOMAXPROCS=%d, %s, go %s\n\n", target, mode, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339), runtime.Version())
	fmt.Println("| scenario | clients | calls | errors | calls/s | p50 | p90 | p99 | max | CPU/call | vs floor |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var missSeq atomic.Int64
	hitQueries := []string{"error handling", "regression test", "code review", "naming conventions", "commit messages", "goroutine leaks", "release process", "test data"}
	words := []string{"error", "test", "review", "commit", "release", "naming", "goroutine", "cache", "phase", "design"}
	type scenario struct {
		name string
		op   func(c *client, i int) error
	}
	var scenarios []scenario
	if floor && want("floor") {
		scenarios = append(scenarios, scenario{"floor (trivial tool)", func(c *client, _ int) error {
			return c.call("noop", `{}`)
		}})
	}
	if want("search_hit") {
		scenarios = append(scenarios, scenario{"search_standards, cache hit", func(c *client, i int) error {
			return c.call(server.ToolSearchStandards, `{"query":`+strconv.Quote(hitQueries[i%len(hitQueries)])+`}`)
		}})
	}
	if want("search_miss") {
		scenarios = append(scenarios, scenario{"search_standards, cache miss", func(c *client, _ int) error {
			k := missSeq.Add(1)
			q := fmt.Sprintf("%s %s q%d", words[k%10], words[(k/10)%10], k) // never asked before
			return c.call(server.ToolSearchStandards, `{"query":`+strconv.Quote(q)+`}`)
		}})
	}
	for _, n := range counts {
		clients, err := connect(target, *token, n)
		if err != nil {
			return err
		}
		for _, q := range hitQueries { // fill the query cache
			if err := clients[0].call(server.ToolSearchStandards, `{"query":`+strconv.Quote(q)+`}`); err != nil {
				return err
			}
		}
		// The time-bound scenarios take turns, round after round, so that
		// a change in the machine's load hits them all alike.
		results := make([]*result, len(scenarios))
		for i := range results {
			results[i] = &result{}
		}
		for range *rounds {
			for i, sc := range scenarios {
				results[i].add(timed(clients, *rate, *warmup/time.Duration(*rounds), *duration/time.Duration(*rounds), sc.op))
			}
		}
		var floorRate float64
		for i, sc := range scenarios {
			if i == 0 && floor && want("floor") {
				floorRate = results[i].rate()
				results[i].print(sc.name, n, 0)
				continue
			}
			results[i].print(sc.name, n, floorRate)
		}
		if want("start_workflow") || want("complete_phase") {
			ids := make([][]string, n)
			r := counted(clients, *perClient, func(c *client, ci, i int) error {
				body, err := c.callResult(server.ToolStartWorkflow, fmt.Sprintf(`{"workflow_type":"bug_fix","target_file":"load/c%d-s%d-%d.go"}`, ci, i, time.Now().UnixNano()))
				if err != nil {
					return err
				}
				id, err := sessionID(body)
				ids[ci] = append(ids[ci], id)
				return err
			})
			if want("start_workflow") {
				r.print("start_workflow (new session)", n, floorRate)
			}
			if want("complete_phase") {
				evidence := `{"repro_steps":["run it"],"reproduced":true,"severity":2,"environment":{"os":"linux"},"expected":"works","actual":"fails"}`
				r := counted(clients, *perClient, func(c *client, ci, i int) error {
					if i >= len(ids[ci]) {
						return errors.New("no session")
					}
					return c.call(server.ToolCompletePhase, `{"session_id":"`+ids[ci][i]+`","phase":1,"evidence":`+evidence+`}`)
				})
				r.print("complete_phase (advance)", n, floorRate)
			}
		}
	}
	return nil
}

// startInProcess serves the built-in samples on 127.0.0.1:0 with a
// trivial "noop" tool added, and returns the URL and a stop function.
func startInProcess() (string, func(), error) {
	ctx := context.Background()
	state, err := os.MkdirTemp("", "mcpflow-e2e-*")
	if err != nil {
		return "", nil, err
	}
	quiet := slog.New(slog.DiscardHandler)
	eng, err := engine.New(engine.Config{StateDir: state, Logger: quiet})
	if err != nil {
		return "", nil, err
	}
	ix, err := ragcache.Open(ctx, ragcache.Config{Logger: quiet, CacheMaxEntries: 1 << 16})
	if err != nil {
		return "", nil, err
	}
	srv, err := server.New(server.Config{Engine: eng, Index: ix, HTTPAddr: "127.0.0.1:0", Logger: quiet, Version: "e2e"})
	if err != nil {
		return "", nil, err
	}
	srv.MCPServer().AddTool(mcpgo.NewTool("noop", mcpgo.WithDescription("does nothing: the floor of the benchmark")),
		func(context.Context, mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
			return mcpgo.NewToolResultText("ok"), nil
		})
	if err := srv.Listen(); err != nil {
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, nil, nil) }()
	return srv.URL(), func() {
		cancel()
		if err := <-done; err != nil {
			log.Printf("server: %v", err)
		}
		_ = ix.Close()
		_ = eng.Close()
		_ = os.RemoveAll(state)
	}, nil
}

// client is one MCP client: its own session, calls made one at a time.
type client struct {
	hc      *http.Client
	url     string
	token   string
	session string
	buf     bytes.Buffer
	id      int
}

func connect(url, token string, n int) ([]*client, error) {
	tr := &http.Transport{MaxIdleConns: n * 2, MaxIdleConnsPerHost: n * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr}
	out := make([]*client, n)
	for i := range out {
		c := &client{hc: hc, url: url, token: token}
		body, hdr, err := c.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e-` + strconv.Itoa(i) + `","version":"1"}}}`)
		if err != nil {
			return nil, fmt.Errorf("initialize: %w", err)
		}
		c.session = hdr.Get("Mcp-Session-Id")
		if c.session == "" {
			return nil, fmt.Errorf("initialize: no session ID in the answer: %s", body)
		}
		if _, _, err := c.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func (c *client) post(body string) ([]byte, http.Header, error) {
	req, err := http.NewRequest(http.MethodPost, c.url, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(resp.Body); err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, c.buf.String())
	}
	return c.buf.Bytes(), resp.Header, nil
}

// callResult makes one tools/call and returns the raw answer, or an error
// for a protocol error or an isError result.
func (c *client) callResult(tool, args string) ([]byte, error) {
	c.id++
	body, _, err := c.post(`{"jsonrpc":"2.0","id":` + strconv.Itoa(c.id) + `,"method":"tools/call","params":{"name":"` + tool + `","arguments":` + args + `}}`)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(body, []byte(`"isError":true`)) || !bytes.Contains(body, []byte(`"result"`)) {
		return nil, fmt.Errorf("%s: %.300s", tool, body)
	}
	return body, nil
}

func (c *client) call(tool, args string) error {
	_, err := c.callResult(tool, args)
	return err
}

func sessionID(body []byte) (string, error) {
	var m struct {
		Result struct {
			Structured struct {
				ID string `json:"session_id"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Result.Structured.ID == "" {
		return "", fmt.Errorf("no session_id in %.200s", body)
	}
	return m.Result.Structured.ID, nil
}

// result is one scenario's measurements.
type result struct {
	lat    []time.Duration
	errs   int64
	took   time.Duration
	cpu    time.Duration // process CPU time (user+system) spent, server and load generator together
	sample error
}

// cpuTime returns the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r *result) rate() float64 { return float64(len(r.lat)) / r.took.Seconds() }

// add merges another run of the same scenario into r.
func (r *result) add(o *result) {
	r.lat = append(r.lat, o.lat...)
	r.errs += o.errs
	r.took += o.took
	r.cpu += o.cpu
	if o.sample != nil {
		r.sample = o.sample
	}
}

func (r *result) print(name string, clients int, floor float64) {
	slices.Sort(r.lat)
	q := func(p float64) string {
		if len(r.lat) == 0 {
			return "-"
		}
		return fmtDur(r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))])
	}
	vs := ""
	if floor > 0 {
		vs = fmt.Sprintf("%.0f%%", 100*r.rate()/floor)
	}
	cpu := "-"
	if len(r.lat) > 0 && r.cpu > 0 {
		cpu = fmt.Sprintf("%.0f µs", float64(r.cpu)/1e3/float64(len(r.lat)))
	}
	fmt.Printf("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s |\n", name, clients, len(r.lat), r.errs, r.rate(), q(0.50), q(0.90), q(0.99), q(1), cpu, vs)
	if r.sample != nil {
		fmt.Fprintf(os.Stderr, "%s: %d errors, e.g. %v\n", name, r.errs, r.sample)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

// timed runs op on every client for warmup (unrecorded), then for d, and
// collects every call's latency. With rate 0 each client calls back to
// back (closed loop). With a rate, the clients together start rate calls
// per second on a fixed schedule (open loop), and a call's latency counts
// from its scheduled start, so that a server that falls behind is charged
// for the wait too.
func timed(clients []*client, rate float64, warmup, d time.Duration, op func(c *client, i int) error) *result {
	run := func(d time.Duration, record bool) *result {
		res := &result{}
		lats := make([][]time.Duration, len(clients))
		var errs atomic.Int64
		var mu sync.Mutex
		cpu0 := cpuTime()
		start := time.Now()
		deadline := start.Add(d)
		var interval time.Duration
		if rate > 0 {
			interval = time.Duration(float64(len(clients)) / rate * float64(time.Second))
		}
		var wg sync.WaitGroup
		for ci, c := range clients {
			wg.Go(func() {
				local := make([]time.Duration, 0, 4096)
				next := start.Add(interval * time.Duration(ci) / time.Duration(len(clients)))
				for i := ci; ; i++ {
					t0 := time.Now()
					if interval > 0 {
						if next.After(deadline) {
							break
						}
						if w := time.Until(next); w > 0 {
							time.Sleep(w)
						}
						t0 = next
						next = next.Add(interval)
					} else if !t0.Before(deadline) {
						break
					}
					err := op(c, i)
					el := time.Since(t0)
					if err != nil {
						errs.Add(1)
						mu.Lock()
						res.sample = err
						mu.Unlock()
						continue
					}
					local = append(local, el)
				}
				lats[ci] = local
			})
		}
		wg.Wait()
		res.took = time.Since(start)
		res.cpu = cpuTime() - cpu0
		if record {
			for _, l := range lats {
				res.lat = append(res.lat, l...)
			}
		}
		res.errs = errs.Load()
		return res
	}
	if warmup > 0 {
		run(warmup, false)
	}
	return run(d, true)
}

// counted runs op n times on every client, released together.
func counted(clients []*client, n int, op func(c *client, ci, i int) error) *result {
	res := &result{}
	lats := make([][]time.Duration, len(clients))
	var errs atomic.Int64
	var mu sync.Mutex
	release := make(chan struct{})
	var wg sync.WaitGroup
	for ci, c := range clients {
		wg.Go(func() {
			<-release
			local := make([]time.Duration, 0, n)
			for i := range n {
				t0 := time.Now()
				err := op(c, ci, i)
				el := time.Since(t0)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					res.sample = err
					mu.Unlock()
					continue
				}
				local = append(local, el)
			}
			lats[ci] = local
		})
	}
	cpu0 := cpuTime()
	start := time.Now()
	close(release)
	wg.Wait()
	res.took = time.Since(start)
	res.cpu = cpuTime() - cpu0
	for _, l := range lats {
		res.lat = append(res.lat, l...)
	}
	res.errs = errs.Load()
	return res
}
