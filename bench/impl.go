package bench

import (
	"context"
	"errors"
	"sync"

	theine "github.com/Yiling-J/theine-go"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/maypok86/otter/v2"
	"github.com/puzpuzpuz/xsync/v4"

	"github.com/mcpflow/mcpflow/internal/baseline"
	"github.com/mcpflow/mcpflow/metrics"
	"github.com/mcpflow/mcpflow/shard"
)

// Loader produces the value for a key that a GetOrLoad did not find.
type Loader func(ctx context.Context, key string) (int, error)

// Options configures one cache for one benchmark.
type Options struct {
	// Capacity is the number of entries a bounded cache must be able to
	// hold. Unbounded implementations ignore it.
	Capacity int
	// Load is what GetOrLoad calls on a miss. It may be nil when the
	// workload never calls GetOrLoad.
	Load Loader
}

// Cache is the surface every benchmark drives. Each implementation maps it
// onto its own API; see Impl.LoaderAPI for what GetOrLoad calls.
type Cache interface {
	// Get returns the value for k without loading.
	Get(k string) (int, bool)
	// Set stores v for k and reports whether the implementation accepted the
	// write (ristretto may drop a Set and says so).
	Set(k string, v int) bool
	// GetOrLoad returns the value for k, calling Options.Load on a miss.
	GetOrLoad(ctx context.Context, k string) (int, error)
	// Wait blocks until buffered writes are applied, where the
	// implementation buffers them and offers a way to wait; else it returns.
	Wait()
	// Close releases the implementation's goroutines, if it has any.
	Close()
}

// Impl describes one implementation under test.
type Impl struct {
	// Name is the sub-benchmark name (impl=Name).
	Name string
	// Bounded reports whether the implementation evicts to a capacity.
	Bounded bool
	// LoadVariant marks an implementation that differs from another one
	// only in its GetOrLoad; workloads that never load skip it.
	LoadVariant bool
	// Diagnostic marks a variant that exists only to explain another
	// row (shard.Cache without its metrics); only the throughput and
	// get-or-load hit workloads run it.
	Diagnostic bool
	// Waits reports whether Wait does anything.
	Waits bool
	// LoaderAPI names what GetOrLoad calls.
	LoaderAPI string
	// New builds one cache.
	New func(Options) Cache
}

// errNoLoader is returned by GetOrLoad on a cache built without a Loader.
var errNoLoader = errors.New("bench: GetOrLoad on a cache built without Options.Load")

func loaderOf(o Options) Loader {
	if o.Load != nil {
		return o.Load
	}
	return func(context.Context, string) (int, error) { return 0, errNoLoader }
}

// Impls returns every implementation, shard.Cache first.
func Impls() []Impl {
	return []Impl{
		{Name: "shard", LoaderAPI: "shard.Cache.GetOrLoad (unbounded, default config)", New: newShard(false)},
		{Name: "shard-bounded", Bounded: true, LoaderAPI: "shard.Cache.GetOrLoad (MaxEntries = capacity)", New: newShard(true)},
		{Name: "shard-nostats", Diagnostic: true, LoaderAPI: "shard.Cache.GetOrLoad (unbounded, Recorder: metrics.NoOp{})", New: newShardNoStats},
		{Name: "otter", Bounded: true, LoaderAPI: "otter.Cache.Get with a Loader", New: newOtter(false)},
		{Name: "otter-compute", Bounded: true, LoadVariant: true, LoaderAPI: "otter.Cache.ComputeIfAbsent", New: newOtter(true)},
		{Name: "theine", Bounded: true, Waits: true, LoaderAPI: "theine LoadingCache.Get", New: newTheine},
		{Name: "ristretto", Bounded: true, Waits: true, LoaderAPI: "none: Get, then load and Set on a miss (no coalescing)", New: newRistretto},
		{Name: "xsync", LoaderAPI: "xsync.Map.LoadOrCompute", New: newXsync},
		{Name: "syncmap", LoaderAPI: "none: Load, then load and LoadOrStore on a miss (no coalescing)", New: newSyncMap},
		{Name: "baseline", LoaderAPI: "baseline.Cache.GetOrLoad (load under the write lock)", New: newBaseline},
	}
}

// funcs is a Cache made of the functions an adapter fills in, so that
// every implementation is reached through the same one indirect call.
type funcs struct {
	get       func(k string) (int, bool)
	set       func(k string, v int) bool
	getOrLoad func(ctx context.Context, k string) (int, error)
	wait      func()
	close     func()
}

// Get calls the adapter's get.
func (f *funcs) Get(k string) (int, bool) { return f.get(k) }

// Set calls the adapter's set.
func (f *funcs) Set(k string, v int) bool { return f.set(k, v) }

// GetOrLoad calls the adapter's get-or-load.
func (f *funcs) GetOrLoad(ctx context.Context, k string) (int, error) { return f.getOrLoad(ctx, k) }

// Wait calls the adapter's wait, if it has one.
func (f *funcs) Wait() {
	if f.wait != nil {
		f.wait()
	}
}

// Close calls the adapter's close, if it has one.
func (f *funcs) Close() {
	if f.close != nil {
		f.close()
	}
}

// mustShard is shard.New for the adapters' fixed configurations, which
// are valid.
func mustShard(cfg shard.Config) *shard.Cache[string, int] {
	c, err := shard.New[string, int](cfg)
	if err != nil {
		panic(err)
	}
	return c
}

func newShard(bounded bool) func(Options) Cache {
	return func(o Options) Cache {
		cfg := shard.Config{}
		if bounded {
			cfg.MaxEntries = o.Capacity
		}
		c := mustShard(cfg)
		load := loaderOf(o)
		return &funcs{
			get: c.Get,
			set: func(k string, v int) bool { c.Set(k, v); return true },
			// GetOrLoad takes a load built once, as otter's Loader is.
			getOrLoad: func(ctx context.Context, k string) (int, error) { return c.GetOrLoad(ctx, k, load) },
			close:     c.Close,
		}
	}
}

func newShardNoStats(o Options) Cache {
	c := mustShard(shard.Config{Recorder: metrics.NoOp{}})
	load := loaderOf(o)
	return &funcs{
		get:       c.Get,
		set:       func(k string, v int) bool { c.Set(k, v); return true },
		getOrLoad: func(ctx context.Context, k string) (int, error) { return c.GetOrLoad(ctx, k, load) },
		close:     c.Close,
	}
}

func newOtter(compute bool) func(Options) Cache {
	return func(o Options) Cache {
		c := otter.Must(&otter.Options[string, int]{MaximumSize: o.Capacity})
		load := loaderOf(o)
		loader := otter.LoaderFunc[string, int](load)
		f := &funcs{
			get:       c.GetIfPresent,
			set:       func(k string, v int) bool { c.Set(k, v); return true },
			getOrLoad: func(ctx context.Context, k string) (int, error) { return c.Get(ctx, k, loader) },
			close:     func() { c.StopAllGoroutines() },
		}
		if compute {
			f.getOrLoad = func(ctx context.Context, k string) (int, error) {
				var err error
				v, _ := c.ComputeIfAbsent(k, func() (int, bool) {
					var nv int
					nv, err = load(ctx, k)
					return nv, err != nil
				})
				return v, err
			}
		}
		return f
	}
}

// newTheine builds a plain cache, or a loading cache when Options.Load is
// set: theine fixes the loader when the cache is built, and its loading
// cache has no Get that does not load, so Get on it loads a missing key.
func newTheine(o Options) Cache {
	b := theine.NewBuilder[string, int](int64(o.Capacity))
	if o.Load == nil {
		c, err := b.Build()
		if err != nil {
			panic(err)
		}
		return &funcs{
			get:       c.Get,
			set:       func(k string, v int) bool { return c.Set(k, v, 1) },
			getOrLoad: func(context.Context, string) (int, error) { return 0, errNoLoader },
			wait:      c.Wait,
			close:     c.Close,
		}
	}
	load := o.Load
	c, err := b.BuildWithLoader(func(ctx context.Context, k string) (theine.Loaded[int], error) {
		v, err := load(ctx, k)
		return theine.Loaded[int]{Value: v, Cost: 1}, err
	})
	if err != nil {
		panic(err)
	}
	return &funcs{
		get: func(k string) (int, bool) {
			v, err := c.Get(context.Background(), k)
			return v, err == nil
		},
		set:       func(k string, v int) bool { return c.Set(k, v, 1) },
		getOrLoad: c.Get,
		wait:      c.Wait,
		close:     c.Close,
	}
}

func newRistretto(o Options) Cache {
	c, err := ristretto.NewCache(&ristretto.Config[string, int]{
		NumCounters: int64(10 * o.Capacity), // ten counters per entry, as its docs advise
		MaxCost:     int64(o.Capacity),
		BufferItems: 64, // its documented default
		// Every entry costs 1, so MaxCost counts entries.
		IgnoreInternalCost: true,
	})
	if err != nil {
		panic(err)
	}
	load := loaderOf(o)
	return &funcs{
		get: c.Get,
		set: func(k string, v int) bool { return c.Set(k, v, 1) },
		getOrLoad: func(ctx context.Context, k string) (int, error) {
			if v, ok := c.Get(k); ok {
				return v, nil
			}
			v, err := load(ctx, k)
			if err != nil {
				return v, err
			}
			c.Set(k, v, 1)
			return v, nil
		},
		wait:  c.Wait,
		close: c.Close,
	}
}

func newXsync(o Options) Cache {
	m := xsync.NewMap[string, int]()
	load := loaderOf(o)
	return &funcs{
		get: m.Load,
		set: func(k string, v int) bool { m.Store(k, v); return true },
		getOrLoad: func(ctx context.Context, k string) (int, error) {
			var err error
			v, _ := m.LoadOrCompute(k, func() (int, bool) {
				var nv int
				nv, err = load(ctx, k)
				return nv, err != nil
			})
			return v, err
		},
	}
}

func newSyncMap(o Options) Cache {
	var m sync.Map
	load := loaderOf(o)
	return &funcs{
		get: func(k string) (int, bool) {
			v, ok := m.Load(k)
			if !ok {
				return 0, false
			}
			return v.(int), true
		},
		set: func(k string, v int) bool { m.Store(k, v); return true },
		getOrLoad: func(ctx context.Context, k string) (int, error) {
			if v, ok := m.Load(k); ok {
				return v.(int), nil
			}
			v, err := load(ctx, k)
			if err != nil {
				return v, err
			}
			actual, _ := m.LoadOrStore(k, v)
			return actual.(int), nil
		},
	}
}

func newBaseline(o Options) Cache {
	c := baseline.New[string, int]()
	load := loaderOf(o)
	return &funcs{
		get: c.Get,
		set: func(k string, v int) bool { c.Set(k, v); return true },
		getOrLoad: func(ctx context.Context, k string) (int, error) {
			return c.GetOrLoad(ctx, k, load)
		},
	}
}

// Populate stores keys[i] = i for every key and makes sure each is present:
// it waits for buffered writes and stores again, up to rounds times, any key
// that an implementation dropped. It returns how many keys are still
// missing.
func Populate(c Cache, keys []string, rounds int) int {
	for i, k := range keys {
		c.Set(k, i)
	}
	missing := 0
	for range rounds {
		c.Wait()
		missing = 0
		for i, k := range keys {
			if _, ok := c.Get(k); !ok {
				missing++
				c.Set(k, i)
			}
		}
		if missing == 0 {
			return 0
		}
	}
	c.Wait()
	missing = 0
	for _, k := range keys {
		if _, ok := c.Get(k); !ok {
			missing++
		}
	}
	return missing
}
