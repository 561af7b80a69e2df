package fetch_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/fetch"
)

// get fetches r with a client made from o, failing the test on a BadURL
// (every test but TestBadURL means its URLs).
func get(t *testing.T, o fetch.Options, r fetch.Request) ([]byte, *fetch.Error) {
	t.Helper()
	c := fetch.New(o)
	defer c.CloseIdle()
	body, ferr := c.Get(context.Background(), r)
	if ferr != nil && ferr.BadURL {
		t.Fatalf("GET %s: bad URL: %s", r.URL, ferr.Cause)
	}
	return body, ferr
}

// checkErr compares a fetch error with the cause and transience wanted;
// an empty cause wants success.
func checkErr(t *testing.T, ferr *fetch.Error, cause string, transient bool) {
	t.Helper()
	switch {
	case ferr == nil && cause != "":
		t.Fatalf("succeeded, want %q", cause)
	case ferr != nil && cause == "":
		t.Fatalf("failed: %q (transient %v)", ferr.Cause, ferr.Transient)
	case ferr != nil && (ferr.Cause != cause || ferr.Transient != transient):
		t.Fatalf("cause %q transient %v, want %q transient %v", ferr.Cause, ferr.Transient, cause, transient)
	}
}

func TestStatus(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &code)
		// A reason phrase and body the cause must not quote.
		w.WriteHeader(code)
		fmt.Fprint(w, "secret body")
	}))
	defer o.Close()
	tests := []struct {
		code      int
		cause     string
		transient bool
	}{
		{200, "", false},
		{204, "", false},
		{404, "404 Not Found", false},
		{403, "403 Forbidden", false},
		{408, "408 Request Timeout", true},
		{429, "429 Too Many Requests", true},
		{500, "500 Internal Server Error", true},
		{503, "503 Service Unavailable", true},
		{304, "304 Not Modified", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			body, ferr := get(t, fetch.Options{}, fetch.Request{URL: fmt.Sprintf("%s/%d", o.URL, tc.code)})
			checkErr(t, ferr, tc.cause, tc.transient)
			want := "secret body"
			if tc.code == 204 {
				want = ""
			}
			if ferr == nil && string(body) != want {
				t.Errorf("body %q, want %q", body, want)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{} // host name + path → request headers
	record := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		host, _, _ := net.SplitHostPort(r.Host)
		seen[host+r.URL.Path] = r.Header.Clone()
	}
	var originURL string
	// other is reached as localhost, the origin as 127.0.0.1: another host.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		if r.URL.Path == "/back" {
			http.Redirect(w, r, originURL+"/home", http.StatusFound)
			return
		}
		fmt.Fprint(w, "landed elsewhere")
	}))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		case "/new":
			fmt.Fprint(w, "fresh")
		case "/away":
			http.Redirect(w, r, otherURL+"/landing", http.StatusFound)
		case "/boomerang":
			http.Redirect(w, r, otherURL+"/back", http.StatusFound)
		case "/home":
			fmt.Fprint(w, "home again")
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ten":
			// 10 redirects are followed: /ten/1 … /ten/10, then /new.
			var n int
			fmt.Sscan(r.URL.Query().Get("n"), &n)
			if n == 10 {
				http.Redirect(w, r, "/new", http.StatusFound)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/ten?n=%d", n+1), http.StatusFound)
		case "/noloc":
			w.WriteHeader(http.StatusFound)
		case "/mailto":
			w.Header().Set("Location", "mailto:ops@shop.test")
			w.WriteHeader(http.StatusFound)
		case "/badloc":
			w.Header().Set("Location", "http://shop.test/%zz")
			w.WriteHeader(http.StatusFound)
		}
	}))
	defer o.Close()
	originURL = o.URL
	headers := map[string]string{
		"Authorization":   "Bearer s3cret",
		"Cookie":          "session=c00kie",
		"x-api-key":       "k3y", // private, named in another case
		"Accept-Language": "de",
	}
	private := map[string]bool{"X-Api-Key": true}
	tests := []struct {
		path, body, cause string
	}{
		{"/old", "fresh", ""},
		{"/away", "landed elsewhere", ""},
		{"/boomerang", "home again", ""},
		{"/ten?n=1", "fresh", ""},
		{"/loop", "", "more than 10 redirects"},
		{"/noloc", "", "302 Found without a Location"},
		{"/mailto", "", "302 Found to a location that is not an http(s) URL"},
		{"/badloc", "", "redirect to a Location that does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			body, ferr := get(t, fetch.Options{}, fetch.Request{URL: o.URL + tc.path, Headers: headers, Private: private})
			checkErr(t, ferr, tc.cause, false)
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
		})
	}

	mu.Lock()
	defer mu.Unlock()
	sent := func(where string, h http.Header, want map[string]string) {
		t.Helper()
		if h == nil {
			t.Errorf("%s: not reached", where)
			return
		}
		for _, k := range []string{"Authorization", "Cookie", "X-Api-Key", "Accept-Language"} {
			if h.Get(k) != want[k] {
				t.Errorf("%s: %s = %q, want %q", where, k, h.Get(k), want[k])
			}
		}
	}
	all := map[string]string{"Authorization": "Bearer s3cret", "Cookie": "session=c00kie", "X-Api-Key": "k3y", "Accept-Language": "de"}
	public := map[string]string{"Accept-Language": "de"}
	sent("same-host redirect", seen["127.0.0.1/new"], all)
	sent("redirect to another host", seen["localhost/landing"], public)
	sent("another host on the way back", seen["localhost/back"], public)
	sent("back on the first host", seen["127.0.0.1/home"], public)
}

func TestUserAgentAndHost(t *testing.T) {
	var mu sync.Mutex
	var ua, host string
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ua, host = r.Header.Get("User-Agent"), r.Host
	}))
	defer o.Close()
	tests := []struct {
		name             string
		headers          map[string]string
		wantUA, wantHost string
	}{
		{"default", nil, "cachewarm/test", strings.TrimPrefix(o.URL, "http://")},
		{"override", map[string]string{"user-agent": "runbook/7"}, "runbook/7", strings.TrimPrefix(o.URL, "http://")},
		{"host header", map[string]string{"Host": "shop.test"}, "cachewarm/test", "shop.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := get(t, fetch.Options{UserAgent: "cachewarm/test"}, fetch.Request{URL: o.URL, Headers: tc.headers})
			checkErr(t, ferr, "", false)
			mu.Lock()
			defer mu.Unlock()
			if ua != tc.wantUA || host != tc.wantHost {
				t.Errorf("User-Agent %q Host %q, want %q %q", ua, host, tc.wantUA, tc.wantHost)
			}
		})
	}
}

// blockingOrigin answers /headers never and /body with headers and a
// first chunk, then nothing, until the test ends. arrived gets a value
// when a request is being held.
func blockingOrigin(t *testing.T) (o *httptest.Server, arrived chan struct{}) {
	arrived = make(chan struct{}, 16)
	release := make(chan struct{})
	o = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			fmt.Fprint(w, "first chunk")
			w.(http.Flusher).Flush()
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		o.Close()
	})
	return o, arrived
}

func TestTimeout(t *testing.T) {
	o, _ := blockingOrigin(t)
	for _, path := range []string{"/headers", "/body"} {
		t.Run(path, func(t *testing.T) {
			start := time.Now()
			_, ferr := get(t, fetch.Options{Timeout: 200 * time.Millisecond}, fetch.Request{URL: o.URL + path})
			checkErr(t, ferr, "timeout after 200ms", true)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// Cancelling the context ends a request at once, whether it waits for
// headers or reads the body, however long the timeout.
func TestCancelEndsRequestAtOnce(t *testing.T) {
	o, arrived := blockingOrigin(t)
	c := fetch.New(fetch.Options{Timeout: time.Hour})
	defer c.CloseIdle()
	for _, path := range []string{"/headers", "/body"} {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan *fetch.Error, 1)
			go func() {
				_, ferr := c.Get(ctx, fetch.Request{URL: o.URL + path})
				done <- ferr
			}()
			<-arrived
			cancel()
			select {
			case ferr := <-done:
				checkErr(t, ferr, "interrupted", false)
			case <-time.After(10 * time.Second):
				t.Fatal("Get still running 10s after its context was cancelled")
			}
		})
	}
	t.Run("before the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, ferr := c.Get(ctx, fetch.Request{URL: o.URL + "/headers"})
		checkErr(t, ferr, "interrupted", false)
	})
}

// A body over MaxBody is rejected however it comes, and the client stops
// reading at once: streaming 64 MiB at a 1 MiB limit allocates a few
// MiB, not 64.
func TestBodyLimit(t *testing.T) {
	const limit = 1 << 20
	var mu sync.Mutex
	var streamed int64
	streamDone := make(chan struct{}, 1)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/exact":
			w.Write(make([]byte, limit))
		case "/length":
			w.Header().Set("Content-Length", fmt.Sprint(limit+1))
			w.Write(make([]byte, limit+1))
		case "/gzip":
			// 16 MiB of zeros compress to a few KiB.
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(make([]byte, 16<<20))
			zw.Close()
		case "/stream":
			defer func() { streamDone <- struct{}{} }()
			chunk := make([]byte, 32<<10)
			f := w.(http.Flusher)
			for n := int64(0); n < 64<<20; n += int64(len(chunk)) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				f.Flush()
				mu.Lock()
				streamed += int64(len(chunk))
				mu.Unlock()
			}
		}
	}))
	defer o.Close()
	opts := fetch.Options{MaxBody: limit}
	for _, path := range []string{"/length", "/gzip"} {
		t.Run(path, func(t *testing.T) {
			_, ferr := get(t, opts, fetch.Request{URL: o.URL + path})
			checkErr(t, ferr, "body larger than 1 MiB", false)
		})
	}
	t.Run("/exact", func(t *testing.T) {
		body, ferr := get(t, opts, fetch.Request{URL: o.URL + "/exact"})
		checkErr(t, ferr, "", false)
		if len(body) != limit {
			t.Errorf("body of %d bytes, want %d", len(body), limit)
		}
	})
	t.Run("/stream", func(t *testing.T) {
		c := fetch.New(opts)
		defer c.CloseIdle()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, ferr := c.Get(context.Background(), fetch.Request{URL: o.URL + "/stream"})
		runtime.ReadMemStats(&after)
		checkErr(t, ferr, "body larger than 1 MiB", false)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
			t.Errorf("allocated %d MiB for a 1 MiB limit", alloc>>20)
		}
		select {
		case <-streamDone:
		case <-time.After(10 * time.Second):
			t.Fatal("the origin is still streaming: the client did not drop the connection")
		}
		mu.Lock()
		defer mu.Unlock()
		if streamed >= 64<<20 {
			t.Errorf("the origin streamed all %d MiB", streamed>>20)
		}
	})
}

func TestTLSVerifiesTheOrigin(t *testing.T) {
	o := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret page")
	}))
	o.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake
	defer o.Close()
	_, ferr := get(t, fetch.Options{}, fetch.Request{URL: o.URL})
	checkErr(t, ferr, "tls: certificate signed by unknown authority", false)
}

// A plain http:// origin is requested from the proxy by absolute URL.
func TestProxy(t *testing.T) {
	var mu sync.Mutex
	var requestURIs []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requestURIs = append(requestURIs, r.RequestURI)
		mu.Unlock()
		// origin.test exists only here.
		fmt.Fprint(w, "via proxy "+r.URL.Path)
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	opts := fetch.Options{Proxy: http.ProxyURL(proxyURL)}
	body, ferr := get(t, opts, fetch.Request{URL: "http://origin.test/a"})
	checkErr(t, ferr, "", false)
	if string(body) != "via proxy /a" {
		t.Errorf("body %q", body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requestURIs) != 1 || requestURIs[0] != "http://origin.test/a" {
		t.Errorf("proxy saw %q, want the absolute URL http://origin.test/a", requestURIs)
	}
}

// An origin that closes idle connections sooner than the client lets
// them go is not the caller's problem: every request succeeds.
func TestStaleKeepAlive(t *testing.T) {
	t.Run("idle timeout", func(t *testing.T) {
		o := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "ok")
		}))
		o.Config.IdleTimeout = 200 * time.Millisecond
		o.Start()
		defer o.Close()
		c := fetch.New(fetch.Options{Concurrency: 1})
		defer c.CloseIdle()
		for i := range 4 {
			if i > 0 {
				// Pacing, not synchronisation: the origin's idle timeout
				// passes between requests.
				time.Sleep(300 * time.Millisecond)
			}
			if _, ferr := c.Get(context.Background(), fetch.Request{URL: o.URL}); ferr != nil {
				t.Fatalf("request %d: %s", i, ferr.Cause)
			}
		}
	})
	// The worst case, without timing: the origin reads the second request
	// on each connection and closes it without an answer.
	t.Run("closed on reuse", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var unanswered atomic.Int32
		go serveOneRequestPerConn(l, &unanswered)
		c := fetch.New(fetch.Options{Concurrency: 1})
		defer c.CloseIdle()
		for i := range 4 {
			body, ferr := c.Get(context.Background(), fetch.Request{URL: "http://" + l.Addr().String() + "/"})
			if ferr != nil {
				t.Fatalf("request %d: %s", i, ferr.Cause)
			}
			if string(body) != "ok" {
				t.Fatalf("request %d: body %q", i, body)
			}
		}
		// Each request after the first went to a kept-alive connection
		// first (the origin closes it after reading the request), then to
		// a new one.
		if n := unanswered.Load(); n != 3 {
			t.Errorf("%d requests went unanswered on a reused connection, want 3", n)
		}
	})
}

// serveOneRequestPerConn answers the first request on each connection
// as keep-alive, then reads the next and closes without an answer.
func serveOneRequestPerConn(l net.Listener, unanswered *atomic.Int32) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			br := bufio.NewReader(conn)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			if _, err := http.ReadRequest(br); err == nil {
				unanswered.Add(1)
			}
		}()
	}
}

func TestURLPathIsEscaped(t *testing.T) {
	var mu sync.Mutex
	var requestURI string
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		requestURI = r.RequestURI
	}))
	defer o.Close()
	_, ferr := get(t, fetch.Options{}, fetch.Request{URL: o.URL + "/ok/a b"})
	checkErr(t, ferr, "", false)
	mu.Lock()
	defer mu.Unlock()
	if requestURI != "/ok/a%20b" {
		t.Errorf("request URI %q, want /ok/a%%20b", requestURI)
	}
}

func TestBadURL(t *testing.T) {
	c := fetch.New(fetch.Options{})
	for _, raw := range []string{"ftp://shop.test/a", "shop.test/a", "http:///a", "http://shop.test/%zz", "http://shop test/", ""} {
		t.Run(raw, func(t *testing.T) {
			_, ferr := c.Get(context.Background(), fetch.Request{URL: raw})
			if ferr == nil || !ferr.BadURL || ferr.Transient {
				t.Fatalf("got %+v, want a BadURL error", ferr)
			}
			if raw != "" && strings.Contains(ferr.Cause, raw) {
				t.Errorf("cause %q repeats the URL", ferr.Cause)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()

	// An origin that answers nonsense, with a secret the cause must not
	// quote.
	bad, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	go answerRaw(bad, "HTTP/1.1 2OO OK\r\nX-Token: origin-private\r\n\r\n")

	// An origin that hangs up before answering.
	hangup, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangup.Close()
	go answerRaw(hangup, "")

	// An origin whose header block passes 64 KiB.
	bigHeader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Huge", strings.Repeat("x", 70<<10))
	}))
	defer bigHeader.Close()

	tests := []struct {
		name, url, cause string
		transient        bool
	}{
		{"refused", refused, "connection refused", true},
		{"malformed", "http://" + bad.Addr().String() + "/", "malformed response: malformed HTTP status code", false},
		{"hang up", "http://" + hangup.Addr().String() + "/", "connection closed", true},
		{"header too large", bigHeader.URL, "response header larger than 64 KiB", false},
		{"no such host", "http://no-such-host.invalid/", "cannot resolve host no-such-host.invalid", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := get(t, fetch.Options{Proxy: noProxy}, fetch.Request{URL: tc.url})
			if tc.name == "no such host" && ferr != nil && ferr.Transient {
				// A sandbox without DNS fails the lookup otherwise.
				if !strings.HasPrefix(ferr.Cause, "cannot resolve host no-such-host.invalid") {
					t.Fatalf("cause %q", ferr.Cause)
				}
				return
			}
			checkErr(t, ferr, tc.cause, tc.transient)
		})
	}
}

func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// answerRaw reads a request line on each connection, writes answer and
// closes it.
func answerRaw(l net.Listener, answer string) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			bufio.NewReader(conn).ReadString('\n')
			io.WriteString(conn, answer)
		}()
	}
}
