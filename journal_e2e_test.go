package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// TestKillNineThenResume kills cachewarm (SIGKILL: no report, no
// cleanup) at three moments of a fetch run, resuming each time, and
// checks what a user relies on: every key is in Redis, the final report's
// counts are an uninterrupted run's, an unfinished journal is never
// overwritten without a word, and each crash costs the origin at most the
// items in flight and a second's worth of fetches again.
func TestKillNineThenResume(t *testing.T) {
	const n, rate, failing = 12000, 4000, 12 // items, fetches per second, items answered 500
	srv := redistest.Start(t)
	var requests atomic.Int64
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var id int
		fmt.Sscanf(r.URL.Path, "/p/%d", &id)
		if id%(n/failing) == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"id":%d}`, id)
	}))
	defer o.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://%s/0"
[run]
retries = 0
concurrency = 32
[[loader]]
name = "p"
items = { range = [1, %d] }
key = "p:{{.}}"
fetch = { url = "%s/p/{{.}}" }
rate = "%d/s"
`, srv.Addr(), n, o.URL, rate), map[string]string{})
	bin := buildBinary(t)
	jpath := filepath.Join(t.TempDir(), "run.journal")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	keys := func() int64 { return rdb.DBSize(ctx).Val() }

	// runUntil starts cachewarm and kills it -9 once Redis holds at least
	// atKeys keys.
	runUntil := func(atKeys int64, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--config", cfg, "--plain", "--journal", jpath}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		for keys() < atKeys {
			select {
			case err := <-exited:
				t.Fatalf("cachewarm %v ended (%v) before it was killed: %s", args, err, stderr.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
		cmd.Process.Kill()
		<-exited
	}

	runUntil(n / 5)
	// A run that finds the journal unfinished says so and names the
	// command, instead of starting over.
	out, err := exec.Command(bin, "--config", cfg, "--plain", "--journal", jpath).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "--resume") {
		t.Fatalf("run over an unfinished journal: exit %d: %s", code, out)
	}
	runUntil(n/2, "--resume")
	runUntil(4*n/5, "--resume")
	report := filepath.Join(t.TempDir(), "report.json")
	out, err = exec.Command(bin, "--config", cfg, "--plain", "--journal", jpath, "--resume", "--report", report).CombinedOutput()
	if code := exitCode(err); code != 1 { // the failing items are rejected
		t.Fatalf("last resume: exit %d: %s", code, out)
	}

	if got := keys(); got != n-failing {
		t.Errorf("Redis holds %d keys, want %d", got, n-failing)
	}
	for i := 1; i <= n; i++ {
		if i%(n/failing) != 0 && rdb.Exists(ctx, fmt.Sprintf("p:%d", i)).Val() != 1 {
			t.Fatalf("key p:%d missing", i)
		}
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Loaders[0]
	if l.Fulfilled != n-failing || l.Rejected != failing || l.NotStarted != 0 || len(l.RejectedItems) != failing {
		t.Errorf("final report: fulfilled %d rejected %d (%d items) not started %d; want %d, %d, 0",
			l.Fulfilled, l.Rejected, len(l.RejectedItems), l.NotStarted, n-failing, failing)
	}
	// Each crash may cost the items in flight (the run's budget: 2 per
	// fetch slot and two pipelines per writer) and a second of settled
	// items; each resume fetches the rejected items again.
	budget := int64(2*32 + 2*4*1000)
	bound := int64(n) + 3*(budget+rate+failing)
	if got := requests.Load(); got > bound {
		t.Errorf("origin got %d requests, want at most %d", got, bound)
	}
	t.Logf("%d items, 3 kills: %d origin requests (%.1f%% over)", n, requests.Load(), 100*float64(requests.Load()-n)/n)
	// The run ended: the journal is finished, and a plain run starts over.
	if out, err := exec.Command(bin, "--config", cfg, "--plain", "--journal", jpath).CombinedOutput(); exitCode(err) != 1 {
		t.Fatalf("run after the journal ended: exit %d: %s", exitCode(err), out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
