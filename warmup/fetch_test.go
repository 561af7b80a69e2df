package warmup_test

import (
	"bufio"
	"compress/zlib"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// A second interrupt (Kill) ends fetches in flight at once, even with a
// long timeout, and their items are rejected as interrupted.
func TestKillEndsFetchesInFlight(t *testing.T) {
	srv := redistest.Start(t)
	arrived := make(chan struct{}, 4)
	release := make(chan struct{})
	defer close(release)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer o.Close()
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
timeout = "1m"
concurrency = 2
[[loader]]
name = "k"
items = { list = ["a", "b"] }
key = "k:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	<-arrived
	<-arrived
	eng.Kill()
	done := make(chan struct{})
	go func() {
		eng.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Kill left the fetches in flight (timeout is 1m)")
	}
	rep := eng.Report()
	for item, reason := range reasons(loaderReport(t, rep, "k")) {
		if reason != "interrupted" {
			t.Errorf("item %s: reason %q, want interrupted", item, reason)
		}
	}
	if rep.Rejected != 2 {
		t.Errorf("rejected %d, want 2", rep.Rejected)
	}
}

// A malformed answer is rejected with a short reason that does not quote
// the bytes the origin sent.
func TestFetchMalformedResponse(t *testing.T) {
	srv := redistest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				bufio.NewReader(c).ReadString('\n')
				fmt.Fprint(c, "HTTP/1.1 2OO OK\r\nX-Token: origin-private\r\n\r\n")
			}()
		}
	}()
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "m"
items = { list = ["a"] }
key = "m:{{.}}"
fetch = { url = "http://%s/{{.}}" }
`, l.Addr()), nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	reason := reasons(loaderReport(t, rep, "m"))["a"]
	want := fmt.Sprintf("fetch GET http://%s/a: malformed response: malformed HTTP status code", l.Addr())
	if reason != want {
		t.Errorf("reason %q, want %q (short, without the response's bytes)", reason, want)
	}
}

// HTTPS origins are verified: one with a certificate no authority signed
// is rejected, naming the cause, and nothing is written.
func TestFetchHTTPSVerifiesTheOrigin(t *testing.T) {
	srv := redistest.Start(t)
	o := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret page")
	}))
	defer o.Close()
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "s"
items = { list = ["a"] }
key = "s:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	reason := reasons(loaderReport(t, rep, "s"))["a"]
	if !strings.HasPrefix(reason, "fetch GET "+o.URL+"/a: ") || !strings.Contains(reason, "certificate") {
		t.Errorf("reason %q, want a fetch reason naming the certificate", reason)
	}
	if n, _ := srv.Client.Exists(context.Background(), "s:a").Result(); n != 0 {
		t.Error("s:a written from an unverified origin")
	}
}

// An origin's Retry-After (seconds or an HTTP-date) is honoured: the
// item's next attempt comes no sooner, however short run.backoff is, and
// it is then written.
func TestFetchHonoursRetryAfter(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		if hit == 1 {
			switch path {
			case "/seconds":
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
			case "/date":
				// HTTP-dates have whole seconds: 2s ahead is at least 1s
				// after this request.
				w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		fmt.Fprint(w, "fresh"+path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 1
backoff = "1ms"
[[loader]]
name = "r"
items = { list = ["seconds", "date"] }
key = "r:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if rep.Fulfilled != 2 {
		t.Fatalf("%d fulfilled, want 2: %s", rep.Fulfilled, firstRejections(t, rep))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for path, least := range map[string]time.Duration{"/seconds": time.Second, "/date": time.Second} {
		times := o.times[path]
		if len(times) != 2 {
			t.Fatalf("%s: %d requests, want 2", path, len(times))
		}
		if gap := times[1].Sub(times[0]); gap < least {
			t.Errorf("%s: retried after %v, the origin asked for %v", path, gap, least)
		}
		if v := srv.Client.Get(context.Background(), "r:"+path[1:]).Val(); v != "fresh"+path {
			t.Errorf("r:%s = %q", path[1:], v)
		}
	}
}

// Stopping the run ends an item's wait for a long Retry-After at once:
// the item is rejected as interrupted, its reason keeping the last
// attempt's cause.
func TestRetryAfterWaitEndsOnStop(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		if path == "/a" {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, "b")
	})
	// One fetch at a time: b is fetched once a's answer is in, and a
	// waits out its Retry-After while b is written.
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 1
retries = 1
backoff = "1ms"
[[loader]]
name = "r"
items = { list = ["a", "b"] }
key = "r:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	deadline := time.Now().Add(10 * time.Second)
	for eng.Snapshot().Loaders[0].Fulfilled != 1 {
		if time.Now().After(deadline) {
			t.Fatal("b was not written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	began := time.Now()
	eng.Stop()
	eng.Wait()
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the run took %v to stop while an item waited out a Retry-After", took)
	}
	rep := eng.Report()
	checkExact(t, eng, rep)
	// The stop does not hide why a was waiting: its 429.
	if got := reasons(loaderReport(t, rep, "r"))["a"]; !strings.HasPrefix(got, "interrupted") || !strings.Contains(got, "429 Too Many Requests") {
		t.Errorf("reason %q, want interrupted with the last attempt's 429", got)
	}
	if n := o.count("/a"); n != 1 {
		t.Errorf("a fetched %d times, want 1", n)
	}
}

// An empty answer does not overwrite the cached value unless the loader
// allows it; a compressed one is stored decoded.
func TestFetchEmptyAndCompressedBodies(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		switch path {
		case "/no-content":
			w.WriteHeader(http.StatusNoContent)
		case "/empty":
		case "/deflate":
			w.Header().Set("Content-Encoding", "deflate")
			zw := zlib.NewWriter(w)
			fmt.Fprint(zw, `{"price":12}`)
			zw.Close()
		}
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 2
backoff = "1ms"
[[loader]]
name = "strict"
items = { list = ["no-content", "empty", "deflate"] }
key = "strict:{{.}}"
fetch = { url = "%[1]s/{{.}}" }
[[loader]]
name = "lenient"
items = { list = ["no-content", "empty"] }
key = "lenient:{{.}}"
fetch = { url = "%[1]s/{{.}}", allow_empty = true }
`, o.URL), nil, nil)
	ctx := context.Background()
	for _, k := range []string{"strict:no-content", "strict:empty", "lenient:no-content", "lenient:empty"} {
		srv.Client.Set(ctx, k, "cached", 0)
	}
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	strict := loaderReport(t, rep, "strict")
	got := reasons(strict)
	for item, want := range map[string]string{
		"no-content": fmt.Sprintf("fetch GET %s/no-content: empty body (204 No Content)", o.URL),
		"empty":      fmt.Sprintf("fetch GET %s/empty: empty body (200 OK)", o.URL),
	} {
		if got[item] != want {
			t.Errorf("%s: reason %q, want %q", item, got[item], want)
		}
	}
	for _, r := range strict.RejectedItems {
		if r.Attempts != 1 {
			t.Errorf("%s: %d attempts: an empty answer is not retried", r.Item, r.Attempts)
		}
	}
	want := map[string]string{
		"strict:no-content": "cached", "strict:empty": "cached", "strict:deflate": `{"price":12}`,
		"lenient:no-content": "", "lenient:empty": "",
	}
	for k, v := range want {
		if got := srv.Client.Get(ctx, k).Val(); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if l := loaderReport(t, rep, "lenient"); l.Fulfilled != 2 {
		t.Errorf("lenient: %d fulfilled, want 2", l.Fulfilled)
	}
}

// A hung origin shows in the snapshot as items in flight growing old,
// not as an idle loader: OldestInFlight is the age of the oldest item
// still unsettled, whichever settles first, and 0 once none is.
func TestSnapshotOldestInFlight(t *testing.T) {
	srv := redistest.Start(t)
	arrived := make(chan string, 4)
	release := make(chan struct{})
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.URL.Path
		if r.URL.Path == "/b" {
			fmt.Fprint(w, "ok")
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		fmt.Fprint(w, "late")
	}))
	defer o.Close()
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
timeout = "1m"
concurrency = 2
[[loader]]
name = "hang"
items = { list = ["a", "b"] }
key = "hang:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	began := time.Now()
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	<-arrived
	<-arrived
	// b is answered at once: wait until it settled, a still hangs.
	var l warmup.LoaderSnapshot
	for l = eng.Snapshot().Loaders[0]; l.Fulfilled < 1; l = eng.Snapshot().Loaders[0] {
		runtime.Gosched()
	}
	if l.InFlight != 1 {
		t.Fatalf("in flight %d, want 1 (a hangs)", l.InFlight)
	}
	if l.OldestInFlight <= 0 || l.OldestInFlight > time.Since(began) {
		t.Errorf("oldest in flight %v, want the age of a (0 < age <= %v)", l.OldestInFlight, time.Since(began))
	}
	close(release)
	eng.Wait()
	if l := eng.Snapshot().Loaders[0]; l.InFlight != 0 || l.OldestInFlight != 0 {
		t.Errorf("settled: in flight %d, oldest %v; want 0 and 0", l.InFlight, l.OldestInFlight)
	}
}
