package ragcache

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MethodBM25 is Result.Method for results ranked by the full-text index.
const MethodBM25 = "bm25"

// Chunk is one section of a standards file, or one part of a long section.
//
// The chunks of a Result returned by Search are shared with the query
// cache and with every other caller that asked the same query, without a
// copy (a copy would cost more than the rest of a cache hit). Treat them as
// read-only: do not assign to the elements of Result.Chunks, nor write
// through a chunk's Parents, Tags or Phase. Appending to Result.Chunks is
// safe: its capacity is clipped to its length, so append copies first.
// Copy a chunk (and its slices) before changing it.
type Chunk struct {
	// Content is the section's markdown, its heading line included for the
	// first part of a section.
	Content string `json:"content"`
	// File is the path of the file relative to the standards folder, with
	// forward slashes.
	File string `json:"file"`
	// Section is the section's heading text, or the file's base name for
	// the text before the first heading.
	Section string `json:"section"`
	// Parents are the headings that enclose the section, outermost first.
	Parents []string `json:"parents"`
	// Score is the BM25 relevance of the chunk to the query; 0 in chunks
	// that did not come from a search.
	Score float64 `json:"score"`
	// Tokens estimates the tokens of Content (about four bytes each).
	Tokens int `json:"tokens"`
	// Phase is the workflow phase the section belongs to, or nil.
	Phase *int `json:"phase,omitempty"`
	// Tags label the chunk for filtering, lower case, sorted.
	Tags []string `json:"tags,omitempty"`
}

// Result is the answer to one Search.
//
// Search returns each Result by value: CacheHit and Took describe that call
// and are set on the caller's copy only, never on the cached value. The
// Chunks are shared and read-only; see Chunk.
type Result struct {
	// Chunks are the best matches, best first.
	Chunks []Chunk `json:"chunks"`
	// TotalTokens is the sum of the chunks' Tokens.
	TotalTokens int `json:"total_tokens"`
	// Method names the ranking: MethodBM25.
	Method string `json:"method"`
	// Took is the time this call spent in Search, cache lookup included.
	Took time.Duration `json:"took_ns"`
	// CacheHit reports whether this call was answered from the query cache
	// (or by waiting for an identical query in flight) rather than by
	// searching the index itself.
	CacheHit bool `json:"cache_hit"`
	// Memo is shared by every Search that returns the same cached result
	// (the one that searched the index included), for the caller to keep
	// what it derives from the result; it is nil for a result that was not
	// cached.
	Memo *Memo `json:"-"`
}

// excerptRunes bounds the excerpt WriteText prints per chunk.
const excerptRunes = 240

// WriteText writes r for a person: one block per chunk with its rank, file,
// section (with its parents), score, phase and tags, then a short excerpt
// of its content on one line; a summary line comes last. It returns the
// first write error.
func WriteText(w io.Writer, r Result) error {
	var b strings.Builder
	if len(r.Chunks) == 0 {
		b.WriteString("No matching standards.\n")
	}
	for i := range r.Chunks {
		c := &r.Chunks[i]
		section := c.Section
		if len(c.Parents) > 0 {
			section = strings.Join(c.Parents, " > ") + " > " + c.Section
		}
		fmt.Fprintf(&b, "%d. %s — %s\n", i+1, c.File, section)
		fmt.Fprintf(&b, "   score %.3f · %d tokens", c.Score, c.Tokens)
		if c.Phase != nil {
			fmt.Fprintf(&b, " · phase %d", *c.Phase)
		}
		if len(c.Tags) > 0 {
			fmt.Fprintf(&b, " · tags %s", strings.Join(c.Tags, ", "))
		}
		b.WriteString("\n")
		if ex := Excerpt(c.Content, excerptRunes); ex != "" {
			fmt.Fprintf(&b, "   %s\n", ex)
		}
	}
	hit := ""
	if r.CacheHit {
		hit = ", cached"
	}
	fmt.Fprintf(&b, "%d result(s), %d tokens, %s, %v%s\n", len(r.Chunks), r.TotalTokens, r.Method, r.Took.Round(time.Microsecond), hit)
	_, err := io.WriteString(w, b.String())
	return err
}

// Excerpt returns content as one line of at most n runes: heading markers
// and runs of white space are collapsed, and a cut is marked with "…".
func Excerpt(content string, n int) string {
	var b strings.Builder
	count := 0
	for line := range strings.SplitSeq(content, "\n") {
		line = strings.TrimLeft(strings.TrimSpace(line), "#")
		for f := range strings.FieldsSeq(line) {
			k := utf8.RuneCountInString(f)
			if count > 0 {
				k++
			}
			if count+k > n {
				if count == 0 {
					// One word longer than the excerpt: cut it.
					r := []rune(f)
					b.WriteString(string(r[:max(n-1, 0)]))
				}
				b.WriteString("…")
				return b.String()
			}
			if count > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f)
			count += k
		}
	}
	return b.String()
}
