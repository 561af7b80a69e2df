package warmup_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// Through sentinels, a run writes to the master they name; a SENTINEL
// FAILOVER during the run is followed: items caught by the switch are
// written again, and at the end every key is on the new master.
func TestSentinelFailoverDuringRun(t *testing.T) {
	// Mostly waiting on servers: alongside the other cluster and sentinel tests.
	t.Parallel()
	s := redistest.StartSentinel(t)
	const n = 15_000
	cfg := loadConfig(t, `[run]
retries = 2
backoff = "20ms"
redis_wait = "30s"
timeout = "5s"

[[loader]]
name = "items"
items = { range = [1, 15000] }
key = "k:{{.}}"
rate = "5000/s"
`, nil, nil)
	if err := cfg.SetRedisURL(s.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	first := s.Master.Addr()
	if got := eng.Snapshot().Topology; got != "sentinel mymaster "+first {
		t.Fatalf("topology %q before the failover", got)
	}
	eng.Start()
	waitSettled(t, eng, 2000)
	s.Failover()
	eng.Wait()
	rep := eng.Report()
	t.Logf("run took %.1fs", rep.Seconds)
	checkExact(t, eng, rep)
	if rep.Fulfilled != n || rep.Rejected != 0 {
		t.Fatalf("fulfilled %d, rejected %d: %s", rep.Fulfilled, rep.Rejected, mustJSON(t, rep.Loaders))
	}
	if keys := s.Master.Keys("k:*"); len(keys) != n {
		t.Fatalf("the new master %s holds %d keys, want %d", s.Master.Addr(), len(keys), n)
	}
	if !strings.HasPrefix(rep.Topology, "sentinel mymaster") {
		t.Fatalf("report topology %q", rep.Topology)
	}
	if s.Master.Addr() == first {
		t.Fatal("no failover happened")
	}
}

// A sentinel-managed master with no replica cannot have a write
// confirmed: none counts as written (a replica may attach and be promoted
// at any moment), the run waits for one as for an outage, then stops
// saying why.
func TestSentinelMasterWithoutReplica(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	s.Replica.Kill()
	for deadline := time.Now().Add(10 * time.Second); ; {
		role, err := s.Master.Client.Do(t.Context(), "ROLE").Slice()
		if err == nil && len(role) >= 3 && len(role[2].([]any)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master still lists its replica: %v %v", role, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg := loadConfig(t, `[run]
redis_wait = "1s"
timeout = "1s"
[[loader]]
name = "items"
items = { range = [1, 500] }
key = "k:{{.}}"
`, nil, nil)
	if err := cfg.SetRedisURL(s.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	// The outage keeps its first cause (the write's: "confirmed by 0 of 1
	// replicas"), which the probes' "no replica to confirm writes" does
	// not replace: one outage, one cause.
	if rep.Fulfilled != 0 || eng.ExitCode() == 0 || !strings.Contains(rep.Stopped, "replica") {
		t.Fatalf("fulfilled %d, exit %d, stopped %q", rep.Fulfilled, eng.ExitCode(), rep.Stopped)
	}
}

// Sentinels that ask for a password of their own: with it in
// sentinel_password_file the run writes to the master they name, and the
// password shows nowhere; without it, the run cannot start and says
// where the password goes, even with the first sentinel down.
func TestSentinelWithItsOwnPassword(t *testing.T) {
	t.Parallel()
	const pw = "sentinel-s3cret"
	s := redistest.StartSentinelAuth(t, pw)
	sentinels := strings.TrimPrefix(s.URL(), "redis+sentinel://")
	sentinels = sentinels[:strings.LastIndex(sentinels, "/")]
	table := `[redis]
sentinel = { master = "mymaster", addrs = ["` + strings.ReplaceAll(sentinels, ",", `", "`) + `"] }
%s
[[loader]]
name = "items"
items = { range = [1, 300] }
key = "k:{{.}}"
`
	cfg := loadConfig(t, fmt.Sprintf(table, `sentinel_password_file = "sentinel.pw"`), map[string]string{"sentinel.pw": pw + "\n"}, nil)
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if rep.Fulfilled != 300 || eng.ExitCode() != 0 || len(s.Master.Keys("k:*")) != 300 {
		t.Fatalf("fulfilled %d, exit %d, %d keys on the master", rep.Fulfilled, eng.ExitCode(), len(s.Master.Keys("k:*")))
	}
	if b := mustJSON(t, rep); strings.Contains(b, pw) {
		t.Fatalf("the report shows the sentinels' password: %s", b)
	}

	// The first sentinel down, the others still say why.
	s.Sentinels[0].Kill()
	cfg = loadConfig(t, fmt.Sprintf(table, ""), nil, nil)
	_, err := rediswrite.Connect(t.Context(), cfg.Redis, 8, cfg.Run.Timeout)
	if err == nil || !strings.Contains(err.Error(), "sentinel_password_file") || strings.Contains(err.Error(), pw) {
		t.Fatalf("without the sentinels' password: %v", err)
	}
}
