package shard

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// modelMap is the reference: a plain map behind a mutex, with the cache's
// documented semantics for an unbounded cache without TTL.
type modelMap struct {
	mu sync.Mutex
	m  map[int]int
}

func (m *modelMap) apply(op op) result {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch op.kind {
	case opGet:
		v, ok := m.m[op.key]
		return result{v: v, ok: ok}
	case opSet:
		m.m[op.key] = op.val
	case opDelete:
		delete(m.m, op.key)
	case opLoad:
		if v, ok := m.m[op.key]; ok {
			return result{v: v, ok: true}
		}
		if op.fail {
			return result{err: true}
		}
		m.m[op.key] = op.val
		return result{v: op.val, ok: true}
	case opLen:
		return result{v: len(m.m)}
	case opClear:
		clear(m.m)
	case opAll:
		return result{all: maps.Clone(m.m)}
	}
	return result{}
}

type opKind int

const (
	opGet opKind = iota
	opSet
	opDelete
	opLoad
	opLen
	opClear
	opAll
	numOps
)

type op struct {
	kind opKind
	key  int
	val  int
	fail bool
}

func (o op) String() string {
	return fmt.Sprintf("{%d %d %d %v}", o.kind, o.key, o.val, o.fail)
}

type result struct {
	v   int
	ok  bool
	err bool
	all map[int]int
}

var errModelLoad = errors.New("model load failed")

func applyCache(c *Cache[int, int], o op) result {
	switch o.kind {
	case opGet:
		v, ok := c.Get(o.key)
		return result{v: v, ok: ok}
	case opSet:
		c.Set(o.key, o.val)
	case opDelete:
		c.Delete(o.key)
	case opLoad:
		v, err := c.GetOrLoad(context.Background(), o.key, func(context.Context, int) (int, error) {
			if o.fail {
				return 0, errModelLoad
			}
			return o.val, nil
		})
		if err != nil {
			return result{err: true}
		}
		return result{v: v, ok: true}
	case opLen:
		return result{v: c.Len()}
	case opClear:
		c.Clear()
	case opAll:
		return result{all: maps.Collect(c.All())}
	}
	return result{}
}

// randomOps draws a sequence of operations. Clear is rare, so that the maps
// grow and shrink through several table resizes.
func randomOps(r *rand.Rand, n, keys int) []op {
	ops := make([]op, n)
	for i := range ops {
		k := opKind(r.IntN(int(numOps)))
		if k == opClear && r.IntN(20) != 0 {
			k = opSet
		}
		ops[i] = op{kind: k, key: r.IntN(keys), val: r.Int(), fail: r.IntN(4) == 0}
	}
	return ops
}

func TestModelCheck(t *testing.T) {
	hashes := map[string]func(int) uint64{
		"xxhash":     nil,
		"constHash1": constHash[int],
	}
	for _, shards := range []int{1, 4, 16} {
		for name, h := range hashes {
			t.Run(fmt.Sprintf("shards=%d/%s", shards, name), func(t *testing.T) {
				for seed := range uint64(40) {
					r := rand.New(rand.NewPCG(seed, 7))
					c := newTestCache[int, int](Config{Shards: shards}, h)
					model := &modelMap{m: map[int]int{}}
					for i, o := range randomOps(r, 600, 1+r.IntN(300)) {
						want, got := model.apply(o), applyCache(c, o)
						require.Equal(t, want, got, "seed %d, step %d, op %v", seed, i, o)
					}
				}
			})
		}
	}
}

// TestModelCheckBounded checks a bounded cache against the model with the
// one difference a bound allows: a key may be missing because it was
// evicted. A value that is present must be the model's value, and the cache
// must never hold more than MaxEntries entries when no insert is running.
func TestModelCheckBounded(t *testing.T) {
	for _, h := range []func(int) uint64{nil, constHash[int]} {
		for seed := range uint64(30) {
			r := rand.New(rand.NewPCG(seed, 11))
			maxEntries := 1 + r.IntN(40)
			c := newTestCache[int, int](Config{MaxEntries: maxEntries, Shards: 1 << r.IntN(3)}, h)
			model := map[int]int{}
			for i, o := range randomOps(r, 800, 100) {
				switch o.kind {
				case opGet:
					v, ok := c.Get(o.key)
					if ok {
						require.Equal(t, model[o.key], v, "seed %d step %d: Get(%d)", seed, i, o.key)
					}
				case opSet:
					c.Set(o.key, o.val)
					model[o.key] = o.val
				case opDelete:
					c.Delete(o.key)
					delete(model, o.key)
				case opLoad:
					v, err := c.GetOrLoad(t.Context(), o.key, func(context.Context, int) (int, error) {
						if o.fail {
							return 0, errModelLoad
						}
						return o.val, nil
					})
					if err == nil {
						// Either the stored value, or a fresh load after eviction.
						if mv, ok := model[o.key]; ok && v != o.val {
							require.Equal(t, mv, v, "seed %d step %d: GetOrLoad(%d)", seed, i, o.key)
						}
						model[o.key] = v
					}
				case opClear:
					c.Clear()
					clear(model)
				case opAll:
					for k, v := range c.All() {
						require.Equal(t, model[k], v, "seed %d step %d: All yielded %d", seed, i, k)
					}
				}
				require.LessOrEqual(t, c.Len(), maxEntries, "seed %d step %d: bound exceeded", seed, i)
			}
		}
	}
}
