package warmup_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// In the monitor (Options.HoldOnRedisWait) Redis down past redis_wait
// holds the run instead of ending it: nothing more is read, the items
// that waited are rejected with the outage's cause, the gate keeps
// probing; once Redis is back, Retry writes the rejected items and Resume
// reads each source on from where it stopped, in the same run. The
// ledger stays exact throughout: no item counted twice, none lost, and
// Redis ends with every key.
//
// R may come while r's retry still runs (the monitor's user need not wait
// for it): "together" presses both at once.
func TestHeldRunRetriesAndResumesInProcess(t *testing.T) {
	t.Parallel()
	for _, together := range []bool{false, true} {
		t.Run(map[bool]string{false: "retry then resume", true: "together"}[together], func(t *testing.T) {
			testHeldRun(t, together)
		})
	}
}

func testHeldRun(t *testing.T, together bool) {
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	var served atomic.Int64
	killed := make(chan struct{})
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 50 {
			srv.Kill()
			close(killed)
		}
		fmt.Fprintf(w, "v%s", path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 4
retries = 0
timeout = "1s"
redis_wait = "1s"
[[loader]]
name = "k"
items = { range = [1, 300] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 20000] }
key = "b:{{.}}"
[[loader]]
name = "file"
items = { file = "items.jsonl" }
key = "j:{{.id}}"
`, o.URL), map[string]string{"items.jsonl": jsonlLines(20000)}, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{HoldOnRedisWait: true})
	<-killed
	eng.Wait()

	s := eng.Snapshot()
	if s.Stopped || s.State != warmup.StateDone || !strings.HasPrefix(s.StopReason, "Redis unavailable for ") {
		t.Fatalf("held run: stopped %v, state %s, reason %q; want a settled, not stopped run that says why", s.Stopped, s.State, s.StopReason)
	}
	if held, down, _ := eng.Held(); !held || down <= 0 || s.RedisDown <= 0 {
		t.Fatalf("held %v, down %s, snapshot down %s: the prober should still find Redis down", held, down, s.RedisDown)
	}
	if s.NotStarted == 0 {
		t.Fatalf("nothing left not started: the kill came too late to test a resume")
	}
	for _, l := range s.Loaders {
		if l.Settled() != l.Read || l.InFlight != 0 {
			t.Errorf("held, loader %s: %d fulfilled + %d rejected != %d read", l.Name, l.Fulfilled, l.Rejected, l.Read)
		}
		for _, c := range l.Causes {
			if c.Stage == warmup.StageInterrupted {
				t.Errorf("held, loader %s: cause %q is an interruption; a hold rejects with the outage's cause", l.Name, c.Cause)
			}
		}
	}
	// Redis is back: the prober says so, then r and R finish the job.
	srv.Restart()
	waitPing(t, srv)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, down, _ := eng.Held(); down == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the held run's prober never saw Redis back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s = eng.Snapshot()
	if eng.Retry() == 0 && s.Rejected > 0 {
		t.Fatal("Retry queued nothing in a held run with rejected items")
	}
	if !together {
		eng.Wait()
		if s := eng.Snapshot(); s.Rejected != 0 || s.StopReason == "" || s.NotStarted == 0 {
			t.Fatalf("after the retry: %d rejected (want 0), stop reason %q and %d not started (want kept: the rest is unread)", s.Rejected, s.StopReason, s.NotStarted)
		}
	}
	if n := eng.Resume(); n == 0 {
		t.Fatal("Resume resumed no loader")
	}
	eng.Wait()

	rep := eng.Report()
	checkExact(t, eng, rep)
	if eng.ExitCode() != 0 || rep.Rejected != 0 || rep.NotStarted != 0 || rep.Stopped != "" {
		t.Fatalf("exit %d: %d rejected, %d not started, stopped %q: %s", eng.ExitCode(), rep.Rejected, rep.NotStarted, rep.Stopped, firstRejections(t, rep))
	}
	for _, l := range eng.Snapshot().Loaders {
		want := map[string]int64{"k": 300, "bulk": 20000, "file": 20000}[l.Name]
		if l.Read != want || l.Fulfilled != want || !l.Done {
			t.Errorf("loader %s: read %d, fulfilled %d, done %v; want %d each: an item read twice or lost", l.Name, l.Read, l.Fulfilled, l.Done, want)
		}
	}
	if n := srv.Client.DBSize(context.Background()).Val(); n != 40300 {
		t.Errorf("DBSIZE %d, want 40300", n)
	}
	checkKeyspace(t, srv, "k:%d", 300, func(i int) string { return fmt.Sprintf("v/%d", i) })
	checkKeyspace(t, srv, "b:%d", 20000, func(i int) string { return strconv.Itoa(i) })
	checkKeyspace(t, srv, "j:%d", 20000, func(i int) string { return fmt.Sprintf(`{"id":%d}`, i) })
}

// A settled run's Idle waits until work starts again (a retry) or the run
// is stopped, so that a finished monitor sleeps instead of polling.
func TestIdleWaitsForWork(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		if path == "/3" && hit == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "v%s", path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "k"
items = { range = [1, 10] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	eng.Wait()
	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("Idle did not return after %s", what)
		}
	}
	idle := func() <-chan struct{} {
		ch := make(chan struct{})
		go func() { eng.Idle(context.Background()); close(ch) }()
		return ch
	}
	returned := idle()
	select {
	case <-returned:
		t.Fatal("Idle returned while the run was settled")
	default:
	}
	if eng.Retry() != 1 {
		t.Fatal("nothing to retry")
	}
	wait("a retry", returned)
	eng.Wait()
	if s := eng.Snapshot(); s.Fulfilled != 10 || s.Rate != 0 {
		t.Fatalf("after the retry: %d fulfilled, rate %.1f", s.Fulfilled, s.Rate)
	}
	returned = idle()
	eng.Stop()
	wait("a stop", returned)
}

// A --retry-from run's snapshot names the report it retries and what the
// earlier run fulfilled, run-wide and per loader, for the monitor to show.
func TestRetryFromSnapshotSaysFulfilledBefore(t *testing.T) {
	srv := redistest.Start(t)
	var healed atomic.Bool
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if path == "/3" && !healed.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "v%s", path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "k"
items = { range = [1, 10] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	if rep.Fulfilled != 9 {
		t.Fatalf("first run fulfilled %d, want 9", rep.Fulfilled)
	}
	healed.Store(true)
	eng, _ := retryFrom(t, cfg, rep)
	s := eng.Snapshot()
	if !strings.HasSuffix(s.RetryOf, "report.json") || s.FulfilledBefore != 9 || s.Loaders[0].FulfilledBefore != 9 || s.Fulfilled != 1 {
		t.Fatalf("retry of %q, %d fulfilled before (loader %d), %d fulfilled now; want report.json, 9, 9, 1",
			s.RetryOf, s.FulfilledBefore, s.Loaders[0].FulfilledBefore, s.Fulfilled)
	}
}
