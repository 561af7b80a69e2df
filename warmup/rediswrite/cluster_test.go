package rediswrite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup/config"
)

// Connect sees a cluster behind a plain URL; one pipeline spread over
// the masters fails exactly the commands of the master that is down, and
// every other command is written.
func TestClusterNodeFailureFailsOnlyItsCommands(t *testing.T) {
	c := redistest.StartCluster(t, 3, 0)
	ctx := context.Background()
	tg, err := Connect(ctx, config.RedisConfig{URL: c.URL()}, 8, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if !tg.IsCluster() || tg.Topology() != "cluster · 3 masters" {
		t.Fatalf("cluster %v, topology %q", tg.IsCluster(), tg.Topology())
	}
	// The eviction warning reads a cluster's config too.
	for _, n := range c.Nodes {
		if err := n.Client.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if w := EvictionWarning(ctx, tg); !strings.Contains(w, "allkeys-lru") {
		t.Fatalf("eviction warning %q", w)
	}
	owner := c.SlotOwners()
	dead := c.Masters()[2]
	dead.Kill()

	out := collect(t, tg, opsFor(300, func(i int) string { return fmt.Sprintf("k:%d", i) }))
	var failed, written int
	for key, err := range out {
		onDead := owner[Slot(key)] == dead.Addr()
		switch {
		case onDead && err == nil:
			t.Fatalf("%s is on the killed master but was written", key)
		case onDead && Classify(err) != Unavailable:
			t.Fatalf("%s on the killed master: %v is %s, want unavailable", key, err, Classify(err))
		case !onDead && err != nil:
			t.Fatalf("%s is on a live master but failed: %v", key, err)
		case onDead:
			failed++
		default:
			written++
		}
	}
	if failed == 0 || written == 0 {
		t.Fatalf("%d failed, %d written: the keys should span the masters", failed, written)
	}
	if cause := CauseAt(tg.Addr(), out[firstOn(out, owner, dead.Addr())], time.Second); cause != "redis "+dead.Addr()+": connection refused" {
		t.Fatalf("cause %q does not name the dead node", cause)
	}
}

func firstOn(out map[string]error, owner []string, addr string) string {
	for k := range out {
		if owner[Slot(k)] == addr {
			return k
		}
	}
	return ""
}
