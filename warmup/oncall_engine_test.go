package warmup_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// waitFor polls the engine's snapshot until ok says so, or fails after
// 20 s with what the last snapshot said.
func waitFor(t *testing.T, eng *warmup.Engine, what string, ok func(warmup.Snapshot) bool) warmup.Snapshot {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := eng.Snapshot()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s: state %s, stop reason %q, %d fulfilled", what, s.State, s.StopReason, s.Fulfilled)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A held run (the monitor) is stopped from the moment the gate gives up,
// not once the fetches still in flight drain: with a hung origin that
// takes the whole fetch timeout, during which the header said "waiting
// for Redis" and the tiles "running" though nothing more would be read.
func TestHeldRunIsStoppedWhileFetchesDrain(t *testing.T) {
	srv := redistest.Start(t)
	release := make(chan struct{})
	var once sync.Once
	hung := make(chan struct{}, 8)
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(path, "/hang/") {
			hung <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprintf(w, "v%s", path)
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 8
retries = 0
timeout = "60s"
redis_wait = "1s"
[[loader]]
name = "hang"
items = { range = [1, 3] }
key = "h:{{.}}"
fetch = { url = "%s/hang/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 200000] }
key = "b:{{.}}"
rate = "2000/s"
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{HoldOnRedisWait: true})
	for range 3 {
		<-hung
	}
	srv.Kill()
	s := waitFor(t, eng, "the give-up", func(s warmup.Snapshot) bool { return s.StopReason != "" })
	hang := s.Loaders[0]
	if hang.InFlight != 3 {
		t.Fatalf("hang loader: %d in flight at the give-up, want its 3 hung fetches", hang.InFlight)
	}
	if s.State != warmup.StateStopping || s.Stopped {
		t.Errorf("given up with fetches in flight: state %q (stopped %v), want %q: the run reads nothing more", s.State, s.Stopped, warmup.StateStopping)
	}
	for _, l := range s.Loaders {
		if l.Waiting {
			t.Errorf("loader %s still says waiting for Redis after the give-up", l.Name)
		}
	}
	once.Do(func() { close(release) })
	eng.Wait()
	if s := eng.Snapshot(); s.State != warmup.StateDone || s.StopReason == "" {
		t.Fatalf("drained: state %s, reason %q", s.State, s.StopReason)
	}
}

// Redis restarts empty while the monitor holds a redis_wait stop: as soon
// as the prober hears it, the keys in doubt are re-checked and the lost
// ones written again, with no key pressed; the fulfilled count matches
// DBSIZE. Before, the count stood (580 fulfilled, DBSIZE 0) until the
// next r or R. The outage the run gave up on lasted until Redis answered
// the prober, not until the give-up.
func TestHeldRunRechecksWhenRedisIsBack(t *testing.T) {
	srv := redistest.Start(t)
	var served atomic.Int64
	killed := make(chan struct{})
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 200 {
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
items = { range = [1, 2000] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{HoldOnRedisWait: true})
	<-killed
	eng.Wait()
	before := eng.Snapshot()
	if before.Fulfilled == 0 || before.StopReason == "" {
		t.Fatalf("held with %d fulfilled, reason %q: nothing to lose", before.Fulfilled, before.StopReason)
	}
	restarted := time.Now()
	srv.Restart()
	waitFor(t, eng, "the prober to hear Redis", func(warmup.Snapshot) bool {
		_, down, _ := eng.Held()
		return down == 0
	})
	// The re-check is work: Wait returns once it and the rewrites settle.
	eng.Wait()
	s := eng.Snapshot()
	n := srv.Client.DBSize(context.Background()).Val()
	if rc := s.Restarts; rc == nil || rc.Lost != before.Fulfilled || rc.InDoubt || rc.Running {
		t.Fatalf("restart check %+v, want %d lost, checked and settled", rc, before.Fulfilled)
	}
	if s.Fulfilled != before.Fulfilled || n != s.Fulfilled {
		t.Fatalf("%d fulfilled (%d before the restart), DBSIZE %d: the count must be what Redis holds", s.Fulfilled, before.Fulfilled, n)
	}
	// Still held (the rest not started): every item read is settled.
	for _, l := range s.Loaders {
		if l.Settled() != l.Read || l.InFlight != 0 || l.Queued != 0 || l.Read+l.NotStarted != l.Total {
			t.Errorf("loader %s: %d settled of %d read, %d in flight, %d not started of %d", l.Name, l.Settled(), l.Read, l.InFlight, l.NotStarted, l.Total)
		}
	}
	rep := eng.Report()
	if len(rep.Outages) != 1 {
		t.Fatalf("outages %s, want one", mustJSON(t, rep.Outages))
	}
	out := rep.Outages[0]
	if out.Outcome != warmup.OutageGaveUp || out.StillDown || out.GaveUpAt.IsZero() || !out.GaveUpAt.Before(restarted) || out.End.Before(restarted) {
		t.Errorf("outage %s: want gave up before %s, ended when Redis answered after it", mustJSON(t, out), restarted.Format(time.StampMilli))
	}
	if want := math.Round(out.End.Sub(out.Start).Seconds()*10) / 10; out.Seconds != want {
		t.Errorf("outage seconds %v, want %v (end - start)", out.Seconds, want)
	}
}

// A pause that outlasts run.timeout but not run.redis_wait: redis_waiting
// tells the stall's "no reply", the writes then time out and the probes
// too, and redis_back tells the same cause as redis_waiting did, as the
// record does. Before, redis_back told the last probe's "timeout after
// 1s": one outage, two causes.
func TestOutageKeepsItsFirstCause(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[run]
timeout = "1s"
retries = 0
redis_wait = "30s"
[[loader]]
name = "paced"
items = { range = [1, 600] }
key = "p:{{.}}"
rate = "200/s"
`, nil, nil)
	log := newOutageLog()
	eng := startAgainst(t, srv, cfg, log.options())
	waitSettled(t, eng, 100)
	if err := srv.Client.Do(context.Background(), "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	down := receive(t, log.waiting, "redis_waiting", log)
	back := receive(t, log.back, "redis_back", log)
	eng.Wait()
	rep := eng.Report()
	if back.Cause != down.Cause || len(rep.Outages) != 1 || rep.Outages[0].Cause != down.Cause {
		t.Fatalf("redis_waiting %q, redis_back %q, record %s: want one cause", down.Cause, back.Cause, mustJSON(t, rep.Outages))
	}
	if rep.Fulfilled != 600 || eng.ExitCode() != 0 {
		t.Fatalf("%d fulfilled, exit %d: an outage inside redis_wait costs nothing", rep.Fulfilled, eng.ExitCode())
	}
}

// Items waiting for a loader's rate limit are not in flight: a paced
// loader shows them apart (Queued), and its oldest in-flight age is the
// oldest item actually being fetched, here one that hangs. Before, 2/s
// showed "36 in flight, oldest 0s" and hid the hang behind the queue.
func TestQueuedForRateIsNotInFlight(t *testing.T) {
	srv := redistest.Start(t)
	release, fail := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hung, blocked := make(chan struct{}, 1), make(chan struct{}, 16)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(path, "/"))
		switch {
		case n == 1:
			hung <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case n <= 11 && hit == 1:
			// Ten items fail at once: their retries all wait for the rate.
			blocked <- struct{}{}
			select {
			case <-fail:
			case <-r.Context().Done():
			}
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "v%s", path)
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 16
retries = 1
backoff = "1ms"
timeout = "60s"
[[loader]]
name = "paced"
items = { range = [1, 40] }
key = "p:{{.}}"
rate = "4/s"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	<-hung
	hungAt := time.Now()
	for range 10 {
		<-blocked
	}
	close(fail)
	s := waitFor(t, eng, "items queued for the rate", func(s warmup.Snapshot) bool { return s.Loaders[0].Queued >= 5 })
	l := s.Loaders[0]
	if l.InFlight > 3 || l.Read != l.Settled()+l.InFlight+l.Queued {
		t.Errorf("%d read: %d settled, %d in flight, %d queued; want the queue apart from the few fetching", l.Read, l.Settled(), l.InFlight, l.Queued)
	}
	if l.OldestInFlight < time.Since(hungAt)-50*time.Millisecond {
		t.Errorf("oldest in flight %s, the hung fetch began %s ago", l.OldestInFlight, time.Since(hungAt))
	}
	once.Do(func() { close(release) })
	eng.Stop()
	eng.Wait()
	checkExact(t, eng, eng.Report())
}
