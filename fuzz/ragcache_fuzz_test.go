package fuzz

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpflow/mcpflow/ragcache"
)

// normalizeMarkdown applies the input clean-up ChunkMarkdown documents:
// invalid UTF-8 and NUL become U+FFFD, line endings become "\n", a leading
// byte order mark goes.
func normalizeMarkdown(src []byte) string {
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	s := strings.ToValidUTF8(string(src), "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// FuzzChunkMarkdown feeds arbitrary bytes to the chunker. Whatever the
// input, it must not panic, must be deterministic, and every chunk must be
// well formed: valid UTF-8, a non-blank content that is a piece of the
// cleaned-up source, pieces in source order without overlap, an honest
// token estimate, a section name, parents and sorted unique tags.
func FuzzChunkMarkdown(f *testing.F) {
	f.Add("dir/a.md", []byte("# A\n\ntext\n\n## B\n\n```\n# code\n```\n"))
	f.Add("a.md", []byte("---\ntags: [x, Y]\nphase: 2\n---\nintro\n# Phase 3: Z\nz\n"))
	f.Add("a.md", []byte("pre\n\n```\n# unclosed\n## fence\n"))
	f.Add("x/y/z.markdown", []byte("Setext\n===\n\n> # quoted\n\n- # item\n\n#\n\n###### six\nbody\xff\xfe\r\n"))
	f.Add("big.md", []byte("# Big\n\n"+strings.Repeat("Sentence one. Sentence two! ", 200)+"\n\n"+strings.Repeat("- item\n", 400)))
	f.Add("", []byte(""))
	f.Add("\xff", []byte("0")) // regression: a file name of invalid UTF-8 named the section
	f.Fuzz(func(t *testing.T, file string, src []byte) {
		chunks := ragcache.ChunkMarkdown(file, src)
		if again := ragcache.ChunkMarkdown(file, src); !reflect.DeepEqual(chunks, again) {
			t.Fatalf("not deterministic")
		}
		clean := normalizeMarkdown(src)
		at := 0
		for i, c := range chunks {
			switch {
			case c.File != file:
				t.Fatalf("chunk %d: File %q, want %q", i, c.File, file)
			case !utf8.ValidString(c.Content) || !utf8.ValidString(c.Section):
				t.Fatalf("chunk %d: invalid UTF-8", i)
			case strings.TrimSpace(c.Content) == "":
				t.Fatalf("chunk %d: blank content", i)
			case c.Section == "" && file != "":
				t.Fatalf("chunk %d: no section name", i)
			case c.Tokens != ragcache.EstimateTokens(c.Content):
				t.Fatalf("chunk %d: Tokens %d for %d bytes", i, c.Tokens, len(c.Content))
			case c.Score != 0:
				t.Fatalf("chunk %d: score %v outside a search", i, c.Score)
			case c.Phase != nil && (*c.Phase < 0 || *c.Phase > ragcache.MaxPhase):
				t.Fatalf("chunk %d: phase %d", i, *c.Phase)
			case !slices.IsSorted(c.Tags) || len(slices.Compact(slices.Clone(c.Tags))) != len(c.Tags):
				t.Fatalf("chunk %d: tags not sorted and unique: %q", i, c.Tags)
			case slices.Contains(c.Tags, "") || slices.Contains(c.Parents, ""):
				t.Fatalf("chunk %d: empty tag or parent: %q %q", i, c.Tags, c.Parents)
			}
			// Content is the next piece of the source. Front matter is
			// dropped, so the search starts wherever the piece is found.
			j := strings.Index(clean[at:], c.Content)
			if j < 0 {
				t.Fatalf("chunk %d is not a piece of the source after offset %d: %q", i, at, c.Content)
			}
			at += j + len(c.Content)
		}
	})
}

// FuzzQueryCanonical checks the query canonicalizer: it never panics;
// errors are *QueryError with a known field; the canonical form parses back
// into a query with the same canonical form (so it is unambiguous and a
// fixed point); and flipping the case of ASCII letters, spreading white
// space or reordering and repeating tags changes nothing.
func FuzzQueryCanonical(f *testing.F) {
	f.Add("  Wrap ERRORS\twith context ", 0, 2, true, "go\x00errors")
	f.Add("", 5, 0, false, "")
	f.Add("x", 51, -1, true, "a\x00 \x00b")
	f.Add("l=5;p=-;t=;q=", 50, 9999, true, ";q=\x001:x")
	f.Add("\xff\xfe ß İ", 1, 0, false, "Tag With Spaces")
	f.Fuzz(func(t *testing.T, text string, limit, phase int, hasPhase bool, tagList string) {
		q := ragcache.Query{Text: text, Limit: limit}
		if hasPhase {
			q.Phase = &phase
		}
		if tagList != "" {
			q.Tags = strings.Split(tagList, "\x00")
		}
		canon, err := q.Canonical()
		if err != nil {
			var qe *ragcache.QueryError
			if !errors.As(err, &qe) || !errors.Is(err, ragcache.ErrInvalidQuery) {
				t.Fatalf("error %v is not a *QueryError", err)
			}
			switch qe.Field {
			case "query", "limit", "phase", "tags":
			default:
				t.Fatalf("unknown field %q", qe.Field)
			}
			return
		}
		back := parseCanonical(t, canon)
		if again, err := back.Canonical(); err != nil || again != canon {
			t.Fatalf("canonical form is not a fixed point:\n%q\n%q (%v)", canon, again, err)
		}

		v := ragcache.Query{Text: " \t" + flipASCII(strings.ReplaceAll(text, " ", " \n ")) + "\n", Limit: limit, Phase: q.Phase}
		if limit == 0 {
			v.Limit = ragcache.DefaultLimit
		}
		for _, tag := range slices.Backward(q.Tags) {
			v.Tags = append(v.Tags, " "+flipASCII(tag), tag)
		}
		if len(v.Tags) > ragcache.MaxTags {
			return // the variant has too many tags to be valid
		}
		if vc, err := v.Canonical(); err != nil || vc != canon {
			t.Fatalf("variant changes the canonical form:\n%q\n%q (%v)", canon, vc, err)
		}
	})
}

func flipASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 32
		case 'A' <= c && c <= 'Z':
			b[i] = c + 32
		}
	}
	return string(b)
}

// parseCanonical reads "l=N;p=N|-;t=<len>:<tag>...;q=<text>" back.
func parseCanonical(t *testing.T, s string) ragcache.Query {
	t.Helper()
	fail := func(why string) { t.Fatalf("canonical form %q: %s", s, why) }
	var q ragcache.Query
	rest, ok := strings.CutPrefix(s, "l=")
	if !ok {
		fail("no l=")
	}
	num, rest, _ := strings.Cut(rest, ";p=")
	n, err := strconv.Atoi(num)
	if err != nil {
		fail("bad limit")
	}
	q.Limit = n
	ph, rest, _ := strings.Cut(rest, ";t=")
	if ph != "-" {
		p, err := strconv.Atoi(ph)
		if err != nil {
			fail("bad phase")
		}
		q.Phase = &p
	}
	for !strings.HasPrefix(rest, ";q=") {
		ln, after, ok := strings.Cut(rest, ":")
		k, err := strconv.Atoi(ln)
		if !ok || err != nil || k > len(after) {
			fail("bad tag length")
		}
		q.Tags = append(q.Tags, after[:k])
		rest = after[k:]
	}
	q.Text = strings.TrimPrefix(rest, ";q=")
	return q
}
