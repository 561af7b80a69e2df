package rediswrite

import (
	"context"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// Memory reads each master of a cluster: each fills on its own, with its
// own maxmemory and policy.
func TestMemoryReadsEveryMaster(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	ctx := context.Background()
	tg, err := Connect(ctx, config.RedisConfig{URL: c.URL()}, 8, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	for _, n := range c.Masters() {
		if err := n.Client.ConfigSet(ctx, "maxmemory", "64mb").Err(); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := tg.Memory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]bool{}
	for _, m := range ms {
		addrs[m.Addr] = true
		if m.Max != 64<<20 || m.Used <= 0 || m.Policy != "noeviction" || m.Free() != m.Max-m.Used || m.Evicts() {
			t.Errorf("master %+v", m)
		}
	}
	if len(ms) != 3 || len(addrs) != 3 {
		t.Fatalf("%d readings of %d masters, want 3", len(ms), len(addrs))
	}
}
