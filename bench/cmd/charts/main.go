// Command charts draws the peer-comparison charts of docs/benchmarks/peers.md
// from a benchmark output file of the bench module (the text `go test -bench`
// prints, which benchstat also reads).
//
//	go run ./cmd/charts -in results/peers.txt -out ../docs -tables results/tables.md
//
// It writes, as PNG and SVG:
//
//   - throughput: median ops/s of every implementation for each workload
//     (reads 100/75/50/25/0 %, get-or-load hits, get-or-load misses), one
//     panel per GOMAXPROCS;
//   - cpu: median CPU time per operation (cpu-ns/op) for the same
//     workloads, which the load of other processes on a shared machine
//     disturbs less than wall time;
//   - blocking: median other-key p99.9 latency while a 20 ms load is in
//     flight, on a log scale, one panel per GOMAXPROCS;
//   - e2e (when -e2e names a file that exists): calls per second and p99 of
//     MCP tool calls over streamable HTTP, from the table bench/e2e prints
//     for a closed-loop run.
//
// The value drawn for each benchmark is the median over its runs (-count).
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

func main() {
	in := flag.String("in", "results/peers.txt", "benchmark output to read")
	out := flag.String("out", "../docs", "folder to write the charts to")
	tables := flag.String("tables", "", "also write the markdown tables to this file")
	hitIn := flag.String("hitratio", "results/hitratio.txt", "hit-ratio benchmark output for the tables (optional)")
	e2eIn := flag.String("e2e", "results/e2e.txt", "output of a closed-loop bench/e2e run, for the end-to-end chart (optional)")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		slog.Error("charts", "err", err)
		os.Exit(1)
	}
	if err := runE2E(*e2eIn, *out); err != nil {
		slog.Error("charts", "err", err)
		os.Exit(1)
	}
	if *tables == "" {
		return
	}
	if err := writeTableFile(*in, *hitIn, *tables); err != nil {
		slog.Error("charts", "err", err)
		os.Exit(1)
	}
}

func writeTableFile(in, hitIn, path string) error {
	res, err := read(in)
	if err != nil {
		return err
	}
	var hit results
	if hitIn != "" {
		if hit, err = read(hitIn); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeTables(f, res, hit); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func run(in, out string) error {
	res, err := read(in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	charts := []struct {
		name string
		draw func(results) (*vgimg.Canvas, *vgsvg.Canvas, error)
	}{
		{"peers-throughput", throughputChart},
		{"peers-cpu", cpuChart},
		{"peers-blocking", blockingChart},
	}
	for _, c := range charts {
		png, svg, err := c.draw(res)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if err := writePNG(filepath.Join(out, c.name+".png"), png); err != nil {
			return err
		}
		if err := writeSVG(filepath.Join(out, c.name+".svg"), svg); err != nil {
			return err
		}
		slog.Info("wrote", "chart", filepath.Join(out, c.name)+".{png,svg}")
	}
	return nil
}

// runE2E draws the end-to-end chart from the bench/e2e output at in, if
// there is one.
func runE2E(in, out string) error {
	if in == "" {
		return nil
	}
	rows, err := readE2E(in)
	if errors.Is(err, os.ErrNotExist) {
		slog.Info("no end-to-end results; chart skipped", "file", in)
		return nil
	}
	if err != nil {
		return err
	}
	png, svg, err := e2eChart(rows)
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	base := filepath.Join(out, "e2e-throughput")
	if err := writePNG(base+".png", png); err != nil {
		return err
	}
	if err := writeSVG(base+".svg", svg); err != nil {
		return err
	}
	slog.Info("wrote", "chart", base+".{png,svg}")
	return nil
}

// key names one benchmark at one GOMAXPROCS: its base name (Throughput,
// Blocking, ...), its workload (the sub-benchmark parts other than impl,
// joined with "/"), the implementation and GOMAXPROCS.
type key struct {
	base, workload, impl string
	procs                int
}

// results holds every value of every unit for each benchmark.
type results map[key]map[string][]float64

// median returns the median of the values of unit for k, and whether there
// were any. benchfmt turns a unit with "-ns" into seconds ("-sec"), as it
// does ns/op; median turns it back.
func (r results) median(k key, unit string) (float64, bool) {
	if _, ok := r[k][unit]; !ok && strings.Contains(unit, "-ns") {
		if m, ok := r.median(k, strings.Replace(unit, "-ns", "-sec", 1)); ok {
			return m * 1e9, true
		}
	}
	v := slices.Clone(r[k][unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// has reports whether any implementation has results for base and
// workload at GOMAXPROCS procs.
func (r results) has(base, workload string, procs int) bool {
	for k := range r {
		if k.base == base && k.workload == workload && k.procs == procs {
			return true
		}
	}
	return false
}

// procs returns the GOMAXPROCS values present for base, in order.
func (r results) procs(base string) []int {
	var ps []int
	for k := range r {
		if k.base == base && !slices.Contains(ps, k.procs) {
			ps = append(ps, k.procs)
		}
	}
	slices.Sort(ps)
	return ps
}

func read(path string) (results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: a close error loses nothing
	res := results{}
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		rec, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue // config lines, unit metadata and syntax errors
		}
		base, parts := rec.Name.Parts()
		k := key{base: string(base), procs: 1}
		var wl []string
		for _, p := range parts {
			s := string(p)
			switch {
			case strings.HasPrefix(s, "-"):
				if n, err := strconv.Atoi(s[1:]); err == nil {
					k.procs = n
				}
			case strings.HasPrefix(s, "/impl="):
				k.impl = strings.TrimPrefix(s, "/impl=")
			default:
				wl = append(wl, strings.TrimPrefix(s, "/"))
			}
		}
		k.workload = strings.Join(wl, "/")
		if res[k] == nil {
			res[k] = map[string][]float64{}
		}
		for _, v := range rec.Values {
			res[k][v.Unit] = append(res[k][v.Unit], v.Value)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, errors.New("no benchmark results in " + path)
	}
	return res, nil
}

// impls is the order and colour of the implementations in every chart:
// shard.Cache's rows first, in blues; the peers after.
var impls = []struct {
	name string
	col  color.Color
}{
	{"shard", color.RGBA{R: 0x08, G: 0x45, B: 0x94, A: 0xff}},
	{"shard-bounded", color.RGBA{R: 0x42, G: 0x92, B: 0xc6, A: 0xff}},
	{"shard-nostats", color.RGBA{R: 0x9e, G: 0xca, B: 0xe1, A: 0xff}},
	{"otter", color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff}},
	{"otter-compute", color.RGBA{R: 0xfd, G: 0xae, B: 0x6b, A: 0xff}},
	{"theine", color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff}},
	{"ristretto", color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff}},
	{"xsync", color.RGBA{R: 0xe7, G: 0x29, B: 0x8a, A: 0xff}},
	{"syncmap", color.RGBA{R: 0x66, G: 0xa6, B: 0x1e, A: 0xff}},
	{"baseline", color.RGBA{R: 0x66, G: 0x66, B: 0x66, A: 0xff}},
}

// group is one cluster of bars: a label and where its values come from.
type group struct {
	label          string
	base, workload string
}

var throughputGroups = []group{
	{"reads 100%", "Throughput", "reads=100%"},
	{"reads 75%", "Throughput", "reads=75%"},
	{"reads 50%", "Throughput", "reads=50%"},
	{"reads 25%", "Throughput", "reads=25%"},
	{"reads 0%", "Throughput", "reads=0%"},
	{"get-or-load hits", "GetOrLoadHits", ""},
	{"get-or-load 7/8 misses", "GetOrLoadMisses", "ctx=background"},
}

var blockingGroups = []group{
	{"other keys present (hits)", "Blocking", "others=hit"},
	{"other keys absent (misses)", "Blocking", "others=miss"},
	{"misses while the table grows", "Blocking", "others=grow"},
}

// panel draws one bar chart: a cluster per group, a bar per implementation
// present in any group, each bar's height transform(median of unit).
func panel(res results, groups []group, procs int, unit, title, ylabel string, transform func(float64) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	present := presentImpls(res, groups, procs)
	if len(present) == 0 {
		return nil, fmt.Errorf("no %s results at GOMAXPROCS=%d", unit, procs)
	}
	top := 0.0
	width := vg.Points(float64(520 / (len(groups) * (len(present) + 1))))
	for i, im := range present {
		vals := make(plotter.Values, len(groups))
		for g, gr := range groups {
			if m, ok := res.median(key{gr.base, gr.workload, im.name, procs}, unit); ok {
				vals[g] = transform(m)
				top = max(top, vals[g])
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.Color = im.col
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(i)-float64(len(present)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(im.name, bars)
	}
	labels := make([]string, len(groups))
	for i, g := range groups {
		labels[i] = g.label
	}
	p.NominalX(labels...)
	p.X.Tick.Label.Font.Size = vg.Points(11)
	p.Y.Max = 1.05 * top
	p.Add(plotter.NewGrid())
	return p, nil
}

func presentImpls(res results, groups []group, procs int) []struct {
	name string
	col  color.Color
} {
	var out []struct {
		name string
		col  color.Color
	}
	for _, im := range impls {
		for _, g := range groups {
			if _, ok := res[key{g.base, g.workload, im.name, procs}]; ok {
				out = append(out, im)
				break
			}
		}
	}
	return out
}

func throughputChart(res results) (*vgimg.Canvas, *vgsvg.Canvas, error) {
	procs := res.procs("Throughput")
	var plots []*plot.Plot
	for _, n := range procs {
		p, err := panel(res, throughputGroups, n, "ops/s",
			fmt.Sprintf("Throughput, GOMAXPROCS=%d (median of runs; higher is better)", n),
			"million operations per second", func(v float64) float64 { return v / 1e6 })
		if err != nil {
			return nil, nil, err
		}
		plots = append(plots, p)
	}
	return tile(plots, 15*vg.Inch, vg.Length(len(plots))*4.2*vg.Inch)
}

func cpuChart(res results) (*vgimg.Canvas, *vgsvg.Canvas, error) {
	procs := res.procs("Throughput")
	var plots []*plot.Plot
	for _, n := range procs {
		p, err := panel(res, throughputGroups, n, "cpu-ns/op",
			fmt.Sprintf("CPU time per operation, GOMAXPROCS=%d (median of runs; lower is better)", n),
			"CPU ns per operation", func(v float64) float64 { return v })
		if err != nil {
			return nil, nil, err
		}
		plots = append(plots, p)
	}
	return tile(plots, 15*vg.Inch, vg.Length(len(plots))*4.2*vg.Inch)
}

func blockingChart(res results) (*vgimg.Canvas, *vgsvg.Canvas, error) {
	procs := res.procs("Blocking")
	var plots []*plot.Plot
	for _, n := range procs {
		p, err := panel(res, blockingGroups, n, "p99.9-ns",
			fmt.Sprintf("Other-key get-or-load p99.9 while one 20 ms load is in flight, GOMAXPROCS=%d (lower is better)", n),
			"p99.9 latency (log scale)", func(v float64) float64 { return math.Log10(max(v, logFloorNs)) - logFloor })
		if err != nil {
			return nil, nil, err
		}
		p.Y.Min = 0
		p.Y.Max = math.Log10(40e6) - logFloor
		p.Y.Tick.Marker = log10NsTicks{}
		plots = append(plots, p)
	}
	return tile(plots, 12*vg.Inch, vg.Length(len(plots))*3.6*vg.Inch)
}

// The log-scale bars start at logFloorNs: a bar's height is
// log10(ns) - logFloor, so that every bar grows up from the axis.
const (
	logFloorNs = 100.0
	logFloor   = 2.0
)

// log10NsTicks labels an axis whose values are log10(ns) - logFloor.
type log10NsTicks struct{}

// Ticks returns a labelled tick at each power of ten in [lo, hi].
func (log10NsTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Ceil(lo); e <= hi; e++ {
		ts = append(ts, plot.Tick{Value: e, Label: nsLabel(math.Pow(10, e+logFloor))})
		for m := 2.0; m < 10; m++ {
			if v := e + math.Log10(m); v <= hi {
				ts = append(ts, plot.Tick{Value: v})
			}
		}
	}
	return ts
}

func nsLabel(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%gµs", ns/1e3)
	default:
		return fmt.Sprintf("%gns", ns)
	}
}

// tile stacks plots vertically on a PNG and an SVG canvas of the given size.
func tile(plots []*plot.Plot, w, h vg.Length) (*vgimg.Canvas, *vgsvg.Canvas, error) {
	if len(plots) == 0 {
		return nil, nil, errors.New("no results to draw")
	}
	png := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	svg := vgsvg.New(w, h)
	for _, c := range []draw.Canvas{draw.New(png), draw.New(svg)} {
		t := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
			PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
		cells := make([][]*plot.Plot, len(plots))
		for i, p := range plots {
			cells[i] = []*plot.Plot{p}
		}
		for i, row := range plot.Align(cells, t, c) {
			drawWithLegend(cells[i][0], row[0])
		}
	}
	return png, svg, nil
}

// legendWidth is the strip at the right of each panel that holds its
// legend, so that the legend never hides a bar.
const legendWidth = 1.5 * vg.Inch

// drawWithLegend draws p's legend in a strip at the right of c and the rest
// of p in what is left.
func drawWithLegend(p *plot.Plot, c draw.Canvas) {
	l := p.Legend
	p.Legend = plot.NewLegend()
	left, right := c, c
	left.Max.X -= legendWidth
	right.Min.X = left.Max.X + 2*vg.Millimeter
	p.Draw(left)
	l.Top, l.Left = true, true
	l.YOffs = -8 * vg.Millimeter
	l.Draw(right)
	p.Legend = l
}

func writePNG(path string, c *vgimg.Canvas) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func writeSVG(path string, c *vgsvg.Canvas) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
