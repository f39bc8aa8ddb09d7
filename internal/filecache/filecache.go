package filecache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/internal/regfile"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// FileError is the error of a file that could not be opened, examined or
// read. Such errors are not cached: the next call looks at the file again.
type FileError struct {
	// Op is "stat", "open" or "read".
	Op string
	// Name is the file's name inside Config.FS.
	Name string
	// Err is the file system's error; for a name that is not a regular
	// file, regfile.CheckRegular's, which wraps regfile.ErrNotRegular.
	Err error
	// Mode is the file's type when it is not a regular file, else 0.
	Mode fs.FileMode
}

// Error returns "filecache: <op> <name>: <err>".
func (e *FileError) Error() string {
	return "filecache: " + e.Op + " " + e.Name + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *FileError) Unwrap() error { return e.Err }

// Config configures a Cache of values of type V, one per key K, whose
// file is found from the key and an argument A that each call passes.
type Config[K comparable, A, V any] struct {
	// FS holds the files. Use os.Root.FS so that symlinks leading outside
	// the folder are refused.
	FS fs.FS
	// Recheck is how long a cached value is served before the file's
	// stamp is compared again with the one it was parsed from. 0 compares
	// the stamp on every Get (the file is opened and examined, not read),
	// so an edit is served at once; it must not be negative.
	Recheck time.Duration
	// Clock replaces the wall clock, for tests.
	Clock shard.Clock
	// MaxBytes bounds a read: at most MaxBytes+1 bytes are read, so that
	// Parse sees a file that is too long and can refuse it. It must be
	// positive.
	MaxBytes int64
	// Name returns the file, inside FS, that key and arg name. Its error
	// is returned as it is and not cached. It must be safe for concurrent
	// use.
	Name func(key K, arg A) (string, error)
	// Parse makes the value of the file name's content data. Its error is
	// cached with the value and the file's stamp, so a file that does not
	// parse is parsed again only when it changes. It must be safe for
	// concurrent use; it runs for one key at a time.
	Parse func(key K, arg A, name string, data []byte) (V, error)
	// Absent, when set, makes the value of a file that does not exist;
	// that value is cached like a parsed one, until the file appears. When
	// nil, a missing file is a FileError wrapping fs.ErrNotExist.
	Absent func(key K, arg A, name string) V
}

// Cache caches parsed files by key.
//
// A Cache is safe for concurrent use by multiple goroutines without
// additional locking. Create one with New; the zero Cache is not usable,
// and a Cache must not be copied after first use.
//
// With a positive Recheck, Get's hit path is the shard.Cache's lock-free
// lookup: it neither allocates nor touches the file system. When the cached
// value is older than Recheck, or absent, one caller, chosen by
// shard.GetOrLoadWith, looks at the file; every other caller for that key
// waits for that look and shares its result, so a changed file is parsed
// exactly once however many callers ask for it at the same time. With
// Recheck 0, every Get examines the file first and then looks its value up
// by key and stamp the same way, so callers that see the same version of a
// file share one look, and a changed file is again parsed exactly once. Parse and the file system run
// outside every lock, so a slow file delays only its own key. A Get that
// returns after a look has begun sees that look's result: the value is
// published by the shard.Cache, whose load happens before every waiter's
// return.
type Cache[K comparable, A, V any] struct {
	// cache holds the looks by key when Recheck is positive; every holds
	// them by key and stamp when it is 0. The other is nil.
	cache *shard.Cache[K, *look[V]]
	every *shard.Cache[stampKey[K], *look[V]]
	// last holds the most recent look at each key's file, so that a
	// recheck of an unchanged file reuses its parse. Only the key's single
	// loader reads and writes its entry.
	last   *xsync.Map[K, *look[V]]
	cfg    Config[K, A, V]
	parses atomic.Int64
	// load is the cache's load function, built once so that a lookup that
	// hits allocates nothing.
	load      func(ctx context.Context, key K, arg A) (*look[V], error)
	loadEvery func(ctx context.Context, key stampKey[K], arg A) (*look[V], error)
}

// stampKey is the key of one version of a key's file.
type stampKey[K comparable] struct {
	key   K
	stamp stamp
}

// everyTTL is how long a look at one version of a file stays cached when
// Recheck is 0: a file's versions that are no longer current leave memory
// after it, and a current one costs one more look, without a parse.
const everyTTL = time.Minute

// look is one look at a file: immutable once stored.
type look[V any] struct {
	val   V
	err   error
	stamp stamp
}

// stamp identifies a version of a file. A missing file has absent set and
// zero mod and size; name is the file the key led to.
type stamp struct {
	name   string
	absent bool
	mod    int64
	size   int64
}

// New returns a Cache configured by cfg. Expired entries are swept once a
// minute, or every Recheck when that is longer, so that files nobody asks
// for again leave memory.
func New[K comparable, A, V any](cfg Config[K, A, V]) (*Cache[K, A, V], error) {
	switch {
	case cfg.FS == nil:
		return nil, errors.New("filecache: Config.FS is nil")
	case cfg.Recheck < 0:
		return nil, fmt.Errorf("filecache: Config.Recheck must be 0 or positive, got %v", cfg.Recheck)
	case cfg.MaxBytes <= 0:
		return nil, fmt.Errorf("filecache: Config.MaxBytes must be positive, got %d", cfg.MaxBytes)
	case cfg.Name == nil || cfg.Parse == nil:
		return nil, errors.New("filecache: Config.Name and Config.Parse are required")
	}
	c := &Cache[K, A, V]{last: xsync.NewMap[K, *look[V]](), cfg: cfg}
	var err error
	if cfg.Recheck == 0 {
		c.every, err = shard.New[stampKey[K], *look[V]](shard.Config{TTL: everyTTL, SweepInterval: everyTTL, Clock: cfg.Clock})
		c.loadEvery = func(_ context.Context, sk stampKey[K], arg A) (*look[V], error) { return c.look(sk.key, arg) }
	} else {
		c.cache, err = shard.New[K, *look[V]](shard.Config{TTL: cfg.Recheck, SweepInterval: max(cfg.Recheck, time.Minute), Clock: cfg.Clock})
		c.load = func(_ context.Context, key K, arg A) (*look[V], error) { return c.look(key, arg) }
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Get returns the value of key's file, found with Config.Name(key, arg),
// and the error Parse returned with it. The error is Name's error, or a
// *FileError when the file cannot be opened, examined or read, or
// ctx.Err() when ctx ends while this caller waits for another's look. One
// Get counts one hit, miss or coalesced wait in Metrics.
func (c *Cache[K, A, V]) Get(ctx context.Context, key K, arg A) (V, error) {
	var l *look[V]
	var err error
	if c.cache != nil {
		l, _, err = shard.GetOrLoadWith(ctx, c.cache, key, arg, c.load)
	} else {
		l, err = c.getEvery(ctx, key, arg)
	}
	if err != nil {
		var zero V
		return zero, err
	}
	return l.val, l.err
}

// getEvery is Get when Recheck is 0: it examines the file and looks its
// value up by key and stamp. A look may find the file changed again since
// it was examined; it then parses the newer version, which is what the
// next Get's stamp will name.
func (c *Cache[K, A, V]) getEvery(ctx context.Context, key K, arg A) (*look[V], error) {
	name, err := c.cfg.Name(key, arg)
	if err != nil {
		return nil, err
	}
	st, err := c.examine(name)
	if err != nil {
		return nil, err
	}
	l, _, err := shard.GetOrLoadWith(ctx, c.every, stampKey[K]{key, st}, arg, c.loadEvery)
	return l, err
}

// examine returns the stamp of file name without opening it: a missing
// file has the absent stamp when Config.Absent is set.
func (c *Cache[K, A, V]) examine(name string) (stamp, error) {
	fi, err := fs.Stat(c.cfg.FS, name)
	if errors.Is(err, fs.ErrNotExist) && c.cfg.Absent != nil {
		return stamp{name: name, absent: true}, nil
	}
	if err != nil {
		return stamp{}, &FileError{Op: "stat", Name: name, Err: err}
	}
	if err := regfile.CheckRegular(name, fi); err != nil {
		return stamp{}, &FileError{Op: "stat", Name: name, Err: err, Mode: fi.Mode().Type()}
	}
	return stampOf(name, fi), nil
}

func stampOf(name string, fi fs.FileInfo) stamp {
	return stamp{name: name, mod: fi.ModTime().UnixNano(), size: fi.Size()}
}

// look examines key's file and parses it if its stamp changed since the
// last look. Only the key's single loader runs it.
func (c *Cache[K, A, V]) look(key K, arg A) (*look[V], error) {
	name, err := c.cfg.Name(key, arg)
	if err != nil {
		return nil, err
	}
	prev, _ := c.last.Load(key)
	// Stat before opening: opening a named pipe for reading would wait
	// for a writer forever, and an unchanged file need not be opened.
	st, err := c.examine(name)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.stamp == st {
		return prev, nil
	}
	if st.absent {
		l := &look[V]{val: c.cfg.Absent(key, arg, name), stamp: st}
		c.last.Store(key, l)
		return l, nil
	}
	f, err := c.cfg.FS.Open(name)
	if err != nil {
		return nil, &FileError{Op: "open", Name: name, Err: err}
	}
	defer func() { _ = f.Close() }()
	// The file may have been replaced since the stat: check what was
	// opened.
	fi, err := f.Stat()
	if err != nil {
		return nil, &FileError{Op: "stat", Name: name, Err: err}
	}
	if err := regfile.CheckRegular(name, fi); err != nil {
		return nil, &FileError{Op: "stat", Name: name, Err: err, Mode: fi.Mode().Type()}
	}
	if st = stampOf(name, fi); prev != nil && prev.stamp == st {
		return prev, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, c.cfg.MaxBytes+1))
	if err != nil {
		return nil, &FileError{Op: "read", Name: name, Err: err}
	}
	c.parses.Add(1)
	v, perr := c.cfg.Parse(key, arg, name, data)
	l := &look[V]{val: v, err: perr, stamp: st}
	c.last.Store(key, l)
	return l, nil
}

// Forget drops every cached key for which match returns true, so that the
// next Get for it looks at the file at once rather than after Recheck. A
// look under way for such a key is not interrupted.
func (c *Cache[K, A, V]) Forget(match func(K) bool) {
	if c.cache == nil {
		return // every Get looks at the file already
	}
	for k := range c.cache.All() {
		if match(k) {
			c.cache.Delete(k)
		}
	}
}

// Metrics returns the cache's counters: Loads counts looks at files,
// Entries the keys looked at within the last Recheck (with Recheck 0, the
// versions of files looked at within the last minute).
func (c *Cache[K, A, V]) Metrics() metrics.Snapshot {
	if c.cache == nil {
		return c.every.Metrics()
	}
	return c.cache.Metrics()
}

// Parses returns how many times a file has been parsed.
func (c *Cache[K, A, V]) Parses() int64 { return c.parses.Load() }

// Close stops the cache's background goroutine. The Cache must not be used
// afterwards.
func (c *Cache[K, A, V]) Close() {
	if c.cache == nil {
		c.every.Close()
		return
	}
	c.cache.Close()
}
