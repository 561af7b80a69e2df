package warmup_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/source"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

func TestWarmEverySource(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[run]
ttl = "1h"
[[loader]]
name = "list"
items = { list = ["a", "b", 3] }
key = "list:{{.}}"
[[loader]]
name = "range"
items = { range = [1, 50] }
key = "range:{{.}}"
ttl = "0"
[[loader]]
name = "jsonl"
items = { file = "data/p.jsonl" }
key = "p:{{.id}}"
ttl = "30m"
[[loader]]
name = "txt"
items = { file = "words.txt" }
key = "w:{{. | urlquery}}"
[[loader]]
name = "csv"
items = { file = "users.csv" }
key = "u:{{.email}}"
[[loader]]
name = "single"
key = "const:{{json .}}"
`, map[string]string{
		"data/p.jsonl": "{\"id\":1,\"name\":\"one\"}\n\n{\"id\": 12345678901234567, \"tags\":[\"x\"]}\r\n",
		"words.txt":    "hello\n\n  spaced word  \nlast",
		"users.csv":    "email,name\na@x.io,Ann\n\"b@x.io\",\"Bo, Jr\"\n",
	}, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if rep.Rejected != 0 {
		t.Fatalf("rejected %d: %s", rep.Rejected, mustJSON(t, rep))
	}
	want := map[string]string{
		"list:a": "a", "list:3": "3",
		"range:1": "1", "range:50": "50",
		"p:1":                 `{"id":1,"name":"one"}`,
		"p:12345678901234567": `{"id": 12345678901234567, "tags":["x"]}`,
		"w:hello":             "hello",
		"w:spaced+word":       "spaced word",
		"u:a@x.io":            `{"email":"a@x.io","name":"Ann"}`,
		"u:b@x.io":            `{"email":"b@x.io","name":"Bo, Jr"}`,
		"const:null":          "null",
	}
	ctx := context.Background()
	for k, v := range want {
		got, err := srv.Client.Get(ctx, k).Result()
		if err != nil || got != v {
			t.Errorf("GET %s = %q, %v; want %q", k, got, err, v)
		}
	}
	counts := map[string]int64{"list": 3, "range": 50, "jsonl": 2, "txt": 3, "csv": 2, "single": 1}
	for name, n := range counts {
		if got := loaderReport(t, rep, name).Fulfilled; got != n {
			t.Errorf("%s fulfilled %d, want %d", name, got, n)
		}
	}
	for key, want := range map[string]time.Duration{"list:a": time.Hour, "range:1": -1, "p:1": 30 * time.Minute} {
		ttl := srv.Client.TTL(ctx, key).Val()
		if want < 0 && ttl != -1*time.Nanosecond && ttl != -1 {
			t.Errorf("TTL %s = %v, want none", key, ttl)
		}
		if want > 0 && (ttl <= want-time.Minute || ttl > want) {
			t.Errorf("TTL %s = %v, want about %v", key, ttl, want)
		}
	}
}

func TestEmptyListSettlesAtOnce(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[[loader]]
name = "empty"
items = { list = [] }
key = "x:{{.}}"
`, nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	s := eng.Snapshot()
	if s.State != warmup.StateDone || rep.Fulfilled != 0 || rep.Rejected != 0 || eng.ExitCode() != 0 {
		t.Fatalf("state %s, %d fulfilled, %d rejected, exit %d", s.State, rep.Fulfilled, rep.Rejected, eng.ExitCode())
	}
	if !s.Loaders[0].Done || s.Loaders[0].Total != 0 {
		t.Fatalf("loader not done: %+v", s.Loaders[0])
	}
	if len(srv.Keys("*")) != 0 {
		t.Fatal("keys written for empty input")
	}
}

func TestBadLinesRejectOnlyThemselves(t *testing.T) {
	srv := redistest.Start(t)
	long := `{"id":"long","pad":"` + strings.Repeat("x", source.MaxLine) + `"}`
	cfg := loadConfig(t, `
[[loader]]
name = "p"
items = { file = "p.jsonl" }
key = "p:{{.id}}"
[[loader]]
name = "c"
items = { file = "c.csv" }
key = "c:{{.id}}"
`, map[string]string{
		"p.jsonl": "{\"id\":1}\n{\"id\":2,}\n" + long + "\n{\"noid\":true}\n{\"id\":\"\"}\n[1] [2]\n{\"id\":6}\n",
		"c.csv":   "id,name\n1,a\n2,b,extra\n3,c\n",
	}, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	p := loaderReport(t, rep, "p")
	if p.Fulfilled != 3 || p.Rejected != 4 {
		t.Fatalf("p: %d fulfilled, %d rejected: %s", p.Fulfilled, p.Rejected, mustJSON(t, p.RejectedItems))
	}
	wantReasons := []string{
		"p.jsonl:2: invalid JSON",
		fmt.Sprintf("p.jsonl:3: line longer than %d bytes", source.MaxLine),
		`key template: map has no entry for key "id"`,
		"p.jsonl:6: invalid JSON",
	}
	for i, r := range p.RejectedItems {
		found := false
		for _, w := range wantReasons {
			found = found || strings.HasPrefix(r.Reason, w)
		}
		if !found {
			t.Errorf("rejected item %d: unexpected reason %q", i, r.Reason)
		}
		if r.Where == "" {
			t.Errorf("rejected item %d has no file:line", i)
		}
	}
	// "id":"" renders the key "p:", which is allowed; key 6 comes after the bad lines.
	if got := srv.Client.Get(context.Background(), "p:6").Val(); got != `{"id":6}` {
		t.Errorf("p:6 = %q: the file must go on after bad lines", got)
	}
	c := loaderReport(t, rep, "c")
	if c.Fulfilled != 2 || c.Rejected != 1 || !strings.HasPrefix(c.RejectedItems[0].Reason, "c.csv:3:") {
		t.Fatalf("csv: %s", mustJSON(t, c))
	}
}

// origin is an httptest server whose answer per path is scripted.
type origin struct {
	*httptest.Server
	mu    sync.Mutex
	hits  map[string]int
	times map[string][]time.Time
}

func newOrigin(t *testing.T, handle func(path string, hit int, w http.ResponseWriter, r *http.Request)) *origin {
	o := &origin{hits: map[string]int{}, times: map[string][]time.Time{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		n := o.hits[r.URL.Path]
		o.times[r.URL.Path] = append(o.times[r.URL.Path], time.Now())
		o.mu.Unlock()
		handle(r.URL.Path, n, w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func TestFetchOutcomesAndReasons(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		switch path {
		case "/ok":
			fmt.Fprint(w, "body of ok")
		case "/missing":
			http.NotFound(w, r)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/busy":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/flaky":
			if hit < 3 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			fmt.Fprint(w, "finally")
		case "/hang":
			<-r.Context().Done()
		}
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
timeout = "300ms"
retries = 2
backoff = "1ms"
[[loader]]
name = "f"
items = { list = ["ok", "missing", "down", "busy", "flaky", "hang"] }
key = "f:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	l := loaderReport(t, rep, "f")
	got := reasons(l)
	attempts := map[string]int{}
	for _, r := range l.RejectedItems {
		attempts[strings.Trim(string(r.Item), `"`)] = r.Attempts
	}
	tests := []struct {
		item, reason string
		requests     int
	}{
		{"ok", "", 1},
		{"flaky", "", 3},
		{"missing", fmt.Sprintf("fetch GET %s/missing: 404 Not Found", o.URL), 1},
		{"down", fmt.Sprintf("fetch GET %s/down: 503 Service Unavailable", o.URL), 3},
		{"busy", fmt.Sprintf("fetch GET %s/busy: 429 Too Many Requests", o.URL), 3},
		{"hang", fmt.Sprintf("fetch GET %s/hang: timeout after 300ms", o.URL), 3},
	}
	for _, tc := range tests {
		t.Run(tc.item, func(t *testing.T) {
			if got[tc.item] != tc.reason {
				t.Errorf("reason %q, want %q", got[tc.item], tc.reason)
			}
			if n := o.count("/" + tc.item); n != tc.requests {
				t.Errorf("origin got %d requests, want %d", n, tc.requests)
			}
			if tc.reason != "" && attempts[tc.item] != tc.requests {
				t.Errorf("attempts %d, want %d", attempts[tc.item], tc.requests)
			}
			val, err := srv.Client.Get(context.Background(), "f:"+tc.item).Result()
			if tc.reason == "" && (err != nil || val == "") {
				t.Errorf("key f:%s missing: %v", tc.item, err)
			}
			if tc.reason != "" && err == nil {
				t.Errorf("key f:%s written for a rejected item", tc.item)
			}
		})
	}
	if v := srv.Client.Get(context.Background(), "f:flaky").Val(); v != "finally" {
		t.Errorf("f:flaky = %q, want the body of the successful attempt", v)
	}
}

func TestBackoffDoublesWithJitter(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(string, int, http.ResponseWriter, *http.Request) {})
	o.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.times[r.URL.Path] = append(o.times[r.URL.Path], time.Now())
		o.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 3
backoff = "40ms"
[[loader]]
name = "b"
items = { list = ["x"] }
key = "b:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	if rep.Rejected != 1 || rep.Loaders[0].RejectedItems[0].Attempts != 4 {
		t.Fatalf("want 1 rejected after 4 attempts: %s", mustJSON(t, rep))
	}
	times := o.times["/x"]
	if len(times) != 4 {
		t.Fatalf("%d requests, want 4", len(times))
	}
	// Delays are 40, 80, 160ms each with jitter 0.5x..1.5x.
	for i, base := range []time.Duration{40, 80, 160} {
		gap := times[i+1].Sub(times[i])
		lo := base * time.Millisecond / 2
		if gap < lo {
			t.Errorf("delay before attempt %d = %v, want at least %v", i+2, gap, lo)
		}
	}
}

func TestNoRetryWhenRetriesZeroAndPermanentErrors(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "z"
items = { range = [1, 5] }
key = "z:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	if rep.Rejected != 5 {
		t.Fatalf("rejected %d, want 5", rep.Rejected)
	}
	for i := 1; i <= 5; i++ {
		if n := o.count(fmt.Sprintf("/%d", i)); n != 1 {
			t.Errorf("item %d fetched %d times with retries = 0", i, n)
		}
	}
}

func TestRetryTouchesOnlyRejectedItems(t *testing.T) {
	srv := redistest.Start(t)
	var healthy atomic.Bool
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		bad := path == "/3" || path == "/7" || path == "/9"
		if bad && !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "v%s", path)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 1
backoff = "1ms"
[[loader]]
name = "a"
items = { range = [1, 10] }
key = "a:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "b"
items = { list = ["x"] }
key = "b:{{.}}"
`, o.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	if rep.Rejected != 3 || eng.ExitCode() != 1 {
		t.Fatalf("first pass: %d rejected, exit %d", rep.Rejected, eng.ExitCode())
	}
	healthy.Store(true)
	if n := eng.Retry("b"); n != 0 {
		t.Fatalf("Retry(b) queued %d, want 0: b had no failures", n)
	}
	if n := eng.Retry(); n != 3 {
		t.Fatalf("Retry queued %d, want 3", n)
	}
	eng.Wait()
	rep = eng.Report()
	checkExact(t, eng, rep)
	if rep.Fulfilled != 11 || rep.Rejected != 0 || eng.ExitCode() != 0 {
		t.Fatalf("after retry: %d fulfilled, %d rejected, exit %d", rep.Fulfilled, rep.Rejected, eng.ExitCode())
	}
	for i := 1; i <= 10; i++ {
		want := 1
		if i == 3 || i == 7 || i == 9 {
			want = 3 // two attempts in the run, one in the retry
		}
		if n := o.count(fmt.Sprintf("/%d", i)); n != want {
			t.Errorf("item %d fetched %d times, want %d", i, n, want)
		}
	}
	if got := len(srv.Keys("a:*")); got != 10 {
		t.Errorf("%d keys a:*, want 10", got)
	}
}

func TestStopRejectsUnfinishedAsInterrupted(t *testing.T) {
	srv := redistest.Start(t)
	started := make(chan struct{}, 100)
	release := make(chan struct{})
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		if path == "/1" {
			fmt.Fprint(w, "fast")
			return
		}
		started <- struct{}{}
		select {
		case <-release:
			fmt.Fprint(w, "late")
		case <-r.Context().Done():
		}
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 4
timeout = "5s"
[[loader]]
name = "s"
items = { range = [1, 100] }
key = "s:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	if err := cfg.SetRedisURL(srv.URL()); err != nil {
		t.Fatal(err)
	}
	rdb := connect(t, cfg)
	eng := newEngine(t, cfg, rdb, warmup.Options{})
	eng.Start()
	for range 3 {
		<-started
	}
	eng.Stop()
	if s := eng.Snapshot(); s.State != warmup.StateStopping && s.State != warmup.StateDone {
		t.Errorf("state after Stop = %s", s.State)
	}
	close(release) // in-flight items settle
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if eng.ExitCode() != 130 || !rep.Interrupted {
		t.Fatalf("exit %d, interrupted %v", eng.ExitCode(), rep.Interrupted)
	}
	l := eng.Snapshot().Loaders[0]
	if l.Read >= 100 {
		t.Errorf("read %d items: Stop must stop taking new ones", l.Read)
	}
	if l.Fulfilled < 1 {
		t.Errorf("in-flight items should have settled, %d fulfilled", l.Fulfilled)
	}
	for _, r := range rep.Loaders[0].RejectedItems {
		if r.Reason != "interrupted" {
			t.Errorf("rejected %s: %q, want interrupted", r.Item, r.Reason)
		}
	}
}

func TestOneBadKeyDoesNotFailItsBatch(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	if err := srv.Client.Do(ctx, "ACL", "SETUSER", "warmer", "on", ">pw-s3cret", "~cache:*", "+set", "+ping", "+config|get").Err(); err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, `
[run]
concurrency = 64
[[loader]]
name = "acl"
items = { range = [1, 400] }
key = "{{if eq (printf \"%d\" .) \"200\"}}other{{else}}cache{{end}}:{{.}}"
`, nil, nil)
	if err := cfg.SetRedisURL(fmt.Sprintf("redis://warmer:pw-s3cret@%s/0", srv.Addr())); err != nil {
		t.Fatal(err)
	}
	eng, rep := runURL(t, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if rep.Fulfilled != 399 || rep.Rejected != 1 {
		t.Fatalf("%d fulfilled, %d rejected; want 399/1", rep.Fulfilled, rep.Rejected)
	}
	r := rep.Loaders[0].RejectedItems[0]
	if r.Key != "other:200" || !strings.Contains(r.Reason, "NOPERM") || !strings.HasPrefix(r.Reason, "redis SET other:200: ") || r.Attempts != 1 {
		t.Fatalf("rejection %+v", r)
	}
	if strings.Contains(mustJSON(t, rep), "pw-s3cret") {
		t.Fatal("password in report")
	}
}

// A rate-limited loader waits for its rate before it takes a shared slot,
// so it never starves the other loaders.
func TestRateLimitedLoaderDoesNotStarveOthers(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(_ string, _ int, w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 2
[[loader]]
name = "slow"
items = { range = [1, 4] }
key = "slow:{{.}}"
rate = "2/s"
[[loader]]
name = "fast"
items = { range = [1, 50] }
key = "fast:{{.}}"
fetch = { url = "%s/{{.}}" }
`, o.URL), nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := eng.Snapshot()
		if s.Loaders[1].Done {
			if slow := s.Loaders[0].Settled(); slow > 2 {
				t.Fatalf("fast loader finished only after %d of the rate-limited items: it was starved", slow)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fast loader did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	eng.Wait()
	if rep := eng.Report(); rep.Fulfilled != 54 {
		t.Fatalf("%d fulfilled", rep.Fulfilled)
	}
}

// A finished run's pace is nothing: the monitor, which stops redrawing
// once a run is quiet, must not go on showing the last seconds' items/s.
func TestDoneRunHasNoRate(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[[loader]]
name = "r"
items = { range = [1, 600] }
key = "r:{{.}}"
rate = "1000/s"
`, nil, nil)
	if err := cfg.SetRedisURL(srv.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{})
	eng.Start()
	eng.Wait()
	s := eng.Snapshot()
	if s.State != warmup.StateDone || s.Rate != 0 || s.Loaders[0].Rate != 0 {
		t.Fatalf("done: state %s, %.0f items/s, loader %.0f items/s; want 0", s.State, s.Rate, s.Loaders[0].Rate)
	}
}

// A consumer of the callbacks (--json) sees every rejection of a loader
// before that loader's done: the last rejection settles the loader, and
// the done must not overtake it.
func TestRejectionsReportedBeforeLoaderDone(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
concurrency = 8
[[loader]]
name = "a"
items = { range = [1, 300] }
key = "a:{{.}}"
fetch = { url = "%s/a/{{.}}" }
[[loader]]
name = "b"
items = { range = [1, 300] }
key = "b:{{.}}"
fetch = { url = "%s/b/{{.}}" }
`, o.URL, o.URL), nil, nil)
	var mu sync.Mutex
	rejected := map[string]int{}
	var late []string
	opts := warmup.Options{
		OnReject: func(loader string, _ warmup.Rejection) {
			mu.Lock()
			defer mu.Unlock()
			if rejected[loader] < 0 {
				late = append(late, loader)
			}
			rejected[loader]++
		},
		OnLoaderDone: func(l warmup.LoaderSnapshot) {
			mu.Lock()
			defer mu.Unlock()
			if int64(rejected[l.Name]) != l.Rejected {
				t.Errorf("%s done after %d rejection events, with %d rejected", l.Name, rejected[l.Name], l.Rejected)
			}
			rejected[l.Name] = -1 << 30
		},
	}
	_, rep := runAgainst(t, srv, cfg, opts)
	if rep.Rejected != 600 {
		t.Fatalf("rejected %d, want 600", rep.Rejected)
	}
	if len(late) > 0 {
		t.Errorf("rejection events after their loader's done: %v", late)
	}
}
