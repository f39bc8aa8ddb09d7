package ragcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/fsnotify/fsnotify"

	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// Defaults for Config.
const (
	DefaultCacheTTL        = time.Hour
	DefaultCacheMaxEntries = 1024
	// DefaultDebounce is how long the watcher waits after the last change
	// in the folder before it rebuilds the index.
	DefaultDebounce = 500 * time.Millisecond
	// DefaultMaxWait is the longest the watcher waits after the first
	// change of a burst: a file rewritten more often than DefaultDebounce
	// is reindexed this long after it started changing, and again after
	// each further DefaultMaxWait while it keeps changing.
	DefaultMaxWait = 2 * time.Second
)

// Config configures Open. The zero Config indexes the built-in sample
// standards with the default cache and no watcher.
type Config struct {
	// Dir is the standards folder, read recursively. Empty means the
	// sample standards built into the package.
	Dir string
	// CacheTTL is how long a query result stays cached: 0 means
	// DefaultCacheTTL; it must not be negative.
	CacheTTL time.Duration
	// CacheMaxEntries bounds the query cache: 0 means
	// DefaultCacheMaxEntries; it must not be negative.
	CacheMaxEntries int
	// Watch rebuilds the index when files under Dir change, DefaultDebounce
	// after the last change and at most DefaultMaxWait after the first. It
	// requires Dir. When the watcher cannot start (the user's inotify
	// instances or watches are used up, say), Open still succeeds, without
	// live reindex: WatchErr says why.
	Watch bool
	// Logger receives warnings (skipped files, failed rebuilds) and one
	// line per build. nil means slog.Default().
	Logger *slog.Logger
	// Progress, when set, receives progress lines while a large corpus is
	// indexed (the binary passes os.Stderr). nil means no progress.
	Progress io.Writer
}

// Index is a searchable, live-updatable index of markdown standards with a
// query cache in front.
//
// An Index is safe for concurrent use by multiple goroutines without
// additional locking. Create one with Open; the zero Index is not usable,
// and an Index must not be copied.
//
// The searchable state is an immutable snapshot behind an atomic pointer.
// Reindex builds a complete new snapshot without holding any lock that
// Search takes, then publishes it with one atomic store; in the terms of the
// Go memory model that store synchronizes before every Search that loads
// the new snapshot, so such a Search sees the whole new index and its
// chunks. A Search that loaded the previous snapshot finishes on it.
//
// Search takes no lock of its own: it makes one shard.GetOrLoadWith call,
// whose hit is lock-free and allocates nothing, and whose miss runs the
// index search outside every lock.
// Reindex calls run one at a time; Close stops the watcher, waits for a
// rebuild in progress and releases the index.
type Index struct {
	cfg   Config
	log   *slog.Logger
	cur   atomic.Pointer[snapshot]
	cache *shard.Cache[cacheKey, *cached]
	hooks hooks

	searches      atomic.Int64 // index searches run (cache misses)
	reindexes     atomic.Int64 // successful rebuilds after Open
	reindexErrors atomic.Int64

	// buildMu serializes builds so generations are published in order.
	// Search never takes it.
	buildMu sync.Mutex
	nextGen uint64 // guarded by buildMu

	closed    atomic.Bool
	closeOnce sync.Once
	watcher   *watcher // nil without Config.Watch, or when it failed
	watchErr  error    // why Config.Watch has no watcher; set by Open

	// fileCache serves ReadFile; changes holds OnChange's functions.
	fileCache *shard.Cache[fileKey, []byte]
	changes   changeHub
	building  atomic.Bool // set while Reindex builds
}

// hooks are the knobs tests turn; Open uses the zero hooks.
type hooks struct {
	// debounce and maxWait replace DefaultDebounce and DefaultMaxWait
	// when positive.
	debounce, maxWait time.Duration
	// afterRebuild, when set, is called by the watcher goroutine after each
	// rebuild attempt, with the generation then current and the error.
	afterRebuild func(gen uint64, err error)
	// beforeSearch, when set, is called by every index search before it
	// queries bleve.
	beforeSearch func()
	// newWatcher replaces fsnotify.NewWatcher when set.
	newWatcher func() (*fsnotify.Watcher, error)
}

// cacheKey is a query cache key: the snapshot generation and the xxhash of
// the canonical query. Putting the generation in the key is what makes a
// swap invalidate every older result without touching the cache.
type cacheKey struct {
	gen  uint64
	hash uint64
}

// cached is a query cache value. It is never modified after it is stored.
type cached struct {
	canon  string // the canonical query, to rule out hash collisions
	result Result
}

// Stats describes the current index.
type Stats struct {
	// Source is the standards folder, or "builtin" for the samples.
	Source string `json:"source"`
	// Files is the number of markdown files indexed.
	Files int `json:"files"`
	// Skipped is the number of markdown files skipped (too large,
	// unreadable).
	Skipped int `json:"skipped"`
	// Chunks is the number of chunks indexed.
	Chunks int `json:"chunks"`
	// Tokens is the sum of the chunks' token estimates.
	Tokens int `json:"tokens"`
	// BuildTime is how long the current index took to build.
	BuildTime time.Duration `json:"build_time_ns"`
	// BuiltAt is when the current index was swapped in.
	BuiltAt time.Time `json:"built_at"`
	// Generation numbers the builds, from 1 for the index Open built.
	Generation uint64 `json:"generation"`
	// Searches counts searches that ran the index (query cache misses)
	// since Open.
	Searches int64 `json:"searches"`
	// Reindexes counts successful rebuilds since Open.
	Reindexes int64 `json:"reindexes"`
	// ReindexErrors counts failed rebuilds since Open.
	ReindexErrors int64 `json:"reindex_errors"`
	// Watching reports whether live reindex runs (Config.Watch, and the
	// watcher started).
	Watching bool `json:"watching"`
	// WatchError is why Config.Watch was asked for and the watcher could
	// not start, or "".
	WatchError string `json:"watch_error,omitempty"`
}

// Open validates cfg, builds the index and, with cfg.Watch, starts the
// watcher. An unreadable or missing Dir is an error; problems with single
// files (too large, invalid UTF-8, empty) are logged and never stop
// indexing. Close the Index to stop its goroutines.
func Open(ctx context.Context, cfg Config) (*Index, error) {
	return open(ctx, cfg, hooks{})
}

func open(ctx context.Context, cfg Config, h hooks) (*Index, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheMaxEntries == 0 {
		cfg.CacheMaxEntries = DefaultCacheMaxEntries
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if h.debounce <= 0 {
		h.debounce = DefaultDebounce
	}
	if h.maxWait <= 0 {
		h.maxWait = DefaultMaxWait
	}
	ix := &Index{cfg: cfg, log: log, hooks: h}
	if err := ix.Reindex(ctx); err != nil {
		return nil, err
	}
	// One shard: the key's shard is then found without hashing it, and
	// the bound's per-shard lock is taken only when a result is inserted,
	// after an index search that costs a thousand times more.
	c, err := shard.New[cacheKey, *cached](shard.Config{TTL: cfg.CacheTTL, MaxEntries: cfg.CacheMaxEntries, Shards: 1})
	if err != nil {
		ix.cur.Load().release()
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	ix.cache = c
	if ix.fileCache, err = newFileCache(); err != nil {
		c.Close()
		ix.cur.Load().release()
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.Watch {
		// A watcher that cannot start costs live reindex, not the index:
		// Reindex still rebuilds on demand.
		if ix.watcher, err = ix.startWatcher(); err != nil {
			ix.watcher, ix.watchErr = nil, fmt.Errorf("ragcache: cannot watch %s: %w", cfg.Dir, err)
		}
	}
	return ix, nil
}

// WatchErr returns why Config.Watch was set and the index has no live
// reindex (the watcher could not start), or nil.
func (ix *Index) WatchErr() error { return ix.watchErr }

func (cfg *Config) validate() error {
	switch {
	case cfg.CacheTTL < 0:
		return fmt.Errorf("%w: CacheTTL must be 0 (default %v) or positive, got %v", ErrInvalidConfig, DefaultCacheTTL, cfg.CacheTTL)
	case cfg.CacheMaxEntries < 0:
		return fmt.Errorf("%w: CacheMaxEntries must be 0 (default %d) or positive, got %d", ErrInvalidConfig, DefaultCacheMaxEntries, cfg.CacheMaxEntries)
	case cfg.Watch && cfg.Dir == "":
		return fmt.Errorf("%w: Watch needs Dir: the built-in standards never change", ErrInvalidConfig)
	}
	return nil
}

// Search returns the chunks that best match q, best first: it parses q
// with ParseQuery and calls SearchCanonical.
//
// An invalid q yields a *QueryError that wraps ErrInvalidQuery; so does a
// tag or phase that no chunk of the current index carries. When ctx ends
// while Search waits, it returns ctx.Err().
func (ix *Index) Search(ctx context.Context, q Query) (Result, error) {
	start := time.Now()
	if ix.closed.Load() {
		return Result{}, ErrClosed
	}
	cq, err := ParseQuery(q)
	if err != nil {
		return Result{}, err
	}
	return ix.search(ctx, start, &cq)
}

// SearchCanonical returns the chunks that best match q, best first. q was
// checked by ParseQuery and is used as it is.
//
// A query that is in the cache for the current index is answered without
// touching the index. Otherwise the first caller searches the index and
// every identical query that arrives meanwhile waits for that search and
// shares its result. SearchCanonical never waits for a rebuild: it runs on
// the snapshot that is current when it starts.
//
// A tag or phase that no chunk of the current index carries yields a
// *QueryError that wraps ErrInvalidQuery. When ctx ends while it waits,
// SearchCanonical returns ctx.Err().
func (ix *Index) SearchCanonical(ctx context.Context, q CanonicalQuery) (Result, error) {
	start := time.Now()
	if ix.closed.Load() {
		return Result{}, ErrClosed
	}
	if q.IsZero() {
		return Result{}, queryErr("query", "is empty; give the words to search for, e.g. \"error handling in goroutines\"")
	}
	return ix.search(ctx, start, &q)
}

// search is SearchCanonical after its checks; q does not escape.
func (ix *Index) search(ctx context.Context, start time.Time, q *CanonicalQuery) (Result, error) {
	text, limit, tags := q.text, q.limit, q.tags
	// The canonical form of a usual query fits in buf, which stays on the
	// stack: a cache hit allocates nothing.
	var buf [256]byte
	canon := appendCanonical(buf[:0], text, limit, q.phase, tags)
	hash := xxhash.Sum64(canon)

	snap := ix.cur.Load()
	if err := snap.checkFilters(q.phase, tags); err != nil {
		return Result{}, err
	}
	a := loadArgs{ix: ix, snap: snap, text: text, limit: limit, phase: q.phase, tags: tags}
	// One call for a hit and a miss alike: the cache counts each Search
	// once, as a hit, a miss (this call searched the index) or a
	// coalesced wait.
	v, loaded, err := shard.GetOrLoadWith(ctx, ix.cache, cacheKey{gen: snap.gen, hash: hash}, a, loadResult)
	if err == nil && v.canon == string(canon) {
		r := v.result
		r.CacheHit = !loaded
		r.Took = time.Since(start)
		return r, nil
	}
	return ix.searchSlow(ctx, start, a, string(canon), hash, v, loaded, err)
}

// searchSlow finishes a Search whose lookup failed or found the result of
// another query with the same hash.
func (ix *Index) searchSlow(ctx context.Context, start time.Time, a loadArgs, canon string, hash uint64,
	v *cached, loaded bool, err error,
) (Result, error) {
	for {
		if err == nil && v.canon != canon {
			// Two canonical queries with one 64-bit hash: answer this
			// one from the index, uncached.
			var r Result
			r, err = ix.searchIndex(ctx, a.snap, a.text, a.limit, a.phase, a.tags)
			v, loaded = &cached{canon: canon, result: r}, true
		}
		if !errors.Is(err, errRetired) {
			break
		}
		// a.snap was swapped out and closed before its search could
		// start: the current snapshot is newer, so try again on it.
		a.snap = ix.cur.Load()
		if err := a.snap.checkFilters(a.phase, a.tags); err != nil {
			return Result{}, err
		}
		v, loaded, err = shard.GetOrLoadWith(ctx, ix.cache, cacheKey{gen: a.snap.gen, hash: hash}, a, loadResult)
	}
	if err != nil {
		return Result{}, err
	}
	r := v.result
	r.CacheHit = !loaded
	r.Took = time.Since(start)
	return r, nil
}

// loadArgs is what loadResult needs besides the cache key: the query in its
// canonical parts and the snapshot to search.
type loadArgs struct {
	ix    *Index
	snap  *snapshot
	text  string
	limit int
	phase *int
	tags  []string
}

// loadResult is the query cache's load: it searches a.snap and stores the
// result with its canonical query. A plain function, so that a Search that
// hits allocates nothing.
func loadResult(ctx context.Context, _ cacheKey, a loadArgs) (*cached, error) {
	r, err := a.ix.searchIndex(ctx, a.snap, a.text, a.limit, a.phase, a.tags)
	if err != nil {
		return nil, err
	}
	r.Memo = &Memo{}
	var buf [256]byte // as in Search: only the string is allocated
	return &cached{canon: string(appendCanonical(buf[:0], a.text, a.limit, a.phase, a.tags)), result: r}, nil
}

// checkFilters fails with a *QueryError naming a phase or tag that no chunk
// of s carries.
func (s *snapshot) checkFilters(phase *int, tags []string) error {
	if phase != nil {
		if _, ok := s.phases[*phase]; !ok {
			return queryErr("phase", "no standard in this index belongs to phase %d; known phases: %s; omit phase to search them all",
				*phase, joinLimited(sortedKeys(s.phases, strconv.Itoa), 20))
		}
	}
	for _, t := range tags {
		if _, ok := s.tags[t]; !ok {
			return queryErr("tags", "no standard in this index is tagged %q; known tags include: %s",
				t, joinLimited(sortedKeys(s.tags, func(t string) string { return t }), 30))
		}
	}
	return nil
}

func sortedKeys[K comparable, V any](m map[K]V, str func(K) string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, str(k))
	}
	slices.Sort(out)
	return out
}

// joinLimited joins at most n items, noting how many were left out.
func joinLimited(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// Stats describes the current index and counts searches and rebuilds.
func (ix *Index) Stats() Stats {
	s := ix.cur.Load()
	return Stats{
		Source:        s.source,
		Files:         s.files,
		Skipped:       s.skipped,
		Chunks:        len(s.chunks),
		Tokens:        s.tokens,
		BuildTime:     s.buildTime,
		BuiltAt:       s.builtAt,
		Generation:    s.gen,
		Searches:      ix.searches.Load(),
		Reindexes:     ix.reindexes.Load(),
		ReindexErrors: ix.reindexErrors.Load(),
		Watching:      ix.watcher != nil,
		WatchError:    errString(ix.watchErr),
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Metrics returns the query cache's counters. Entries counts results of
// every generation that have not yet aged out.
//
// Every Search that reaches the cache is one hit, one miss (it searched
// the index) or one coalesced wait.
func (ix *Index) Metrics() metrics.Snapshot {
	return ix.cache.Metrics()
}

// Reindex rebuilds the index from the folder and swaps it in. It returns
// when the new index is live, or with an error, in which case the current
// index stays. Concurrent Reindex calls run one at a time. Searches keep
// running on the current index while it builds.
func (ix *Index) Reindex(ctx context.Context) error {
	if ix.closed.Load() {
		return ErrClosed
	}
	ix.buildMu.Lock()
	defer ix.buildMu.Unlock()
	if ix.closed.Load() {
		return ErrClosed
	}
	gen := ix.nextGen + 1
	ix.building.Store(true)
	defer ix.building.Store(false)
	s, err := ix.build(ctx, gen)
	if err != nil {
		if cur := ix.cur.Load(); cur != nil {
			ix.reindexErrors.Add(1)
			ix.emitChange(cur, cur, err)
		}
		return err
	}
	ix.nextGen = gen
	if old := ix.cur.Swap(s); old != nil {
		ix.reindexes.Add(1)
		ix.emitChange(old, s, nil)
		// Searches running on old hold references; the last to finish
		// closes its bleve index.
		old.release()
	}
	return nil
}

// Close stops the watcher and the query cache's background goroutine, waits
// for them and releases the index. Search and Reindex return ErrClosed afterwards. Close is
// safe to call more than once and always returns nil.
func (ix *Index) Close() error {
	ix.closeOnce.Do(func() {
		ix.closed.Store(true)
		if ix.watcher != nil {
			ix.watcher.stop()
		}
		// A Reindex that started before closed was set may still be
		// building; once it has published, release the current snapshot.
		// Searches still running on it keep it open until they finish.
		ix.buildMu.Lock()
		ix.cur.Load().release()
		ix.buildMu.Unlock()
		ix.cache.Close()
		ix.fileCache.Close()
	})
	return nil
}
