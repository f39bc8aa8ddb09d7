package ragcache

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brief is the part of a chunk the table tests compare.
type brief struct {
	Section string
	Parents []string
	Phase   int // -1 when nil
	Tags    []string
}

func briefs(cs []Chunk) []brief {
	out := make([]brief, len(cs))
	for i, c := range cs {
		p := -1
		if c.Phase != nil {
			p = *c.Phase
		}
		parents := c.Parents
		if len(parents) == 0 {
			parents = nil
		}
		out[i] = brief{Section: c.Section, Parents: parents, Phase: p, Tags: c.Tags}
	}
	return out
}

func TestChunkMarkdown(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want []brief
		// contents, when set, are substrings each chunk's Content must hold.
		contents []string
	}{
		{
			name: "empty file",
			file: "a.md",
			src:  "",
			want: []brief{},
		},
		{
			name: "blank file",
			file: "a.md",
			src:  " \n\n\t\n",
			want: []brief{},
		},
		{
			name:     "text before the first heading is named after the file",
			file:     "dir/intro.md",
			src:      "Some preamble.\n\n# First\n\nBody.\n",
			want:     []brief{{"intro", nil, -1, []string{"dir"}}, {"First", nil, -1, []string{"dir", "first"}}},
			contents: []string{"Some preamble.", "# First\n\nBody."},
		},
		{
			name: "nested headings carry their parents",
			file: "guide.md",
			src:  "# A\n\na\n\n## B\n\nb\n\n### C\n\nc\n\n## D\n\nd\n\n# E\n\ne\n\n#### F\n\nf\n",
			want: []brief{
				{"A", nil, -1, nil},
				{"B", []string{"A"}, -1, nil},
				{"C", []string{"A", "B"}, -1, nil},
				{"D", []string{"A"}, -1, nil},
				{"E", nil, -1, nil},
				{"F", []string{"E"}, -1, nil},
			},
		},
		{
			name: "setext headings and inline markup in headings",
			file: "s.md",
			src:  "Title *here*\n============\n\nx\n\nUse `errors.Is` [always](http://x)\n---------\n\ny\n",
			want: []brief{
				{"Title here", nil, -1, []string{"here", "title"}},
				{"Use errors.Is always", []string{"Title here"}, -1, []string{"always", "errors", "here", "title"}},
			},
		},
		{
			name:     "# inside a fenced code block is not a heading",
			file:     "c.md",
			src:      "# Real\n\n```sh\n# a shell comment\n## another\n```\n\n~~~\n# tilde fence\n~~~\n\nafter\n",
			want:     []brief{{"Real", nil, -1, []string{"real"}}},
			contents: []string{"# a shell comment\n## another\n```\n\n~~~\n# tilde fence\n~~~\n\nafter"},
		},
		{
			name: "an unclosed fence runs to the end of the file",
			file: "u.md",
			src:  "# Before\n\ntext\n\n```\n# not a heading\n\n## nor this\n",
			want: []brief{{"Before", nil, -1, nil}}, // "before" is not a significant word
			contents: []string{
				"```\n# not a heading\n\n## nor this",
			},
		},
		{
			name: "headings in block quotes and list items are content",
			file: "q.md",
			src:  "# Top\n\n> # quoted\n\n- # in a list\n",
			want: []brief{{"Top", nil, -1, []string{"top"}}},
		},
		{
			name: "a heading with no content of its own has no chunk",
			file: "h.md",
			src:  "# Guide\n## Part one\n\nbody\n",
			want: []brief{{"Part one", []string{"Guide"}, -1, []string{"one"}}},
		},
		{
			name: "phase from the heading, then the nearest parent",
			file: "p.md",
			src:  "# Workflow\n\nw\n\n## Phase 2: Design\n\nd\n\n### Review\n\nr\n\n## phase-10 wrap up\n\nz\n",
			want: []brief{
				{"Workflow", nil, -1, []string{"workflow"}},
				{"Phase 2: Design", []string{"Workflow"}, 2, []string{"design", "workflow"}},
				{"Review", []string{"Workflow", "Phase 2: Design"}, 2, []string{"design", "review", "workflow"}},
				{"phase-10 wrap up", []string{"Workflow"}, 10, []string{"phase-10", "workflow", "wrap"}},
			},
		},
		{
			name: "front matter tags, title and phase",
			file: "team/fm.md",
			src:  "---\ntitle: Front Matter\ntags: [Testing, go, \"Error Handling\", testing]\nphase: 3\n---\nintro\n\n# Section\n\nbody\n\n## Phase 1 override\n\nx\n",
			want: []brief{
				{"Front Matter", nil, 3, []string{"error-handling", "go", "testing"}},
				{"Section", nil, 3, []string{"error-handling", "go", "testing"}},
				{"Phase 1 override", []string{"Section"}, 1, []string{"error-handling", "go", "testing"}},
			},
		},
		{
			name: "front matter tags as a comma-separated string",
			file: "fm2.md",
			src:  "---\ntags: a, b\n...\n# H\n\nx\n",
			want: []brief{{"H", nil, -1, []string{"a", "b"}}},
		},
		{
			name:     "invalid front matter is dropped, tags fall back",
			file:     "x/bad.md",
			src:      "---\ntags: [unclosed\n---\n# H\n\nx\n",
			want:     []brief{{"H", nil, -1, []string{"x"}}},
			contents: []string{"# H\n\nx"},
		},
		{
			name:     "a --- without a closing line is a thematic break, not front matter",
			file:     "tb.md",
			src:      "---\n\n# H\n\nx\n",
			want:     []brief{{"tb", nil, -1, nil}, {"H", nil, -1, []string{"h"}[:0]}},
			contents: []string{"---", "# H"},
		},
		{
			name:     "non-UTF-8 bytes are replaced",
			file:     "bin.md",
			src:      "# Caf\xe9\n\nna\xefve \xff\xfe text\x00\n",
			want:     []brief{{"Caf\uFFFD", nil, -1, []string{"caf"}}},
			contents: []string{"na\uFFFDve \uFFFD text\uFFFD"},
		},
		{
			name:     "CRLF line endings",
			file:     "crlf.md",
			src:      "# One\r\n\r\nbody\r\n## Two\r\n\r\nmore\r\n",
			want:     []brief{{"One", nil, -1, []string{"one"}}, {"Two", []string{"One"}, -1, []string{"one", "two"}}},
			contents: []string{"# One\n\nbody", "## Two\n\nmore"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChunkMarkdown(tt.file, []byte(tt.src))
			gb := briefs(got)
			for i := range gb {
				if len(gb[i].Tags) == 0 {
					gb[i].Tags = nil
				}
			}
			want := tt.want
			for i := range want {
				if len(want[i].Tags) == 0 {
					want[i].Tags = nil
				}
			}
			assert.Equal(t, want, gb)
			for i, sub := range tt.contents {
				if assert.Less(t, i, len(got)) {
					assert.Contains(t, got[i].Content, sub)
				}
			}
			for _, c := range got {
				assert.Equal(t, tt.file, c.File)
				assert.True(t, utf8.ValidString(c.Content), "content is not valid UTF-8")
				assert.Equal(t, EstimateTokens(c.Content), c.Tokens)
				assert.NotEmpty(t, strings.TrimSpace(c.Content))
			}
		})
	}
}

func TestChunkMarkdownSplitsLongSections(t *testing.T) {
	para := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10) // 450 bytes
	var b strings.Builder
	b.WriteString("# Long\n\n")
	for range 12 {
		b.WriteString(para + "\n\n")
	}
	code := "```go\n" + strings.Repeat("x := 1 // # not a heading\n", 200) + "```\n"
	b.WriteString(code)
	b.WriteString("\nlast paragraph\n")
	got := ChunkMarkdown("long.md", []byte(b.String()))
	require.Greater(t, len(got), 3, "a section of about %d tokens must be split", EstimateTokens(b.String()))

	var joined strings.Builder
	codeChunks := 0
	for i, c := range got {
		assert.Equal(t, "Long", c.Section, "part %d", i)
		if strings.Contains(c.Content, "```go") {
			codeChunks++
			assert.Contains(t, c.Content, code[:len(code)-1], "the code block must stay whole")
			continue
		}
		assert.LessOrEqual(t, c.Tokens, MaxChunkTokens, "part %d", i)
		joined.WriteString(c.Content)
	}
	assert.Equal(t, 1, codeChunks)
	assert.True(t, strings.HasPrefix(got[0].Content, "# Long"), "the first part starts with the heading")
	// Paragraph boundaries: no part starts or ends inside a paragraph.
	for _, c := range got {
		assert.True(t, strings.HasPrefix(c.Content, "The quick") || strings.HasPrefix(c.Content, "# Long") ||
			strings.HasPrefix(c.Content, "```") || strings.HasPrefix(c.Content, "last"), "part starts mid-paragraph: %.40q", c.Content)
	}
}

func TestChunkMarkdownSplitsHugeParagraph(t *testing.T) {
	sentence := "Every error names the field and the fix. "
	huge := "# Huge\n\n" + strings.Repeat(sentence, 500) + "\n\n" + strings.Repeat("x", 5000) + "\n"
	got := ChunkMarkdown("huge.md", []byte(huge))
	require.Greater(t, len(got), 5)
	var total int
	for i, c := range got {
		assert.LessOrEqual(t, c.Tokens, MaxChunkTokens, "part %d", i)
		total += len(c.Content)
		if i > 0 && i < len(got)-3 {
			assert.True(t, strings.HasPrefix(c.Content, "Every error"), "part %d is not cut at a sentence: %.30q", i, c.Content)
		}
	}
	// Nothing is lost but the white space at the cuts.
	assert.InDelta(t, len(huge), total, float64(len(got)*2+2))
}

func TestChunkMarkdownTags(t *testing.T) {
	got := ChunkMarkdown("backend/api-style.md", []byte("# The Error Handling Rules\n\nx\n\n## Phase 3: When to retry 2 times\n\ny\n"))
	require.Len(t, got, 2)
	assert.Equal(t, []string{"backend", "error", "handling"}, got[0].Tags)
	assert.Equal(t, []string{"backend", "error", "handling", "retry", "times"}, got[1].Tags)
}

func TestEstimateTokens(t *testing.T) {
	assert.Equal(t, 0, EstimateTokens(""))
	assert.Equal(t, 1, EstimateTokens("a"))
	assert.Equal(t, 1, EstimateTokens("abcd"))
	assert.Equal(t, 2, EstimateTokens("abcde"))
}

func TestExcerpt(t *testing.T) {
	assert.Equal(t, "Title body text", Excerpt("## Title\n\nbody   text\n", 100))
	assert.Equal(t, "Title…", Excerpt("## Title\n\nbody text\n", 8))
	assert.Equal(t, "abc…", Excerpt("abcdefgh", 4))
	assert.Empty(t, Excerpt("", 10))
}

// TestChunkMarkdownPathologicalInputs runs inputs on which a naive
// markdown pipeline is quadratic (goldmark's inline link parsing, deep
// nesting). Each is 64 kB; at 5 MiB each still finishes in seconds (see
// docs/benchmarks/search.md). The test asserts completion and sanity, not
// time, which would be flaky on a shared machine.
func TestChunkMarkdownPathologicalInputs(t *testing.T) {
	const size = 64 << 10
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	inputs := map[string]string{
		"open links":      fill("[a]("),
		"brackets":        fill("["),
		"emphasis":        fill("*_a"),
		"link refs":       fill("[a]: b\n[a] "),
		"quotes at limit": fill(strings.Repeat(">", maxPrefixMarkers) + " x\n"),
		"many headings":   fill("# x\nbody\n"),
		"setext chain":    fill("a\n=\nb\n"),
		"open fences":     fill("```\n"),
		"html":            fill("<div>\n"),
		"long heading":    "# " + fill("[a](") + "\n\nbody\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			got, _ := chunkFile("p.md", []byte(in))
			for _, c := range got {
				require.True(t, utf8.ValidString(c.Content))
				require.LessOrEqual(t, len(c.Section), maxHeadingBytes)
			}
		})
	}
}

func TestChunkMarkdownDeepNestingIsPlainText(t *testing.T) {
	for name, in := range map[string]string{
		"quotes on one line": "# Title\n\n" + strings.Repeat(">", 10000) + " deep\n",
		"quotes and lists":   "# Title\n\n" + strings.Repeat("> - ", maxPrefixMarkers) + "deep\n",
		"indented lists": func() string {
			var b strings.Builder
			b.WriteString("# Title\n\n")
			for i := range 60 {
				b.WriteString(strings.Repeat("  ", i) + "- deep\n")
			}
			return b.String()
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			got, warning := chunkFile("dir/deep.md", []byte(in))
			require.NotEmpty(t, got)
			assert.Contains(t, warning, "indexed as plain text")
			assert.Equal(t, "deep", got[0].Section, "plain text is one section named after the file")
			assert.Contains(t, got[0].Content, "# Title")
		})
	}
	// Deep structure inside a fenced code block is code, not nesting.
	in := "# Code\n\n```\n" + strings.Repeat(">", 500) + "\n" + strings.Repeat(" ", 400) + "- x\n```\n"
	got, warning := chunkFile("c.md", []byte(in))
	assert.Empty(t, warning)
	require.Len(t, got, 1)
	assert.Equal(t, "Code", got[0].Section)
}
