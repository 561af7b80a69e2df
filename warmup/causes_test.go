package warmup_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// Failures group by cause: the counts, an example of each, the report's
// cause beside its reason, and a retry of one cause that leaves the
// others rejected.
func TestCausesGroupAndRetryByCause(t *testing.T) {
	srv := redistest.Start(t)
	var healthy atomic.Bool
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		switch {
		case path == "/1" || path == "/2" || path == "/3":
			w.WriteHeader(http.StatusNotFound)
		case (path == "/4" || path == "/5") && !healthy.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			fmt.Fprintf(w, "v%s", path)
		}
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "a"
items = { range = [1, 8] }
key = "a:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	l := loaderReport(t, rep, "a")
	want := []warmup.CauseCount{
		{Cause: "404 Not Found", Stage: warmup.StageFetch, Count: 3},
		{Cause: "503 Service Unavailable", Stage: warmup.StageFetch, Count: 2},
	}
	if len(l.Causes) != len(want) {
		t.Fatalf("causes %+v, want %+v", l.Causes, want)
	}
	for i, c := range l.Causes {
		w := want[i]
		if c.Cause != w.Cause || c.Count != w.Count || c.Stage != w.Stage || !strings.HasPrefix(c.Example, "GET /") {
			t.Errorf("cause %d: %+v, want %+v with an example GET /n", i, c, w)
		}
	}
	for _, r := range l.RejectedItems {
		if !strings.HasSuffix(r.Reason, ": "+r.Cause) || !strings.HasPrefix(r.Reason, "fetch GET "+o.URL) {
			t.Errorf("reason %q, cause %q: the reason is whole and ends with its cause", r.Reason, r.Cause)
		}
	}
	last := eng.Snapshot().Loaders[0]
	if last.LastCause == "" || !strings.HasSuffix(last.LastReason, last.LastCause) {
		t.Errorf("last reason %q, last cause %q", last.LastReason, last.LastCause)
	}

	healthy.Store(true)
	if n := eng.RetryCause("503 Service Unavailable", "a"); n != 2 {
		t.Fatalf("RetryCause queued %d, want the 2 items that failed with 503", n)
	}
	eng.Wait()
	rep = eng.Report()
	checkExact(t, eng, rep)
	l = loaderReport(t, rep, "a")
	if l.Fulfilled != 5 || l.Rejected != 3 || len(l.Causes) != 1 || l.Causes[0].Cause != "404 Not Found" || l.Causes[0].Count != 3 {
		t.Fatalf("after retrying the 503s: %d fulfilled, %d rejected, causes %+v", l.Fulfilled, l.Rejected, l.Causes)
	}
	for _, p := range []string{"/1", "/2", "/3"} {
		if n := o.count(p); n != 1 {
			t.Errorf("%s fetched %d times: a retry of another cause touched it", p, n)
		}
	}
	if s := eng.Snapshot().Loaders[0]; s.LastCause != "404 Not Found" {
		t.Errorf("after the retry the tile's last cause is %q, want one still standing", s.LastCause)
	}
	if n := eng.RetryCause("404 Not Found", "a"); n != 3 {
		t.Fatalf("RetryCause(404) queued %d, want 3", n)
	}
	eng.Wait()
	if s := eng.Snapshot().Loaders[0]; s.Rejected != 3 || len(s.Causes) != 1 || s.Causes[0].Count != 3 {
		t.Errorf("after the 404s failed again: %+v", s.Causes)
	}
}

// A tile back to no rejections after a retry shows no old reason.
func TestRetryClearsTheLastReason(t *testing.T) {
	srv := redistest.Start(t)
	var healthy atomic.Bool
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "v")
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "a"
items = { range = [1, 3] }
key = "a:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, _ := runAgainst(t, srv, cfg, warmup.Options{})
	healthy.Store(true)
	eng.Retry()
	eng.Wait()
	s := eng.Snapshot().Loaders[0]
	if s.Rejected != 0 || s.LastReason != "" || s.LastCause != "" || len(s.Causes) != 0 {
		t.Errorf("after a retry that fulfilled all: rejected %d, last reason %q, causes %+v", s.Rejected, s.LastReason, s.Causes)
	}
}

// A report written before causes existed is read with causes derived
// from its reasons, so that its rejections group.
func TestOldReportCausesAreDerived(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "old.json")
	old := `{"fulfilled":0,"rejected":3,"rejected_at_source":1,"not_started":0,"interrupted":false,"redis":"r","config":"c","started":"2026-01-01T00:00:00Z","seconds":1,
"loaders":[{"name":"a","source":"s","fulfilled":0,"rejected":3,"rejected_at_source":1,"not_started":0,"p50_ms":0,"p95_ms":0,"rejected_items":[
{"item":1,"key":"a:1","reason":"fetch GET http://127.0.0.1:4000/1: 404 Not Found","attempts":1,"stage":"fetch"},
{"item":2,"key":"a:2","reason":"redis SET a:2: redis 10.0.0.5:6379: connection refused","attempts":1,"stage":"redis"},
{"item":"x","key":"","reason":"items.jsonl:3: invalid JSON","attempts":0,"stage":"source","where":"items.jsonl:3"}]}]}`
	if err := os.WriteFile(p, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := warmup.ReadReport(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ cause, detail string }{
		{"404 Not Found", "GET /1"},
		{"redis 10.0.0.5:6379: connection refused", "SET a:2"},
		{"invalid JSON", "items.jsonl:3"},
	}
	for i, tt := range tests {
		r := rep.Loaders[0].RejectedItems[i]
		if r.Cause != tt.cause || r.Detail() != tt.detail {
			t.Errorf("%q: cause %q detail %q, want %q, %q", r.Reason, r.Cause, r.Detail(), tt.cause, tt.detail)
		}
	}
}

// Elapsed is working time: it stands still once the run is done, and a
// retry moves it on from there, not from the time the retry came.
func TestElapsedStopsAtDoneAndGoesOnWithARetry(t *testing.T) {
	srv := redistest.Start(t)
	var healthy atomic.Bool
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "v")
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "a"
items = { range = [1, 3] }
key = "a:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, _ := runAgainst(t, srv, cfg, warmup.Options{})
	done := eng.Snapshot().Elapsed
	const idle = 300 * time.Millisecond
	time.Sleep(idle) // the time that passes while the run is done is the subject
	if e := eng.Snapshot().Elapsed; e != done {
		t.Fatalf("elapsed moved from %s to %s while the run was done", done, e)
	}
	healthy.Store(true)
	eng.Retry()
	eng.Wait()
	after := eng.Snapshot()
	if after.Rejected != 0 || after.Elapsed < done || after.Elapsed >= done+idle {
		t.Fatalf("after the retry elapsed %s (done at %s, idle %s): the idle time counted, or it went back", after.Elapsed, done, idle)
	}
}
