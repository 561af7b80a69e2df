package warmup_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// Redis killed (SIGKILL) and started again within run.redis_wait, while a
// JSONL file is written. Without persistence it comes back empty: the
// keys it had acknowledged are gone, the run sees the new run_id, says
// so, re-checks the keys it wrote, writes the missing ones again, and
// ends with every key there and exit 0. With an append-only file synced
// on every write, nothing is lost: one check pass, exit 0.
func TestRedisRestartedInsideRedisWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		n     int
		args  []string
		lost  bool
		after int64
	}{
		{"no persistence", 500_000, nil, true, 100_000},
		{"append-only file", 100_000, []string{"--appendonly", "yes", "--appendfsync", "always"}, false, 20_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.args...)
			dir := writeFiles(t, map[string]string{"items.jsonl": jsonlLines(tc.n)})
			cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
timeout = "2s"
redis_wait = "60s"
[[loader]]
name = "items"
items = { file = %q }
key = "r:{{.id}}"
`, dir+"/items.jsonl"), nil, nil)
			eng := startAgainst(t, srv, cfg, warmup.Options{})
			waitSettled(t, eng, tc.after)
			srv.Kill()
			if s := eng.Snapshot(); s.Fulfilled < tc.after {
				eng.Wait()
				t.Fatalf("%d fulfilled when Redis was killed: %s", s.Fulfilled, firstRejections(t, eng.Report()))
			}
			waitState(t, eng, warmup.StateWaiting)
			srv.Restart()
			eng.Wait()
			rep := eng.Report()
			checkExact(t, eng, rep)
			size, err := srv.Client.DBSize(context.Background()).Result()
			if err != nil {
				t.Fatal(err)
			}
			rc := rep.Restarts
			t.Logf("%.1fs, exit %d, %d fulfilled, DBSIZE %d, restarts %s", rep.Seconds, eng.ExitCode(), rep.Fulfilled, size, mustJSON(t, rc))
			if eng.ExitCode() != 0 || rep.Fulfilled != int64(tc.n) || size != int64(tc.n) {
				t.Fatalf("exit %d, %d fulfilled, DBSIZE %d, want exit 0 and %d of both: %s", eng.ExitCode(), rep.Fulfilled, size, tc.n, firstRejections(t, rep))
			}
			if rc == nil || rc.Restarts != 1 || len(rc.Events) != 1 {
				t.Fatalf("the report says %s of the restart", mustJSON(t, rc))
			}
			ev := rc.Events[0]
			if ev.Addr != srv.Addr() || ev.NewAddr != srv.Addr() || ev.RunID == ev.NewRunID || !strings.HasPrefix(ev.String(), "redis restarted at ") {
				t.Errorf("restart event %s: %q", mustJSON(t, ev), ev)
			}
			if rc.Checked < tc.after || (rc.Lost > 0) != tc.lost || rc.Unverified != 0 {
				t.Errorf("re-checked %d keys (at least %d were written before the restart), %d lost, %d unverified", rc.Checked, tc.after, rc.Lost, rc.Unverified)
			}
			checkKeyspace(t, srv, "r:%d", tc.n, func(i int) string { return fmt.Sprintf(`{"id":%d}`, i) })
		})
	}
}

// A cluster master killed (SIGKILL) during a run and replaced by its
// replica, which may not have received its last writes (replication is
// asynchronous): the run re-checks the keys of that master's slots only,
// writes the missing ones again, and every key is in the cluster at the
// end.
func TestClusterMasterKilledAndReplaced(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 1)
	const n = 60_000
	cfg := clusterConfig(t, n, "20000/s")
	if err := cfg.SetRedisURL(c.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	waitSettled(t, eng, 10_000)
	victim := c.Masters()[0]
	victim.Kill()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	rc := rep.Restarts
	t.Logf("%.1fs, exit %d, restarts %s", rep.Seconds, eng.ExitCode(), mustJSON(t, rc))
	if eng.ExitCode() != 0 || rep.Fulfilled != n+200 {
		t.Fatalf("exit %d, %d fulfilled: %s", eng.ExitCode(), rep.Fulfilled, firstRejections(t, rep))
	}
	if rc == nil || len(rc.Events) != 1 || rc.Events[0].Addr != victim.Addr() || rc.Events[0].NewAddr == victim.Addr() {
		t.Fatalf("the report says %s of %s's failover", mustJSON(t, rc), victim.Addr())
	}
	// A third of the slots were in doubt: far fewer keys than the run
	// wrote are re-checked.
	if rc.Checked == 0 || rc.Checked > rep.Fulfilled/2 || rc.Unverified != 0 {
		t.Fatalf("re-checked %d keys of %d, %d unverified", rc.Checked, rep.Fulfilled, rc.Unverified)
	}
	c.WaitOK()
	checkCluster(t, c, n+200)
}

// A sentinel failover during a run: the master the sentinels name now is
// another process; the run says so and re-checks its keys there.
func TestSentinelFailoverRechecks(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	const n = 30_000
	cfg := loadConfig(t, `[run]
retries = 2
backoff = "20ms"
redis_wait = "30s"
timeout = "5s"

[[loader]]
name = "items"
items = { range = [1, 30000] }
key = "k:{{.}}"
rate = "10000/s"
`, nil, nil)
	if err := cfg.SetRedisURL(s.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	first := s.Master.Addr()
	eng.Start()
	waitSettled(t, eng, 5000)
	s.Failover()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	rc := rep.Restarts
	t.Logf("%.1fs, exit %d, restarts %s", rep.Seconds, eng.ExitCode(), mustJSON(t, rc))
	if eng.ExitCode() != 0 || rep.Fulfilled != n {
		t.Fatalf("exit %d, %d fulfilled: %s", eng.ExitCode(), rep.Fulfilled, firstRejections(t, rep))
	}
	if rc == nil || len(rc.Events) == 0 || rc.Events[0].Addr != first || rc.Events[0].NewAddr != s.Master.Addr() {
		t.Fatalf("the report says %s of the failover from %s to %s", mustJSON(t, rc), first, s.Master.Addr())
	}
	if rc.Checked < 5000 || rc.Unverified != 0 {
		t.Fatalf("re-checked %d keys, %d unverified", rc.Checked, rc.Unverified)
	}
	if keys := s.Master.Keys("k:*"); len(keys) != n {
		t.Fatalf("the new master %s holds %d keys, want %d", s.Master.Addr(), len(keys), n)
	}
}

// A restart that no failed write reveals: Redis restarts empty after the
// last write, while the last item's fetch is under way (it is then
// rejected, 404, and writes nothing). The run reads the identity once
// more as it settles, sees the restart, and writes the lost keys again.
func TestRestartSeenWhenTheRunSettles(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if path == "/50" {
			srv.Restart()
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "v%s", path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 1
retries = 0
[[loader]]
name = "k"
items = { range = [1, 50] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	rc := rep.Restarts
	// Item 49's write may go to the new Redis while item 50 is fetched.
	if rep.Fulfilled != 49 || rep.Rejected != 1 || rc == nil || rc.Restarts != 1 || rc.Checked != 49 || rc.Lost < 48 {
		t.Fatalf("%d fulfilled, %d rejected, restarts %s", rep.Fulfilled, rep.Rejected, mustJSON(t, rc))
	}
	checkKeyspace(t, srv, "k:%d", 49, func(i int) string { return fmt.Sprintf("v/%d", i) })
}

// A Redis restarted between a run and its --retry-from (or while the run
// was stopped, its keys in doubt) cannot be taken at the earlier run's
// word: the retry re-checks the earlier runs' keys and writes the lost
// ones again, so exit 0 still means every key is there.
func TestRetryFromAfterARedisRestartBetweenRuns(t *testing.T) {
	srv := redistest.Start(t, "--save", "")
	cfg := loadConfig(t, `
[[loader]]
name = "r"
items = { range = [1, 3000] }
key = "r:{{.}}"
`, nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	if rep.Fulfilled != 3000 || len(rep.RedisProcesses) != 1 || rep.KeysInDoubt {
		t.Fatalf("first run: %d fulfilled, processes %v, in doubt %v", rep.Fulfilled, rep.RedisProcesses, rep.KeysInDoubt)
	}

	// The same process: nothing to re-check, nothing written.
	eng, rep2 := retryFrom(t, cfg, rep)
	if eng.ExitCode() != 0 || rep2.Restarts != nil || rep2.FulfilledBefore != 3000 {
		t.Fatalf("retry against the same Redis: exit %d, restarts %+v, before %d", eng.ExitCode(), rep2.Restarts, rep2.FulfilledBefore)
	}

	srv.Restart() // empty, with another run_id
	eng, rep3 := retryFrom(t, cfg, rep2)
	if n := srv.Client.DBSize(context.Background()).Val(); n != 3000 || eng.ExitCode() != 0 {
		t.Fatalf("retry after a restart: exit %d with %d keys in Redis, want 0 with 3000", eng.ExitCode(), n)
	}
	if rep3.Restarts == nil || rep3.Restarts.Lost != 3000 || rep3.KeysInDoubt {
		t.Fatalf("retry after a restart: restarts %+v, in doubt %v", rep3.Restarts, rep3.KeysInDoubt)
	}
}
