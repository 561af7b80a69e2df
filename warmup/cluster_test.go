package warmup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// clusterConfig is n items k:1..k:n at rate items a second (0: as fast
// as the cluster takes them), plus 100 users written as two keys that
// share a hash tag.
func clusterConfig(t *testing.T, n int, rate string) *config.Config {
	t.Helper()
	toml := fmt.Sprintf(`[run]
retries = 2
backoff = "20ms"
redis_wait = "30s"
timeout = "5s"

[[loader]]
name = "items"
items = { range = [1, %d] }
key = "k:{{.}}"
`, n)
	if rate != "" {
		toml += fmt.Sprintf("rate = %q\n", rate)
	}
	toml += `
[[loader]]
name = "profiles"
items = { range = [1, 100] }
key = "{user:{{.}}}:profile"

[[loader]]
name = "carts"
items = { range = [1, 100] }
key = "{user:{{.}}}:cart"
`
	return loadConfig(t, toml, nil, nil)
}

// checkCluster asserts that the cluster holds exactly want keys, each on
// the master that owns its slot, and that Slot agrees with Redis.
func checkCluster(t *testing.T, c *redistest.Cluster, want int) {
	t.Helper()
	ctx := context.Background()
	owner := c.SlotOwners()
	total := 0
	for m, keys := range c.Keys("*") {
		total += len(keys)
		for i, k := range keys {
			if owner[rediswrite.Slot(k)] != m.Addr() {
				t.Fatalf("key %s is on %s, slot %d is %s's", k, m.Addr(), rediswrite.Slot(k), owner[rediswrite.Slot(k)])
			}
			// A sample against Redis's own hash, which is slower to ask.
			if i%997 == 0 {
				if s, _ := m.Client.ClusterKeySlot(ctx, k).Result(); int(s) != rediswrite.Slot(k) {
					t.Fatalf("Slot(%q) = %d, Redis says %d", k, rediswrite.Slot(k), s)
				}
			}
		}
	}
	if total != want {
		t.Fatalf("%d keys in the cluster, want %d", total, want)
	}
	for u := 1; u <= 100; u++ {
		a, b := fmt.Sprintf("{user:%d}:profile", u), fmt.Sprintf("{user:%d}:cart", u)
		if owner[rediswrite.Slot(a)] != owner[rediswrite.Slot(b)] {
			t.Fatalf("%s and %s are on different masters", a, b)
		}
	}
}

// Pointed at one node of a 3-master cluster, a run sees the cluster and
// writes every key to the master that owns its slot, none rejected with
// MOVED; a run stopped part-way is finished by --retry-from, into the
// cluster too.
func TestClusterEveryKeyOnItsOwner(t *testing.T) {
	// Mostly waiting on servers: alongside the other cluster and sentinel tests.
	t.Parallel()
	c := redistest.StartCluster(t, 3, 0)
	const n = 100_000
	cfg := clusterConfig(t, n, "")
	if err := cfg.SetRedisURL(c.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	waitSettled(t, eng, 20_000)
	eng.Stop()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	for _, l := range rep.Loaders {
		// Stop may catch an item as it starts: it is interrupted, for
		// --retry-from; anything else is a failed write.
		for _, r := range l.RejectedItems {
			if r.Stage != warmup.StageInterrupted {
				t.Fatalf("rejected %s", mustJSON(t, r))
			}
		}
	}
	if rep.Topology != "cluster · 3 masters" {
		t.Fatalf("report topology %q", rep.Topology)
	}
	t.Logf("stopped with %d fulfilled, %d not started", rep.Fulfilled, rep.NotStarted)
	eng, rep = retryFrom(t, cfg, rep)
	checkExact(t, eng, rep)
	if rep.Fulfilled+rep.FulfilledBefore != n+200 || rep.Rejected != 0 || rep.NotStarted != 0 {
		t.Fatalf("after --retry-from: fulfilled %d (+%d before), rejected %d, not started %d", rep.Fulfilled, rep.FulfilledBefore, rep.Rejected, rep.NotStarted)
	}
	checkCluster(t, c, n+200)
}

// A resharding during a run (redis-cli --cluster reshard moving keys and
// slots between masters) loses nothing: MOVED and ASK are followed.
func TestClusterReshardDuringRun(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 0)
	const n = 15_000
	cfg := clusterConfig(t, n, "5000/s")
	if err := cfg.SetRedisURL(c.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	waitSettled(t, eng, 2000)
	ms := c.Masters()
	if err := c.Reshard(ms[0], ms[1], 1000); err != nil {
		t.Fatal(err)
	}
	if s := eng.Snapshot(); s.State == warmup.StateDone {
		t.Log("the run ended before the resharding did: it overlapped only in part")
	} else {
		t.Logf("resharded with %d items settled", s.Fulfilled+s.Rejected)
	}
	eng.Wait()
	rep := eng.Report()
	t.Logf("run took %.1fs", rep.Seconds)
	checkExact(t, eng, rep)
	if rep.Fulfilled != n+200 || rep.Rejected != 0 {
		t.Fatalf("fulfilled %d, rejected %d: %s", rep.Fulfilled, rep.Rejected, mustJSON(t, rep.Loaders))
	}
	checkCluster(t, c, n+200)
}

// A master failed over (CLUSTER FAILOVER) during a run: the run goes on,
// and at most one --retry-from later every key is in the cluster.
func TestClusterFailoverDuringRun(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 1)
	const n = 15_000
	cfg := clusterConfig(t, n, "5000/s")
	if err := cfg.SetRedisURL(c.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	waitSettled(t, eng, 2000)
	c.Failover(c.Masters()[0])
	eng.Wait()
	rep := eng.Report()
	t.Logf("run took %.1fs", rep.Seconds)
	checkExact(t, eng, rep)
	if rep.Rejected > 0 {
		t.Logf("%d rejected after the failover; retrying", rep.Rejected)
		_, rep = retryFrom(t, cfg, rep)
		if rep.Rejected != 0 {
			t.Fatalf("after --retry-from: %d rejected: %s", rep.Rejected, mustJSON(t, rep.Loaders))
		}
	}
	c.WaitOK()
	checkCluster(t, c, n+200)
}

// waitSettled waits until eng has settled at least n items.
func waitSettled(t *testing.T, eng *warmup.Engine, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := eng.Snapshot()
		if s.Fulfilled+s.Rejected >= n || s.State == warmup.StateDone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d items settled in 30s", s.Fulfilled+s.Rejected)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
