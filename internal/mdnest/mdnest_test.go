package mdnest

import (
	"strings"
	"testing"
)

// TestFirstTooDeep names the line past the limits, and passes lines that
// only look deep: thematic breaks, emphasis, indented code, numbers.
func TestFirstTooDeep(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{strings.Repeat("-", 80), false}, // setext underline or thematic break
		{strings.Repeat("- ", 40), false},
		{strings.Repeat("*", 40) + " bold", false},
		{strings.Repeat(">", MaxMarkers) + " ok", false},
		{strings.Repeat(">", MaxMarkers+1) + " deep", true},
		{strings.Repeat("> - ", 9) + "deep", true},
		{strings.Repeat("1. ", 17) + "deep", true},
		{strings.Repeat(" ", 200) + "indented code, no marker", false},
		{strings.Repeat(" ", MaxColumn+1) + "- item far right", true},
		{strings.Repeat(" ", MaxColumn-1) + "- item", false},
		{"2024. was a year", false},
		{"-1 is negative", false},
	}
	for _, tt := range tests {
		want := 0
		if tt.want {
			want = 3
		}
		if got := FirstTooDeep([]byte("# H\n\n" + tt.line + "\n")); got != want {
			t.Errorf("FirstTooDeep(%.60q) = %d, want %d", tt.line, got, want)
		}
	}
}

// TestFencedCodeIsNotNesting: deep structure inside a fenced block is code,
// and the fence closes only on a run of its own character at least as long.
func TestFencedCodeIsNotNesting(t *testing.T) {
	deep := strings.Repeat(">", 40) + " x"
	in := "~~~~\n" + deep + "\n~~~\n" + deep + "\n~~~~\n" + deep + "\n"
	if got := FirstTooDeep([]byte(in)); got != 6 {
		t.Errorf("FirstTooDeep = %d, want 6 (the line after the closing fence)", got)
	}
}
