package ragcache

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManyFrontMatterTagsAreCapped pins the index that front matter tags
// multiplied (issue 20: 700 tags on 2,000 sections took about 1 GB): a
// chunk carries at most MaxFileTags tags, the first of the file's list,
// with a warning naming the file, and the tag filter works on them.
func TestManyFrontMatterTagsAreCapped(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hostile.md"), hostileFile(700, 200), 0o600))
	writeFile(t, dir, "plain.md", "---\ntags: [t5, other]\n---\n# Plain\n\nordinary words\n")
	log, logs := testLogger()
	ix := openTest(t, Config{Dir: dir, Logger: log}, hooks{})

	s := ix.cur.Load()
	for _, c := range s.chunks {
		assert.LessOrEqual(t, len(c.Tags), MaxFileTags, c.File)
	}
	assert.Contains(t, logs.String(), "hostile.md")
	assert.Contains(t, logs.String(), "700 distinct tags; only the first "+strconv.Itoa(MaxFileTags))

	// t0..t31 are kept, t32 on are not: the filter knows no chunk with it.
	r, err := ix.Search(t.Context(), Query{Text: "s7", Tags: []string{"t0", "t31"}})
	require.NoError(t, err)
	require.NotEmpty(t, r.Chunks)
	assert.Equal(t, "hostile.md", r.Chunks[0].File)
	r, err = ix.Search(t.Context(), Query{Text: "ordinary words", Tags: []string{"t5"}})
	require.NoError(t, err)
	require.Len(t, r.Chunks, 1, "one field of several tags matches each of them")
	assert.Equal(t, "plain.md", r.Chunks[0].File)
	r, err = ix.Search(t.Context(), Query{Text: "ordinary words", Tags: []string{"t5", "other"}})
	require.NoError(t, err)
	require.Len(t, r.Chunks, 1)
	_, err = ix.Search(t.Context(), Query{Text: "s7", Tags: []string{"t32"}})
	require.ErrorIs(t, err, ErrInvalidQuery)
}

// TestLongParentHeadingsStayLinear pins the other multiplier: one long
// heading over thousands of sections was indexed again with each of them.
// The indexed text stays within a small multiple of the file, and derived
// tags within MaxFileTags.
func TestLongParentHeadingsStayLinear(t *testing.T) {
	src := longParentsFile(2000)
	chunks, _ := chunkFile("deep/p.md", src)
	require.Len(t, chunks, 2000)
	indexed := 0
	for i := range chunks {
		indexed += len(indexedText(&chunks[i]))
		assert.LessOrEqual(t, len(chunks[i].Tags), MaxFileTags)
	}
	assert.LessOrEqual(t, indexed, 20*len(src), "indexed text %d bytes for a %d-byte file", indexed, len(src))
	assert.Contains(t, indexedText(&chunks[0]), "w5x0", "the nearest parent is indexed")
}

func TestCutAtSpace(t *testing.T) {
	assert.Equal(t, "one two", cutAtSpace("one two three", 9))
	assert.Equal(t, "abcd", cutAtSpace("abcdefgh", 4))
	assert.Equal(t, "ab", cutAtSpace("abé", 3), "never inside a rune")
}
