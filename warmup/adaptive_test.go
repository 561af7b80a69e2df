package warmup_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// cappedOrigin answers 503 to any request beyond capacity in flight, and
// the others after serve (the origin's own work).
type cappedOrigin struct {
	capacity         int64
	serve            time.Duration
	inflight, served atomic.Int64
	rejected         atomic.Int64
}

func (o *cappedOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer o.inflight.Add(-1)
	if o.inflight.Add(1) > o.capacity {
		o.rejected.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	// The origin's service time: what makes requests overlap.
	time.Sleep(o.serve)
	o.served.Add(1)
	fmt.Fprintf(w, "v%s", r.URL.Path)
}

// An origin that takes 8 requests at a time and answers 503 to the rest
// is warmed by a loader allowed 64: with fetch.adaptive its items are
// fulfilled and the origin sees few 503s; without, the same run rejects
// many items after their retries and the origin answers 503 to most of
// its requests.
func TestAdaptiveSparesAnOriginThatAnswers503(t *testing.T) {
	srv := redistest.Start(t)
	const items = 600
	results := map[bool]struct{ rejected, origin503 int64 }{}
	for _, adaptive := range []bool{false, true} {
		o := &cappedOrigin{capacity: 8, serve: 10 * time.Millisecond}
		hs := httptest.NewServer(o)
		cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 64
retries = 2
backoff = "5ms"
[[loader]]
name = "p"
items = { range = [1, %d] }
key = "adaptive:%v:{{.}}"
fetch = { url = "%s/{{.}}", adaptive = %v }
`, items, adaptive, hs.URL, adaptive), nil, nil)
		eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
		hs.Close()
		checkExact(t, eng, rep)
		l := loaderReport(t, rep, "p")
		results[adaptive] = struct{ rejected, origin503 int64 }{l.Rejected, o.rejected.Load()}
		t.Logf("adaptive %v: %d fulfilled, %d rejected; origin: %d served, %d answered 503; concurrency %+v",
			adaptive, l.Fulfilled, l.Rejected, o.served.Load(), o.rejected.Load(), l.Concurrency)
		switch {
		case adaptive && l.Concurrency == nil:
			t.Errorf("adaptive loader: no concurrency in its report")
		case adaptive && (l.Concurrency.Max != 64 || l.Concurrency.Cuts == 0 || l.Concurrency.Limit > 16):
			t.Errorf("adaptive loader's limit %+v: want at most 16 of 64, after backoffs", *l.Concurrency)
		case !adaptive && l.Concurrency != nil:
			t.Errorf("fixed loader reports an adaptive limit %+v", *l.Concurrency)
		}
	}
	fixed, adaptive := results[false], results[true]
	if fixed.rejected < items/20 {
		t.Fatalf("without adaptive, %d of %d rejected: the origin does not buckle enough for the test to say anything", fixed.rejected, items)
	}
	// The 503s of the limiter's first rounds, before its first cut,
	// depend on how fast a loaded machine answers: the bound on them is
	// looser than on what the user sees, the rejections.
	if adaptive.rejected*5 > fixed.rejected || adaptive.origin503*3 > fixed.origin503 {
		t.Fatalf("adaptive: %d rejected, %d answered 503; fixed: %d rejected, %d answered 503: want five times fewer rejections and three times fewer 503s",
			adaptive.rejected, adaptive.origin503, fixed.rejected, fixed.origin503)
	}
}

// Items waiting for a place under their origin's adaptive limit are in
// flight: a stop settles them as interrupted, nothing is lost, and the
// rest of the source is recorded as not started.
func TestAdaptiveStopWhileWaitingForAnOrigin(t *testing.T) {
	srv := redistest.Start(t)
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		fmt.Fprint(w, "v")
	}))
	defer hs.Close()
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 64
[[loader]]
name = "p"
items = { range = [1, 1000] }
key = "stop:{{.}}"
fetch = { url = "%s/{{.}}", adaptive = true }
`, hs.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	// The limit starts at 8: eight requests reach the origin, the
	// other items read wait for a place.
	for range 8 {
		<-arrived
	}
	var l warmup.LoaderSnapshot
	for l = eng.Snapshot().Loaders[0]; l.InFlight+l.Queued <= 8; l = eng.Snapshot().Loaders[0] {
		time.Sleep(time.Millisecond) // until the feeder has read ahead
	}
	if l.Limit != 8 || l.LimitMax != 64 {
		t.Errorf("snapshot limit %d/%d while 8 fetch, want 8/64", l.Limit, l.LimitMax)
	}
	if len(arrived) != 0 {
		t.Fatalf("%d more requests reached the origin than the limit of 8", len(arrived))
	}
	eng.Stop()
	close(release)
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	pr := loaderReport(t, rep, "p")
	if pr.Fulfilled != 8 {
		t.Errorf("%d fulfilled, want the 8 that were fetching", pr.Fulfilled)
	}
	for _, r := range pr.RejectedItems {
		if r.Reason != "interrupted" {
			t.Errorf("rejected %s: %q, want interrupted", r.Item, r.Reason)
		}
	}
	if pr.Fulfilled+pr.Rejected+pr.NotStarted != 1000 {
		t.Errorf("fulfilled %d + rejected %d + not started %d != 1000", pr.Fulfilled, pr.Rejected, pr.NotStarted)
	}
}
