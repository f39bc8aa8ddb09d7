package ragcache

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hostileFile is a standards file built to make the index expensive:
// front matter with tags tags and headings short sections. With 700 and
// 2,000 it is about 23 KB, the file of issue 20 that took the server to
// about 1 GB when every chunk carried one indexed field per tag.
func hostileFile(tags, headings int) []byte {
	var b strings.Builder
	b.WriteString("---\ntags: [")
	for i := range tags {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "t%d", i)
	}
	b.WriteString("]\n---\n")
	for i := range headings {
		fmt.Fprintf(&b, "# s%d\nx\n", i)
	}
	return []byte(b.String())
}

// longParentsFile is a standards file whose five nested headings of about
// 1 KB each sit over sections short sections: every section repeats them
// as its parents.
func longParentsFile(sections int) []byte {
	var b strings.Builder
	for level := 1; level <= 5; level++ {
		b.WriteString(strings.Repeat("#", level) + " ")
		for i := range 150 {
			fmt.Fprintf(&b, "w%dx%d ", level, i)
		}
		b.WriteString("\n")
	}
	for i := range sections {
		fmt.Fprintf(&b, "###### s%d\nx\n", i)
	}
	return []byte(b.String())
}

// BenchmarkIndexHostileFile builds the index of one hostile file: time and
// allocation per build (ns/op, B/op), the live heap the index then holds
// (heap-MiB), the file's size and its chunks. The cost must stay linear in
// the file's size whatever its tags and headings:
//
//	go test -run '^$' -bench IndexHostileFile -benchmem -count 1 ./ragcache
func BenchmarkIndexHostileFile(b *testing.B) {
	files := []struct {
		name string
		src  []byte
	}{
		{"tags=700/headings=2000", hostileFile(700, 2000)},
		{"tags=10/headings=2000", hostileFile(10, 2000)},
		{"tags=3000/headings=10000", hostileFile(3000, 10000)},
		{"parents=5KB/sections=2000", longParentsFile(2000)},
		{"parents=5KB/sections=10000", longParentsFile(10000)},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			dir := b.TempDir()
			src := f.src
			if err := os.WriteFile(filepath.Join(dir, "hostile.md"), src, 0o600); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := processCPU()
			var heap int64
			chunks := 0
			for b.Loop() {
				before := liveHeap()
				ix, err := Open(context.Background(), Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				heap = liveHeap() - before
				chunks = ix.Stats().Chunks
				runtime.KeepAlive(ix)
				_ = ix.Close()
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(len(src)), "file-bytes")
			b.ReportMetric(float64(chunks), "chunks")
		})
	}
}
