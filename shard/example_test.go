package shard_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mcpflow/mcpflow/shard"
)

func Example() {
	c, err := shard.New[string, string](shard.Config{TTL: time.Hour, MaxEntries: 10_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	load := func(context.Context, string) (string, error) {
		// Read a file, query a database... Runs once per key however many
		// goroutines ask at the same time.
		return "parsed gate for phase 1", nil
	}
	v, err := c.GetOrLoad(context.Background(), "feature_delivery/1", load)
	fmt.Println(v, err)

	v, ok := c.Get("feature_delivery/1")
	fmt.Println(v, ok)

	m := c.Metrics()
	fmt.Printf("loads=%d misses=%d hits=%d entries=%d\n", m.Loads, m.Misses, m.Hits, m.Entries)
	// Output:
	// parsed gate for phase 1 <nil>
	// parsed gate for phase 1 true
	// loads=1 misses=1 hits=1 entries=1
}
