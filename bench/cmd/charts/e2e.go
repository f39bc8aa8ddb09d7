package main

import (
	"bufio"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// e2eRow is one row of the table that bench/e2e prints: one scenario at one
// number of clients.
type e2eRow struct {
	scenario string
	clients  int
	rate     float64 // calls per second
	p99      float64 // nanoseconds
}

// readE2E reads the markdown table of a closed-loop run of bench/e2e. Rows
// of other tables (an open-loop run, for example) are skipped, and so is any
// line that is not a table row; a row with the right shape but a field that
// does not parse is an error naming the line and the field.
func readE2E(path string) ([]e2eRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a close error loses nothing
	var rows []e2eRow
	closed := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "# ") {
			closed = strings.Contains(line, "closed loop")
			continue
		}
		if !closed || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 11 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] == "scenario" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		r := e2eRow{scenario: cells[0]}
		if r.clients, err = strconv.Atoi(cells[1]); err != nil {
			return nil, fmt.Errorf("%s:%d: clients: %w", path, n, err)
		}
		if r.rate, err = strconv.ParseFloat(cells[4], 64); err != nil {
			return nil, fmt.Errorf("%s:%d: calls/s: %w", path, n, err)
		}
		if r.p99, err = parseLatency(cells[7]); err != nil {
			return nil, fmt.Errorf("%s:%d: p99: %w", path, n, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no closed-loop rows in %s", path)
	}
	return rows, nil
}

// parseLatency parses the "217 µs" and "1.88 ms" forms bench/e2e prints
// into nanoseconds.
func parseLatency(s string) (float64, error) {
	num, unit, ok := strings.Cut(s, " ")
	if !ok {
		return 0, fmt.Errorf("%q has no unit", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	switch unit {
	case "µs", "us":
		return v * 1e3, nil
	case "ms":
		return v * 1e6, nil
	case "s":
		return v * 1e9, nil
	}
	return 0, fmt.Errorf("%q: unknown unit %q", s, unit)
}

// clientColors colours the bars of the end-to-end chart by number of
// clients, light to dark.
var clientColors = []color.Color{
	color.RGBA{R: 0x9e, G: 0xca, B: 0xe1, A: 0xff},
	color.RGBA{R: 0x42, G: 0x92, B: 0xc6, A: 0xff},
	color.RGBA{R: 0x08, G: 0x45, B: 0x94, A: 0xff},
	color.RGBA{R: 0x08, G: 0x20, B: 0x50, A: 0xff},
}

// e2eChart draws two panels from a closed-loop run of bench/e2e: calls per
// second for each scenario, a bar per number of clients; and p99 latency
// on a log scale.
func e2eChart(rows []e2eRow) (*vgimg.Canvas, *vgsvg.Canvas, error) {
	var scenarios []string
	var clients []int
	for _, r := range rows {
		if !slices.Contains(scenarios, r.scenario) {
			scenarios = append(scenarios, r.scenario)
		}
		if !slices.Contains(clients, r.clients) {
			clients = append(clients, r.clients)
		}
	}
	slices.Sort(clients)
	find := func(s string, c int) (e2eRow, bool) {
		for _, r := range rows {
			if r.scenario == s && r.clients == c {
				return r, true
			}
		}
		return e2eRow{}, false
	}
	newPanel := func(title, ylabel string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.Title.TextStyle.Font.Size = vg.Points(13)
		p.Y.Label.Text = ylabel
		p.Legend.TextStyle.Font.Size = vg.Points(11)
		p.NominalX(scenarios...)
		p.X.Tick.Label.Font.Size = vg.Points(11)
		p.Add(plotter.NewGrid())
		return p
	}
	label := func(c int) string {
		if c == 1 {
			return "1 client"
		}
		return fmt.Sprintf("%d clients", c)
	}
	// bars adds to p a bar per number of clients in each scenario's
	// cluster, of height value(row), and returns the tallest.
	bars := func(p *plot.Plot, value func(e2eRow) float64) (float64, error) {
		width := vg.Points(float64(560 / (len(scenarios) * (len(clients) + 1))))
		top := 0.0
		for i, c := range clients {
			vals := make(plotter.Values, len(scenarios))
			for j, sc := range scenarios {
				if r, ok := find(sc, c); ok {
					vals[j] = value(r)
					top = max(top, vals[j])
				}
			}
			b, err := plotter.NewBarChart(vals, width)
			if err != nil {
				return 0, err
			}
			b.Color = clientColors[min(i, len(clientColors)-1)]
			b.LineStyle.Width = 0
			b.Offset = vg.Length(float64(i)-float64(len(clients)-1)/2) * width
			p.Add(b)
			p.Legend.Add(label(c), b)
		}
		return top, nil
	}

	rate := newPanel("End-to-end MCP tool calls over streamable HTTP, closed loop (higher is better)", "calls per second")
	top, err := bars(rate, func(r e2eRow) float64 { return r.rate })
	if err != nil {
		return nil, nil, err
	}
	rate.Y.Min, rate.Y.Max = 0, 1.05*top

	lat := newPanel("p99 latency per call, closed loop (log scale; lower is better)", "p99 latency")
	if _, err := bars(lat, func(r e2eRow) float64 { return math.Log10(max(r.p99, logFloorNs)) - logFloor }); err != nil {
		return nil, nil, err
	}
	lat.Y.Min, lat.Y.Max = 0, math.Log10(1e9)-logFloor
	lat.Y.Tick.Marker = log10NsTicks{}
	return tile([]*plot.Plot{rate, lat}, 13*vg.Inch, 2*4*vg.Inch)
}
