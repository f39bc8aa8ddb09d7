package ragcache

import (
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
