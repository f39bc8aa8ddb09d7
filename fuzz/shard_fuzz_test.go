package fuzz

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/mcpflow/mcpflow/shard"
)

type fuzzClock struct{ now time.Time }

func (c *fuzzClock) Now() time.Time { return c.now }

var errFuzzLoad = errors.New("fuzz: load failed")

// FuzzCacheDifferential decodes a sequence of cache operations from the
// input and runs it against shard.Cache and a plain map. The first byte
// picks the configuration: shard count, TTL (on an injected clock) and bound.
// Without a bound the two must agree on every result; with one, the cache
// may only lose keys, never return a wrong value, and must stay within it.
func FuzzCacheDifferential(f *testing.F) {
	f.Add([]byte{0, 1, 5, 9, 0, 5, 3, 5, 2, 5, 0, 5})
	f.Add([]byte{0x13, 1, 1, 1, 1, 2, 2, 1, 3, 3, 6, 0, 6, 4, 4, 4})
	f.Add([]byte{0x44, 3, 7, 7, 1, 7, 8, 0, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		conf := data[0]
		data = data[1:]
		clk := &fuzzClock{now: time.Unix(1_700_000_000, 0)}
		cfg := shard.Config{Shards: 1 << (conf & 3), Clock: clk}
		const ttl = 10 * time.Second
		withTTL := conf&4 != 0
		if withTTL {
			cfg.TTL = ttl
		}
		maxEntries := int(conf>>4) & 7
		cfg.MaxEntries = maxEntries
		c, err := shard.New[uint8, int](cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()

		type item struct {
			v       int
			expires time.Time
		}
		model := map[uint8]item{}
		liveIn := func(k uint8) (int, bool) {
			it, ok := model[k]
			if !ok || (withTTL && !clk.now.Before(it.expires)) {
				return 0, false
			}
			return it.v, true
		}
		put := func(k uint8, v int) { model[k] = item{v: v, expires: clk.now.Add(ttl)} }

		for i := 0; i+1 < len(data); i += 2 {
			opb, k := data[i], data[i+1]%32
			// Values are unique per step, so that a GetOrLoad that returns
			// the model's value was a hit, never a reload after an eviction
			// that happened to produce the same value (the model would then
			// keep the old expiry while the cache has a new one).
			v := i<<16 | int(opb)<<8 | int(k)
			switch opb % 8 {
			case 0:
				got, ok := c.Get(k)
				want, wok := liveIn(k)
				if ok && (!wok || got != want) {
					t.Fatalf("step %d: Get(%d) = %d, true; model has %d, %v", i, k, got, want, wok)
				}
				if !ok && wok && maxEntries == 0 {
					t.Fatalf("step %d: Get(%d) missed; model has %d", i, k, want)
				}
			case 1:
				c.Set(k, v)
				put(k, v)
			case 2:
				c.Delete(k)
				delete(model, k)
			case 3, 4:
				fail := opb%8 == 4
				got, err := c.GetOrLoad(context.Background(), k, func(context.Context, uint8) (int, error) {
					if fail {
						return 0, errFuzzLoad
					}
					return v, nil
				})
				want, wok := liveIn(k)
				switch {
				case wok && err == nil && got == want:
				case wok && maxEntries == 0:
					t.Fatalf("step %d: GetOrLoad(%d) = %d, %v; model has %d", i, k, got, err, want)
				case err != nil:
					if !fail {
						t.Fatalf("step %d: GetOrLoad(%d) failed: %v", i, k, err)
					}
					delete(model, k) // an expired entry may have been replaced and dropped
				default:
					if got != v {
						t.Fatalf("step %d: GetOrLoad(%d) = %d, want fresh load %d", i, k, got, v)
					}
					put(k, v)
				}
			case 5:
				clk.now = clk.now.Add(time.Duration(k) * time.Second)
			case 6:
				c.Sweep()
				maps.DeleteFunc(model, func(_ uint8, it item) bool { return withTTL && !clk.now.Before(it.expires) })
				if maxEntries == 0 && c.Len() != len(model) {
					t.Fatalf("step %d: Len after Sweep = %d, model %d", i, c.Len(), len(model))
				}
			case 7:
				if k%4 == 0 {
					c.Clear()
					clear(model)
				}
				for key, got := range c.All() {
					if want, ok := liveIn(key); !ok || got != want {
						t.Fatalf("step %d: All yielded %d=%d; model %d, %v", i, key, got, want, ok)
					}
				}
			}
			if maxEntries > 0 && c.Len() > maxEntries {
				t.Fatalf("step %d: Len %d over MaxEntries %d", i, c.Len(), maxEntries)
			}
		}
	})
}
