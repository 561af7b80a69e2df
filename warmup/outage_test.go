package warmup_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// outageLog keeps what the outage hooks told, in order.
type outageLog struct {
	mu      sync.Mutex
	events  []string
	waiting chan warmup.Outage
	back    chan warmup.Outage
	stops   []warmup.Stop
}

func newOutageLog() *outageLog {
	return &outageLog{waiting: make(chan warmup.Outage, 16), back: make(chan warmup.Outage, 16)}
}

func (l *outageLog) options() warmup.Options {
	return warmup.Options{
		OnRedisWaiting: func(o warmup.Outage) { l.add("waiting"); l.waiting <- o },
		OnRedisBack:    func(o warmup.Outage) { l.add("back"); l.back <- o },
		OnStop: func(s warmup.Stop) {
			l.mu.Lock()
			l.stops = append(l.stops, s)
			l.mu.Unlock()
			l.add("stopped " + s.Why)
		},
	}
}

func (l *outageLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *outageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.events, ", ")
}

func receive(t *testing.T, ch <-chan warmup.Outage, what string, log *outageLog) warmup.Outage {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s told in 20s; told: %s", what, log)
		return warmup.Outage{}
	}
}

// CLIENT PAUSE shorter than run.timeout: no write fails, yet Redis
// answers nothing. The run shows it as waiting for Redis as soon as
// commands wait past a short threshold, counted from Redis's last good
// reply (before the pause began), not from when an error would say so;
// it counts nothing as failed because of that, and records one outage
// that ended when Redis answered again. Before, the state stayed
// "running" for the whole pause and nothing recorded it.
func TestClientPauseIsAnOutageFromTheLastGoodReply(t *testing.T) {
	// Not parallel: it orders the engine's reading of a reply against
	// this goroutine's clock, which a busy scheduler can reverse.
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[run]
timeout = "20s"
retries = 0
[[loader]]
name = "paced"
items = { range = [1, 600] }
key = "p:{{.}}"
rate = "200/s"
`, nil, nil)
	log := newOutageLog()
	eng := startAgainst(t, srv, cfg, log.options())
	waitSettled(t, eng, 100)
	if err := srv.Client.Do(context.Background(), "CLIENT", "PAUSE", "2500", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	// Replies to writes Redis took before the pause may come after the
	// command was sent; none after its own reply.
	paused := time.Now()
	o := receive(t, log.waiting, "redis_waiting", log)
	s := eng.Snapshot()
	if s.State != warmup.StateWaiting || s.RedisDown <= 0 || !strings.HasSuffix(s.RedisCause, ": no reply") {
		t.Errorf("told waiting, snapshot state %q, down %s, cause %q", s.State, s.RedisDown, s.RedisCause)
	}
	if !o.Start.Before(paused) || !s.RedisSince.Equal(o.Start) {
		t.Errorf("outage starts %s, snapshot %s; the pause began at %s: it must count from the last good reply before it",
			o.Start.Format(time.StampMicro), s.RedisSince.Format(time.StampMicro), paused.Format(time.StampMicro))
	}
	back := receive(t, log.back, "redis_back", log)
	if back.Outcome != warmup.OutageBack || !back.Start.Equal(o.Start) || back.End.Sub(paused) < 2*time.Second+time.Second/2-100*time.Millisecond {
		t.Errorf("back: %+v; paused at %s for 2.5s", back, paused.Format(time.StampMicro))
	}
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if rep.Fulfilled != 600 || rep.Rejected != 0 || eng.ExitCode() != 0 {
		t.Fatalf("%d fulfilled, %d rejected, exit %d: a pause within run.timeout costs nothing", rep.Fulfilled, rep.Rejected, eng.ExitCode())
	}
	if len(rep.Outages) != 1 || rep.Outages[0].Outcome != warmup.OutageBack || !rep.Outages[0].Start.Equal(o.Start) {
		t.Fatalf("report outages %s, want the one that ended", mustJSON(t, rep.Outages))
	}
	if got := log.String(); got != "waiting, back" {
		t.Errorf("told %q, want one outage", got)
	}
}

// Redis killed and gone past run.redis_wait, or the run stopped while it
// waits: every item the outage rejects has one cause, the same in every
// loader, and the report and OnStop record it. Before, one outage read
// as two causes per loader: "… (gave up waiting for Redis)" and
// "interrupted while Redis was unavailable (…)".
func TestOneOutageOneCause(t *testing.T) {
	for _, stop := range []string{warmup.StopRedisWait, warmup.StopInterrupt} {
		t.Run(stop, func(t *testing.T) {
			srv := redistest.Start(t)
			var served atomic.Int64
			killed := make(chan time.Time)
			o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
				if served.Add(1) == 40 {
					srv.Kill()
					close(killed)
				}
				fmt.Fprintf(w, "v%s", path)
			})
			wait := map[string]string{warmup.StopRedisWait: "1s", warmup.StopInterrupt: "60s"}[stop]
			cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 8
retries = 0
timeout = "1s"
redis_wait = %q
[[loader]]
name = "f"
items = { range = [1, 400] }
key = "f:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 50000] }
key = "b:{{.}}"
rate = "5000/s"
`, wait, o.URL), nil, nil)
			log := newOutageLog()
			eng := startAgainst(t, srv, cfg, log.options())
			<-killed
			kill := time.Now()
			down := receive(t, log.waiting, "redis_waiting", log)
			if down.Start.After(kill) {
				t.Errorf("outage starts %s, after the kill at %s", down.Start.Format(time.StampMicro), kill.Format(time.StampMicro))
			}
			if stop == warmup.StopInterrupt {
				waitState(t, eng, warmup.StateWaiting)
				eng.Stop()
			}
			eng.Wait()
			rep := eng.Report()
			checkExact(t, eng, rep)
			causes := map[string]map[string]int{}
			for _, l := range rep.Loaders {
				for _, r := range l.RejectedItems {
					if r.Stage == warmup.StageInterrupted && !strings.Contains(r.Reason, "Redis") {
						continue // stopped before its write: not the outage's
					}
					if causes[r.Cause] == nil {
						causes[r.Cause] = map[string]int{}
					}
					causes[r.Cause][l.Name]++
				}
			}
			if len(causes) != 1 {
				t.Fatalf("%d causes for one outage: %v", len(causes), causes)
			}
			var cause string
			for c := range causes {
				cause = c
			}
			want := map[string]string{warmup.StopRedisWait: " (gave up waiting for Redis)", warmup.StopInterrupt: " (stopped while waiting for Redis)"}[stop]
			if !strings.HasPrefix(cause, "redis "+srv.Addr()+": ") || !strings.HasSuffix(cause, want) {
				t.Errorf("cause %q", cause)
			}
			if cause != down.Cause+want {
				t.Errorf("items' cause %q, redis_waiting told %q: one outage, one cause", cause, down.Cause)
			}
			// The record's cause is the one redis_waiting told (its first):
			// the stop, the record and the items say the same.
			outcome := map[string]string{warmup.StopRedisWait: warmup.OutageGaveUp, warmup.StopInterrupt: warmup.OutageStopped}[stop]
			if len(rep.Outages) != 1 || rep.Outages[0].Cause != down.Cause || rep.Outages[0].Outcome != outcome ||
				!rep.Outages[0].Start.Equal(down.Start) || rep.Outages[0].End.Before(kill) {
				t.Fatalf("report outages %s, want one %q with cause %q", mustJSON(t, rep.Outages), outcome, down.Cause)
			}
			if len(log.stops) != 1 || log.stops[0].Why != stop {
				t.Fatalf("told stops %+v, want one %s", log.stops, stop)
			}
			if stop == warmup.StopRedisWait {
				// Still down when the run stopped: the stop ends the record,
				// and the stop says the record's length and cause.
				out, st := rep.Outages[0], log.stops[0]
				if !out.StillDown || !out.GaveUpAt.Equal(out.End) {
					t.Errorf("outage %s: want still down, ended at the give-up (the stop)", mustJSON(t, out))
				}
				if st.Seconds != out.Seconds || st.Reason != fmt.Sprintf("Redis unavailable for %vs: %s", out.Seconds, out.Cause) {
					t.Errorf("stopped %+v, outage %vs %q: want the same length and cause", st, out.Seconds, out.Cause)
				}
			}
		})
	}
}
