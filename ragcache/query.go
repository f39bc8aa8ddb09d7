package ragcache

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query limits.
const (
	// DefaultLimit is the number of chunks returned when Query.Limit is 0.
	DefaultLimit = 5
	// MaxLimit is the largest Query.Limit.
	MaxLimit = 50
	// MaxQueryRunes is the longest Query.Text, in characters.
	MaxQueryRunes = 1000
	// MaxTags is the largest number of tags in one Query.
	MaxTags = 16
	// MaxTagRunes is the longest tag, in characters.
	MaxTagRunes = 64
	// MaxPhase is the largest phase number a Query may ask for.
	MaxPhase = 9999

	// maxRawQueryBytes bounds Query.Text before white space is collapsed.
	maxRawQueryBytes = 64 << 10
)

// Query is one search.
type Query struct {
	// Text is what to search for, in plain words. Required; at most
	// MaxQueryRunes characters. Case and white space do not matter.
	Text string `json:"query"`
	// Limit is the number of chunks to return, 1 to MaxLimit; 0 means
	// DefaultLimit.
	Limit int `json:"limit,omitempty"`
	// Phase, when set, keeps only chunks of that phase (0 to MaxPhase).
	Phase *int `json:"phase,omitempty"`
	// Tags, when set, keeps only chunks that carry every one of them. Tags
	// are matched without regard to case; see Chunk.Tags.
	Tags []string `json:"tags,omitempty"`
}

// CanonicalQuery is a Query checked and in canonical form: the text in
// lower case with runs of white space collapsed to one space and trimmed,
// the effective limit, the phase, and the normalized tags sorted and
// without duplicates. Only ParseQuery makes one, so Index.SearchCanonical
// takes it without checking it again. It is immutable; the zero
// CanonicalQuery is no query.
type CanonicalQuery struct {
	text  string
	limit int
	phase *int // a copy, never changed
	tags  []string
}

// ParseQuery checks q and returns its canonical form. Invalid UTF-8 in the
// text or tags is replaced by U+FFFD first. An invalid field yields a
// *QueryError that wraps ErrInvalidQuery and names the field (query,
// limit, phase or tags).
func ParseQuery(q Query) (CanonicalQuery, error) {
	text, err := canonicalText(q.Text)
	if err != nil {
		return CanonicalQuery{}, err
	}
	limit, err := effectiveLimit(q.Limit)
	if err != nil {
		return CanonicalQuery{}, err
	}
	var phase *int
	if q.Phase != nil {
		if p := *q.Phase; p < 0 || p > MaxPhase {
			return CanonicalQuery{}, queryErr("phase", "must be between 0 and %d, got %d; omit it to search every phase", MaxPhase, p)
		}
		p := *q.Phase
		phase = &p
	}
	tags, err := canonicalTags(q.Tags)
	if err != nil {
		return CanonicalQuery{}, err
	}
	return CanonicalQuery{text: text, limit: limit, phase: phase, tags: tags}, nil
}

// String returns q's canonical form, the text Query.Canonical returns.
func (q CanonicalQuery) String() string {
	return canonicalForm(q.text, q.limit, q.phase, q.tags)
}

// IsZero reports whether q is the zero CanonicalQuery.
func (q CanonicalQuery) IsZero() bool { return q.text == "" }

// Canonical validates q and returns its canonical form (see
// CanonicalQuery). Two queries with the same canonical form have the same
// results on the same index; the query cache is keyed by its hash. An
// invalid field yields a *QueryError that wraps ErrInvalidQuery.
func (q Query) Canonical() (string, error) {
	cq, err := ParseQuery(q)
	if err != nil {
		return "", err
	}
	return cq.String(), nil
}

// canonicalForm joins the parts unambiguously: every variable-length part
// is length-prefixed, and the text comes last.
func canonicalForm(text string, limit int, phase *int, tags []string) string {
	return string(appendCanonical(nil, text, limit, phase, tags))
}

// appendCanonical appends the canonical form to dst.
func appendCanonical(dst []byte, text string, limit int, phase *int, tags []string) []byte {
	dst = append(dst, "l="...)
	dst = strconv.AppendInt(dst, int64(limit), 10)
	dst = append(dst, ";p="...)
	if phase != nil {
		dst = strconv.AppendInt(dst, int64(*phase), 10)
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, ";t="...)
	for _, t := range tags {
		dst = strconv.AppendInt(dst, int64(len(t)), 10)
		dst = append(dst, ':')
		dst = append(dst, t...)
	}
	dst = append(dst, ";q="...)
	return append(dst, text...)
}

func effectiveLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 1 || limit > MaxLimit:
		return 0, queryErr("limit", "must be between 1 and %d (or omitted for %d), got %d", MaxLimit, DefaultLimit, limit)
	}
	return limit, nil
}

// canonicalText lower-cases s and collapses its white space. It allocates
// only when s is not already canonical.
func canonicalText(s string) (string, error) {
	if len(s) > maxRawQueryBytes {
		// Not worth normalizing: even all white space but MaxQueryRunes
		// characters would be absurd.
		return "", queryErr("query", "is %d bytes long; the limit is %d characters, so shorten it to the key words", len(s), MaxQueryRunes)
	}
	if !isCanonicalText(s) {
		// Canonical text is ASCII, so only other text needs the UTF-8
		// check.
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	}
	if s == "" {
		return "", queryErr("query", "is empty; give the words to search for, e.g. \"error handling in goroutines\"")
	}
	// A string is never longer in runes than in bytes: count only when
	// it could be too long.
	if n := len(s); n > MaxQueryRunes && utf8.RuneCountInString(s) > MaxQueryRunes {
		n = utf8.RuneCountInString(s)
		return "", queryErr("query", "is %d characters long; the limit is %d, so shorten it to the key words", n, MaxQueryRunes)
	}
	return s, nil
}

// isCanonicalText reports whether s is printable ASCII with no upper case,
// no leading, trailing or doubled spaces: the common case, which needs no
// copy.
func isCanonicalText(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	prev := uint8(0)
	for i := 0; i < len(s); i++ {
		c := textClass[s[i]]
		if c == classBad || c&prev == classSpace {
			return false
		}
		prev = c
	}
	return true
}

// Byte classes for isCanonicalText.
const (
	classOK    = 0
	classSpace = 1
	classBad   = 2
)

var textClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == ' ':
			t[c] = classSpace
		case c < ' ' || c > '~' || ('A' <= c && c <= 'Z'):
			t[c] = classBad
		default:
			t[c] = classOK
		}
	}
	return t
}()

// normalizeTag lower-cases t, trims it and joins its words with "-", so
// "Error Handling" and "error-handling" are one tag.
func normalizeTag(t string) string {
	if !utf8.ValidString(t) {
		t = strings.ToValidUTF8(t, "\uFFFD")
	}
	return strings.Join(strings.Fields(strings.ToLower(t)), "-")
}

func canonicalTags(tags []string) ([]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	if len(tags) > MaxTags {
		return nil, queryErr("tags", "has %d tags; at most %d are allowed", len(tags), MaxTags)
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		n := normalizeTag(t)
		switch {
		case n == "":
			return nil, queryErr("tags", "tag %d is empty; remove it or give a tag such as \"testing\"", i)
		case utf8.RuneCountInString(n) > MaxTagRunes:
			return nil, queryErr("tags", "tag %d is longer than %d characters", i, MaxTagRunes)
		case strings.ContainsFunc(n, unicode.IsControl):
			return nil, queryErr("tags", "tag %d contains control characters", i)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
