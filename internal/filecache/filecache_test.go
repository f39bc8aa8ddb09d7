package filecache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/internal/testutil"
)

var errParse = errors.New("filecache_test: does not parse")

// counter counts parses per file name.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) parse(_ string, _ struct{}, name string, data []byte) (string, error) {
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
	if strings.HasPrefix(string(data), "bad") {
		return "", errParse
	}
	return string(data), nil
}

func (c *counter) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func newCache(t *testing.T, fsys fs.FS, recheck time.Duration, clock *testutil.Clock, absent bool) (*Cache[string, struct{}, string], *counter) {
	t.Helper()
	cnt := &counter{n: map[string]int{}}
	cfg := Config[string, struct{}, string]{
		FS: fsys, Recheck: recheck, Clock: clock, MaxBytes: 64,
		Name:  func(k string, _ struct{}) (string, error) { return k + ".txt", nil },
		Parse: cnt.parse,
	}
	if absent {
		cfg.Absent = func(string, struct{}, string) string { return "(none)" }
	}
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, cnt
}

func write(t *testing.T, dir, name, content string, mod time.Time) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	require.NoError(t, os.Chtimes(p, mod, mod))
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config[string, struct{}, string]{
		FS: fstest.MapFS{}, MaxBytes: 1,
		Name:  func(k string, _ struct{}) (string, error) { return k, nil },
		Parse: func(string, struct{}, string, []byte) (string, error) { return "", nil },
	}
	for name, mutate := range map[string]func(*Config[string, struct{}, string]){
		"FS":       func(c *Config[string, struct{}, string]) { c.FS = nil },
		"Recheck":  func(c *Config[string, struct{}, string]) { c.Recheck = -1 },
		"MaxBytes": func(c *Config[string, struct{}, string]) { c.MaxBytes = 0 },
		"Parse":    func(c *Config[string, struct{}, string]) { c.Parse = nil },
	} {
		cfg := ok
		mutate(&cfg)
		_, err := New(cfg)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
}

// TestRecheckServesEditsAfterRecheck: with a positive Recheck an edit is
// served once Recheck has passed, an unchanged file is not parsed again,
// a broken file is parsed once per change, and a missing file is Absent's
// value until it appears.
func TestRecheckServesEditsAfterRecheck(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	clock := testutil.NewClock(time.Unix(1000, 0))
	c, cnt := newCache(t, root.FS(), time.Second, clock, true)
	ctx := t.Context()
	t0 := time.Unix(2000, 0)

	v, err := c.Get(ctx, "a", struct{}{})
	require.NoError(t, err)
	assert.Equal(t, "(none)", v)

	write(t, dir, "a.txt", "one", t0)
	v, _ = c.Get(ctx, "a", struct{}{})
	assert.Equal(t, "(none)", v, "served from the cache until Recheck passes")
	clock.Advance(time.Second)
	v, err = c.Get(ctx, "a", struct{}{})
	require.NoError(t, err)
	assert.Equal(t, "one", v)

	clock.Advance(time.Second)
	_, _ = c.Get(ctx, "a", struct{}{})
	assert.Equal(t, 1, cnt.get("a.txt"), "an unchanged file is not parsed again")

	write(t, dir, "a.txt", "bad!", t0.Add(time.Second))
	clock.Advance(time.Second)
	for range 3 {
		_, err = c.Get(ctx, "a", struct{}{})
		require.ErrorIs(t, err, errParse)
		clock.Advance(time.Second)
	}
	assert.Equal(t, 2, cnt.get("a.txt"), "a broken file is parsed once per change")
	assert.Equal(t, int64(2), c.Parses())

	c.Forget(func(k string) bool { return k == "a" })
	write(t, dir, "a.txt", "two", t0.Add(2*time.Second))
	v, err = c.Get(ctx, "a", struct{}{})
	require.NoError(t, err)
	assert.Equal(t, "two", v, "Forget makes the next Get look at once")
}

// TestEveryCallServesEditsAtOnce: with Recheck 0 each Get compares the
// stamp, so an edit is served by the next Get without the clock moving.
func TestEveryCallServesEditsAtOnce(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	c, cnt := newCache(t, root.FS(), 0, testutil.NewClock(time.Unix(1000, 0)), false)
	ctx := t.Context()
	t0 := time.Unix(2000, 0)

	_, err = c.Get(ctx, "a", struct{}{})
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "stat", fe.Op)
	require.ErrorIs(t, err, fs.ErrNotExist)

	write(t, dir, "a.txt", "one", t0)
	for range 3 {
		v, err := c.Get(ctx, "a", struct{}{})
		require.NoError(t, err)
		assert.Equal(t, "one", v)
	}
	write(t, dir, "a.txt", "two", t0.Add(time.Second))
	v, err := c.Get(ctx, "a", struct{}{})
	require.NoError(t, err)
	assert.Equal(t, "two", v)
	assert.Equal(t, 2, cnt.get("a.txt"), "one parse per version")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "d.txt"), 0o755))
	_, err = c.Get(ctx, "d", struct{}{})
	require.ErrorIs(t, err, regfile.ErrNotRegular)

	write(t, dir, "big.txt", strings.Repeat("x", 100), t0)
	v, err = c.Get(ctx, "big", struct{}{})
	require.NoError(t, err)
	assert.Len(t, v, 65, "Parse sees MaxBytes+1 bytes of a longer file")
}

// TestConcurrentSharedKeys: goroutines released together read the same
// keys while each key's file changes between rounds; every file version
// is parsed exactly once, in both modes, and every caller sees it.
func TestConcurrentSharedKeys(t *testing.T) {
	for _, recheck := range []time.Duration{0, time.Second} {
		for _, n := range []int{1, runtime.GOMAXPROCS(0), 128} {
			t.Run("recheck="+recheck.String()+"/n="+strconv.Itoa(n), func(t *testing.T) {
				dir := t.TempDir()
				root, err := os.OpenRoot(dir)
				require.NoError(t, err)
				t.Cleanup(func() { _ = root.Close() })
				clock := testutil.NewClock(time.Unix(1000, 0))
				c, cnt := newCache(t, root.FS(), recheck, clock, false)
				keys := []string{"a", "b", "c"}
				const rounds = 3
				for r := range rounds {
					want := "v" + strconv.Itoa(r)
					for _, k := range keys {
						write(t, dir, k+".txt", want, time.Unix(2000+int64(r), 0))
					}
					clock.Advance(recheck)
					testutil.Release(n, func(i int) {
						k := keys[i%len(keys)]
						v, err := c.Get(t.Context(), k, struct{}{})
						if err != nil || v != want {
							t.Errorf("Get(%s) = %q, %v; want %q", k, v, err, want)
						}
					})
					for _, k := range keys[:min(n, len(keys))] {
						assert.Equal(t, r+1, cnt.get(k+".txt"), "%s after round %d", k, r)
					}
				}
			})
		}
	}
}
