package spec

import (
	"bytes"
	"fmt"
)

// Nesting limits. goldmark's block parser costs time proportional to the
// nesting depth on every line, and to its square on a line that opens many
// containers, so a file nested deeper than any task breakdown could take
// minutes to parse. Parse refuses such a file, naming the line, instead.
const (
	// maxMarkers bounds the ">" and list markers that start a line.
	maxMarkers = 16
	// maxMarkerColumn bounds the column of the last of those markers.
	maxMarkerColumn = 100
)

// checkDepth returns an error naming the first line, outside fenced code,
// whose block quote and list markers exceed the nesting limits.
func checkDepth(src []byte) error {
	var fence byte
	fenceLen := 0
	for ln := 1; len(src) > 0; ln++ {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		trimmed := bytes.TrimLeft(line, " \t>")
		if n := run(trimmed); n >= 3 && (trimmed[0] == '`' || trimmed[0] == '~') {
			switch {
			case fence == 0:
				fence, fenceLen = trimmed[0], n
				continue
			case trimmed[0] == fence && n >= fenceLen:
				fence = 0
				continue
			}
		}
		if fence != 0 {
			continue
		}
		if markers, col := prefix(line); markers > maxMarkers || markers > 0 && col > maxMarkerColumn {
			return fmt.Errorf("line %d: is nested deeper than a task breakdown needs (more than %d block quote or list levels, or a marker past column %d); flatten it", ln, maxMarkers, maxMarkerColumn)
		}
	}
	return nil
}

// run returns how many times line's first byte repeats at its start.
func run(line []byte) int {
	n := 0
	for n < len(line) && line[n] == line[0] {
		n++
	}
	return n
}

// prefix scans the white space, ">" and list markers that start line, a
// little past the limits at most, and returns the markers met and the
// column of the last one.
func prefix(line []byte) (markers, lastCol int) {
	cols := 0
	blankAt := func(j int) bool { return j >= len(line) || line[j] == ' ' || line[j] == '\t' }
	for i := 0; i < len(line) && cols <= maxMarkerColumn+8 && markers <= maxMarkers; i++ {
		switch c := line[i]; {
		case c == ' ':
			cols++
		case c == '\t':
			cols += 4
		case c == '>' || (c == '-' || c == '+' || c == '*') && blankAt(i+1):
			lastCol = cols
			cols++
			markers++
		case '0' <= c && c <= '9':
			j := i
			for j < len(line) && '0' <= line[j] && line[j] <= '9' {
				j++
			}
			if j == len(line) || (line[j] != '.' && line[j] != ')') || !blankAt(j+1) {
				return markers, lastCol
			}
			lastCol = cols
			cols += j - i + 1
			markers++
			i = j
		default:
			return markers, lastCol
		}
	}
	return markers, lastCol
}
