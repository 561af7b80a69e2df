package warmup_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
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
