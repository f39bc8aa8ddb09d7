package ragcache

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsCanonicalText(t *testing.T) {
	for s, want := range map[string]bool{
		"wrap errors":     true,
		"a":               true,
		"x-y_z 1.2 (q)?":  true,
		"":                false,
		" lead":           false,
		"trail ":          false,
		"two  spaces":     false,
		"Upper":           false,
		"tab\there":       false,
		"newline\n":       false,
		"caf\u00e9":       false,
		"\xff":            false,
		"del\x7f":         false,
		"tilde~ is fine~": true,
	} {
		assert.Equal(t, want, isCanonicalText(s), "%q", s)
		if want {
			got, err := canonicalText(s)
			require.NoError(t, err)
			assert.Equal(t, s, got, "canonical text is its own canonical form")
		}
	}
}

func TestCanonicalText(t *testing.T) {
	for in, want := range map[string]string{
		"  Wrap\tERRORS\n\nnow ": "wrap errors now",
		"CAFÉ  Crème":            "café crème",
		"bad\xffbyte":            "bad\ufffdbyte",
		"\u00a0nbsp\u2003em ":    "nbsp em",
	} {
		got, err := canonicalText(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%q", in)
	}
	_, err := canonicalText(strings.Repeat("x ", MaxQueryRunes))
	require.ErrorIs(t, err, ErrInvalidQuery)
}

func TestQueryCanonicalDistinguishesFields(t *testing.T) {
	p0, p1 := 0, 1
	forms := map[string]Query{}
	for _, q := range []Query{
		{Text: "a"},
		{Text: "a", Limit: 6},
		{Text: "a", Phase: &p0},
		{Text: "a", Phase: &p1},
		{Text: "a", Tags: []string{"b"}},
		{Text: "a", Tags: []string{"b", "c"}},
		{Text: "a", Tags: []string{"b,c"}},
		{Text: "a;q=b"},
		{Text: "b", Tags: []string{"a;q="}},
	} {
		c, err := q.Canonical()
		require.NoError(t, err)
		if prev, ok := forms[c]; ok {
			t.Errorf("%+v and %+v share the canonical form %q", prev, q, c)
		}
		forms[c] = q
	}
	c5, _ := Query{Text: "A"}.Canonical()
	c5b, _ := Query{Text: "a", Limit: DefaultLimit}.Canonical()
	assert.Equal(t, c5, c5b, "limit 0 is the default limit")
}

// TestParseQueryOwnsItsPhase: a CanonicalQuery does not change when the
// Query it was parsed from does, so that SearchCanonical can trust it.
func TestParseQueryOwnsItsPhase(t *testing.T) {
	p := 3
	q := Query{Text: "Error  Handling", Phase: &p, Tags: []string{"Go"}}
	cq, err := ParseQuery(q)
	require.NoError(t, err)
	before := cq.String()
	p = MaxPhase + 1
	q.Tags[0] = "other"
	assert.Equal(t, before, cq.String())
	c, err := Query{Text: "error handling", Phase: new(3), Tags: []string{"go"}}.Canonical()
	require.NoError(t, err)
	assert.Equal(t, c, before)
}

// TestSearchCanonicalIsSearch: the parsed query's search answers as
// Search does, and the zero CanonicalQuery is refused as an empty query.
func TestSearchCanonicalIsSearch(t *testing.T) {
	ix := openTest(t, Config{Dir: corpus}, hooks{})
	q := Query{Text: "  Error HANDLING ", Limit: 2}
	want, err := ix.Search(t.Context(), q)
	require.NoError(t, err)
	cq, err := ParseQuery(q)
	require.NoError(t, err)
	got, err := ix.SearchCanonical(t.Context(), cq)
	require.NoError(t, err)
	assert.True(t, got.CacheHit, "the same cache entry as Search's")
	assert.Equal(t, want.Chunks, got.Chunks)
	_, err = ix.SearchCanonical(t.Context(), CanonicalQuery{})
	qe, ok := errors.AsType[*QueryError](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "query", qe.Field)
}
