// Package mdnest guards goldmark against markdown nested deeper than real
// documents are. goldmark's block parser costs time proportional to the
// nesting depth on every line, and to its square on a line that opens many
// containers, so a file nested a few thousand levels deep could take
// minutes to parse. ragcache (standards) and spec (tasks.md) both check a
// file with FirstTooDeep before they parse it.
//
// The package imports nothing of ours; its functions are pure and safe for
// concurrent use.
package mdnest

import "bytes"

// Nesting limits, far above what real documents use.
const (
	// MaxMarkers bounds the ">" and list markers that start a line.
	MaxMarkers = 16
	// MaxColumn bounds the column of a list or block quote marker
	// outside fenced code: nesting across lines needs ever deeper
	// indentation.
	MaxColumn = 100
)

// FirstTooDeep returns the number (from 1) of the first line outside fenced
// code that opens more containers than the nesting limits allow: more than
// MaxMarkers block quote or list markers, or a list marker past MaxColumn.
// It returns 0 when there is no such line. It approximates CommonMark (a
// fence is any line whose first characters other than blanks and ">" are
// three backticks or tildes; a list marker is "-", "+", "*" or a number
// with "." or ")" followed by a blank; a thematic break opens nothing),
// which is enough for a guard.
func FirstTooDeep(src []byte) int {
	var fence byte
	var fenceLen int
	for ln := 1; len(src) > 0; ln++ {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		trimmed := bytes.TrimLeft(line, " \t>")
		if n := fenceRun(trimmed); n >= 3 {
			switch {
			case fence == 0:
				fence, fenceLen = trimmed[0], n
				continue
			case trimmed[0] == fence && n >= fenceLen:
				fence = 0
				continue
			}
		}
		if fence != 0 || isThematicBreak(line) {
			continue
		}
		markers, lastMarkerCol := containerPrefix(line)
		if markers > MaxMarkers || (markers > 0 && lastMarkerCol > MaxColumn) {
			return ln
		}
	}
	return 0
}

// containerPrefix scans the white space, ">" and list markers that start
// line, a little past the limits at most, and returns the markers met and
// the column of the last one.
func containerPrefix(line []byte) (markers, lastMarkerCol int) {
	cols := 0
	blankAt := func(j int) bool { return j >= len(line) || line[j] == ' ' || line[j] == '\t' }
	for i := 0; i < len(line) && cols <= MaxColumn+8 && markers <= MaxMarkers; i++ {
		switch c := line[i]; {
		case c == ' ':
			cols++
		case c == '\t':
			cols += 4
		case c == '>':
			lastMarkerCol = cols
			cols++
			markers++
		case (c == '-' || c == '+' || c == '*') && blankAt(i+1):
			lastMarkerCol = cols
			cols++
			markers++
		case '0' <= c && c <= '9':
			j := i
			for j < len(line) && '0' <= line[j] && line[j] <= '9' {
				j++
			}
			if j == len(line) || (line[j] != '.' && line[j] != ')') || !blankAt(j+1) {
				return markers, lastMarkerCol
			}
			lastMarkerCol = cols
			cols += j - i + 1
			markers++
			i = j
		default:
			return markers, lastMarkerCol
		}
	}
	return markers, lastMarkerCol
}

// isThematicBreak reports whether line is three or more of one of "-",
// "*", "_" with only blanks between them.
func isThematicBreak(line []byte) bool {
	var mark byte
	n := 0
	for _, c := range line {
		switch {
		case c == ' ' || c == '\t':
		case (c == '-' || c == '*' || c == '_') && (mark == 0 || c == mark):
			mark = c
			n++
		default:
			return false
		}
	}
	return n >= 3
}

// fenceRun returns the length of the run of backticks or tildes that
// starts s.
func fenceRun(s []byte) int {
	if len(s) == 0 || (s[0] != '`' && s[0] != '~') {
		return 0
	}
	n := 1
	for n < len(s) && s[n] == s[0] {
		n++
	}
	return n
}
