package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// e2eSample is what bench/e2e prints: a closed-loop table, then an
// open-loop one whose rows the chart must not take.
const e2eSample = `# mcpflow end-to-end: in-process, closed loop, GOMAXPROCS=2, 2026-11-27T01:00:00Z, go1.26

| scenario | clients | calls | errors | calls/s | p50 | p90 | p99 | max | CPU/call | vs floor |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| floor (trivial tool) | 1 | 20223 | 0 | 4039 | 217 µs | 337 µs | 931 µs | 7.08 ms | 253 µs |  |
| search_standards, cache hit | 1 | 12802 | 0 | 2560 | 348 µs | 514 µs | 1.25 ms | 8.71 ms | 411 µs | 63% |
| floor (trivial tool) | 8 | 29360 | 0 | 5836 | 726 µs | 2.40 ms | 10.70 ms | 109.84 ms | 203 µs |  |

# mcpflow end-to-end: in-process, open loop at 500 calls/s, GOMAXPROCS=2, 2026-11-27T01:01:00Z, go1.26

| scenario | clients | calls | errors | calls/s | p50 | p90 | p99 | max | CPU/call | vs floor |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| floor (trivial tool) | 32 | 1500 | 0 | 500 | 300 µs | 1.00 ms | 4.20 ms | 9.00 ms | 250 µs |  |
`

func writeTemp(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "e2e.txt")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadE2E(t *testing.T) {
	rows, err := readE2E(writeTemp(t, e2eSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []e2eRow{
		{"floor (trivial tool)", 1, 4039, 931e3},
		{"search_standards, cache hit", 1, 2560, 1.25e6},
		{"floor (trivial tool)", 8, 5836, 10.70e6},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows %+v, want the %d closed-loop rows", len(rows), rows, len(want))
	}
	for i, w := range want {
		g := rows[i]
		if g.scenario != w.scenario || g.clients != w.clients || g.rate != w.rate || g.p99 < w.p99*0.999 || g.p99 > w.p99*1.001 {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	if _, _, err := e2eChart(rows); err != nil {
		t.Fatalf("e2eChart: %v", err)
	}
}

func TestReadE2EErrors(t *testing.T) {
	header := "# x, closed loop\n| scenario | clients | calls | errors | calls/s | p50 | p90 | p99 | max | CPU/call | vs floor |\n"
	for _, tc := range []struct{ name, row, field string }{
		{"clients", "| floor | many | 1 | 0 | 10 | 1 µs | 1 µs | 1 µs | 1 µs | 1 µs | |", "clients"},
		{"rate", "| floor | 1 | 1 | 0 | fast | 1 µs | 1 µs | 1 µs | 1 µs | 1 µs | |", "calls/s"},
		{"p99 unit", "| floor | 1 | 1 | 0 | 10 | 1 µs | 1 µs | 1 fortnight | 1 µs | 1 µs | |", "p99"},
		{"p99 number", "| floor | 1 | 1 | 0 | 10 | 1 µs | 1 µs | x ms | 1 µs | 1 µs | |", "p99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readE2E(writeTemp(t, header+tc.row+"\n"))
			if err == nil || !strings.Contains(err.Error(), ":3: "+tc.field+":") {
				t.Fatalf("err = %v, want one naming line 3 and field %q", err, tc.field)
			}
		})
	}
	if _, err := readE2E(writeTemp(t, "# x, open loop at 5 calls/s\n| floor | 1 | 1 | 0 | 10 | 1 µs | 1 µs | 1 µs | 1 µs | 1 µs | |\n")); err == nil {
		t.Fatal("a file with no closed-loop rows: no error")
	}
}

func TestParseLatency(t *testing.T) {
	for in, want := range map[string]float64{"217 µs": 217e3, "1.88 ms": 1.88e6, "2 s": 2e9, "5 us": 5e3} {
		got, err := parseLatency(in)
		if err != nil || got < want*0.999 || got > want*1.001 {
			t.Errorf("parseLatency(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "217", "217µs", "1.2 h", "x ms"} {
		if _, err := parseLatency(in); err == nil {
			t.Errorf("parseLatency(%q): no error", in)
		}
	}
}
