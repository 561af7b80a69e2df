package warmup_test

import (
	"context"
	"fmt"
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
