package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
//
// CACHEWARM_KILL_ITEMS=2000000 runs it at that size, unpaced, killing at
// three random moments (the figure the README gives); the default size
// runs in seconds.
func TestKillNineThenResume(t *testing.T) {
	t.Parallel()
	// items, fetches per second (0: unpaced), items answered 500
	n, rate, failing := 12000, 4000, 12
	kills := []int{n / 5, n / 2, 4 * n / 5}
	if s := os.Getenv("CACHEWARM_KILL_ITEMS"); s != "" {
		n, _ = strconv.Atoi(s)
		rate, failing = 0, 100
		kills = []int{rand.IntN(n * 9 / 10), rand.IntN(n * 9 / 10), rand.IntN(n * 9 / 10)}
		slices.Sort(kills)
	}
	paced := ""
	if rate > 0 {
		paced = fmt.Sprintf("rate = \"%d/s\"", rate)
	}
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
%s
`, srv.Addr(), n, o.URL, paced), map[string]string{})
	bin := buildBinary(t)
	jpath := filepath.Join(t.TempDir(), "run.journal")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	keys := func() int64 { return rdb.DBSize(ctx).Val() }

	// runUntil starts cachewarm and kills it -9 once Redis holds at least
	// atKeys keys.
	started := time.Now()
	runUntil := func(atKeys int, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--config", cfg, "--plain", "--journal", jpath}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		for keys() < int64(atKeys) {
			select {
			case err := <-exited:
				t.Fatalf("cachewarm %v ended (%v) before it was killed: %s", args, err, stderr.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
		cmd.Process.Kill()
		<-exited
	}

	runUntil(kills[0])
	// A run that finds the journal unfinished says so and names the
	// command, instead of starting over.
	out, err := exec.Command(bin, "--config", cfg, "--plain", "--journal", jpath).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "--resume") {
		t.Fatalf("run over an unfinished journal: exit %d: %s", code, out)
	}
	runUntil(kills[1], "--resume")
	runUntil(kills[2], "--resume")
	report := filepath.Join(t.TempDir(), "report.json")
	out, err = exec.Command(bin, "--config", cfg, "--plain", "--journal", jpath, "--resume", "--report", report).CombinedOutput()
	if code := exitCode(err); code != 1 { // the failing items are rejected
		t.Fatalf("last resume: exit %d: %s", code, out)
	}

	took := time.Since(started)
	// Only p:1…p:n can be there, so n - failing keys and the failing
	// ones absent is every key of the set.
	if got := keys(); got != int64(n-failing) {
		t.Errorf("Redis holds %d keys, want %d", got, n-failing)
	}
	for i := n / failing; i <= n; i += n / failing {
		if rdb.Exists(ctx, fmt.Sprintf("p:%d", i)).Val() != 0 {
			t.Fatalf("key p:%d of a failing item is there", i)
		}
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Loaders[0]
	if l.Fulfilled != int64(n-failing) || l.Rejected != int64(failing) || l.NotStarted != 0 || len(l.RejectedItems) != failing {
		t.Errorf("final report: fulfilled %d rejected %d (%d items) not started %d; want %d, %d, 0",
			l.Fulfilled, l.Rejected, len(l.RejectedItems), l.NotStarted, n-failing, failing)
	}
	// Each crash may cost the items in flight (the run's budget: 2 per
	// fetch slot and two pipelines per writer) and a second of settled
	// items; each resume fetches the rejected items again.
	budget := 2*32 + 2*4*1000
	second := rate
	if rate == 0 {
		// Unpaced: a second's worth is the run's own pace.
		second = int(float64(n) / took.Seconds() * 1.5)
	}
	bound := int64(n + 3*(budget+second+failing))
	if got := requests.Load(); got > bound {
		t.Errorf("origin got %d requests, want at most %d", got, bound)
	}
	t.Logf("%d items, kills at %v keys, %s: %d origin requests (%d over; bound %d)", n, kills, took.Round(time.Second), requests.Load(), requests.Load()-int64(n), bound)
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
