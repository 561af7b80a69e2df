package warmup_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// What net/http gave the fetcher for free is kept: redirects are
// followed without carrying credentials to another host (here also
// credential-like and ${VAR} headers, which net/http would send), a
// redirect loop, a redirect without a usable Location and an oversized
// header are rejected with a reason and not retried, and a User-Agent
// names cachewarm unless the loader sets one.
func TestFetchRedirectsHeadersAndUserAgent(t *testing.T) {
	srv := redistest.Start(t)
	var mu sync.Mutex
	seen := map[string]http.Header{} // host:path → request headers
	record := func(r *http.Request) {
		mu.Lock()
		seen[r.Host+r.URL.Path] = r.Header.Clone()
		mu.Unlock()
	}
	var originURL string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if r.URL.Path == "/back" {
			http.Redirect(w, r, originURL+"/home", http.StatusFound)
			return
		}
		fmt.Fprint(w, "landed elsewhere")
	}))
	defer other.Close()
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		case "/new":
			fmt.Fprint(w, "fresh")
		case "/away":
			// Another host name: credentials must not follow.
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/landing", http.StatusFound)
		case "/boomerang":
			// To another host and back: credentials must stay off.
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/back", http.StatusFound)
		case "/home":
			fmt.Fprint(w, "home again")
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/noloc":
			w.WriteHeader(http.StatusFound)
		case "/mailto":
			w.Header().Set("Location", "mailto:ops@shop.test")
			w.WriteHeader(http.StatusFound)
		case "/bighdr":
			w.Header().Set("X-Huge", strings.Repeat("x", 70<<10))
			fmt.Fprint(w, "unreachable")
		default:
			fmt.Fprint(w, "plain")
		}
	}))
	defer o.Close()
	originURL = o.URL
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 2
backoff = "1ms"
[[loader]]
name = "auth"
items = { list = ["old", "away", "boomerang", "loop", "noloc", "mailto", "bighdr"] }
key = "auth:{{.}}"
fetch = { url = "%[1]s/{{.}}", headers = { Authorization = "Bearer s3cret", X-Api-Key = "k3y", X-Tenant = "${TENANT}", Accept-Language = "de" } }
[[loader]]
name = "ua"
items = { list = ["default"] }
key = "ua:{{.}}"
fetch = { url = "%[1]s/{{.}}" }
[[loader]]
name = "custom"
items = { list = ["custom"] }
key = "custom:{{.}}"
fetch = { url = "%[1]s/{{.}}", headers = { User-Agent = "runbook/7" } }
`, o.URL), nil, map[string]string{"TENANT": "acme-7"})
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)

	auth := loaderReport(t, rep, "auth")
	got := reasons(auth)
	attempts := map[string]int{}
	for _, r := range auth.RejectedItems {
		attempts[strings.Trim(string(r.Item), `"`)] = r.Attempts
	}
	originHost := strings.TrimPrefix(o.URL, "http://")
	otherHost := strings.Replace(strings.TrimPrefix(other.URL, "http://"), "127.0.0.1", "localhost", 1)
	tests := []struct {
		item, value, reason string
	}{
		{"old", "fresh", ""},
		{"away", "landed elsewhere", ""},
		{"boomerang", "home again", ""},
		{"loop", "", fmt.Sprintf("fetch GET %s/loop: more than 10 redirects", o.URL)},
		{"noloc", "", fmt.Sprintf("fetch GET %s/noloc: 302 Found without a Location", o.URL)},
		{"mailto", "", fmt.Sprintf("fetch GET %s/mailto: 302 Found to a location that is not an http(s) URL", o.URL)},
		{"bighdr", "", fmt.Sprintf("fetch GET %s/bighdr: response header larger than 64 KiB", o.URL)},
	}
	for _, tc := range tests {
		t.Run(tc.item, func(t *testing.T) {
			if got[tc.item] != tc.reason {
				t.Fatalf("reason %q, want %q", got[tc.item], tc.reason)
			}
			if tc.reason != "" {
				if attempts[tc.item] != 1 {
					t.Errorf("attempts %d, want 1: retrying cannot help", attempts[tc.item])
				}
				return
			}
			if v, err := srv.Client.Get(context.Background(), "auth:"+tc.item).Result(); err != nil || v != tc.value {
				t.Errorf("auth:%s = %q (%v), want %q", tc.item, v, err, tc.value)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	all := map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "X-Tenant": "acme-7", "Accept-Language": "de"}
	if h := seen[originHost+"/new"]; h == nil {
		t.Error("the same-host redirect was not followed")
	} else {
		for k, v := range all {
			if h.Get(k) != v {
				t.Errorf("same-host redirect: %s = %q, want %q", k, h.Get(k), v)
			}
		}
	}
	if h := seen[otherHost+"/landing"]; h == nil {
		t.Error("the redirect to another host was not followed")
	} else {
		for k, v := range all {
			want := ""
			if k == "Accept-Language" {
				want = v // not a credential: it follows
			}
			if h.Get(k) != want {
				t.Errorf("redirect to another host: %s = %q, want %q", k, h.Get(k), want)
			}
		}
	}
	if h := seen[originHost+"/home"]; h == nil || h.Get("Authorization") != "" || h.Get("X-Api-Key") != "" {
		t.Errorf("back on the first host after another: reached %v, Authorization %q, X-Api-Key %q (want both dropped)",
			h != nil, h.Get("Authorization"), h.Get("X-Api-Key"))
	}
	if ua := seen[originHost+"/default"].Get("User-Agent"); ua != "cachewarm" {
		t.Errorf("User-Agent %q, want cachewarm", ua)
	}
	if ua := seen[originHost+"/custom"].Get("User-Agent"); ua != "runbook/7" {
		t.Errorf("User-Agent %q, want the loader's runbook/7", ua)
	}
}

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
