package fetch_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/fetch"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
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

// Every status is sorted one way: a 2xx with a body is the value; an
// empty one is rejected unless allowed; 408, 425, 429 and 5xx may be
// retried, with the origin's Retry-After; other 4xx and 3xx that cannot
// be followed are final.
func TestStatus(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &code)
		if ra := r.URL.Query().Get("retry-after"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(code)
		if r.URL.Query().Get("empty") == "" {
			// A body the cause must not quote.
			fmt.Fprint(w, "secret body")
		}
	}))
	defer o.Close()
	tests := []struct {
		path       string
		allowEmpty bool
		cause      string
		transient  bool
	}{
		{"/200", false, "", false},
		{"/201", false, "", false},
		{"/203", false, "", false},
		{"/299", false, "", false},
		{"/200?empty=1", false, "empty body (200 OK)", false},
		{"/200?empty=1", true, "", false},
		{"/204", false, "empty body (204 No Content)", false},
		{"/204", true, "", false},
		{"/300", false, "300 Multiple Choices", false},
		{"/302", false, "302 Found without a Location", false},
		{"/304", false, "304 Not Modified", false},
		{"/400", false, "400 Bad Request", false},
		{"/401", false, "401 Unauthorized", false},
		{"/403", false, "403 Forbidden", false},
		{"/404", false, "404 Not Found", false},
		{"/410", false, "410 Gone", false},
		{"/422", false, "422 Unprocessable Entity", false},
		{"/408", false, "408 Request Timeout", true},
		{"/425", false, "425 Too Early", true},
		{"/429", false, "429 Too Many Requests", true},
		{"/500", false, "500 Internal Server Error", true},
		{"/501", false, "501 Not Implemented", true},
		{"/502", false, "502 Bad Gateway", true},
		{"/503", false, "503 Service Unavailable", true},
		{"/504", false, "504 Gateway Timeout", true},
		{"/599", false, "599", true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s allow_empty=%v", tc.path, tc.allowEmpty), func(t *testing.T) {
			body, ferr := get(t, fetch.Options{}, fetch.Request{URL: o.URL + tc.path, AllowEmpty: tc.allowEmpty})
			checkErr(t, ferr, tc.cause, tc.transient)
			want := "secret body"
			if tc.allowEmpty {
				want = ""
			}
			if ferr == nil && string(body) != want {
				t.Errorf("body %q, want %q", body, want)
			}
		})
	}
}

// A retried status carries the origin's Retry-After, in seconds or as
// an HTTP-date; a final status's is ignored, since nothing follows it.
func TestRetryAfter(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &code)
		w.Header().Set("Retry-After", r.URL.Query().Get("v"))
		w.WriteHeader(code)
	}))
	defer o.Close()
	in30s := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		code     int
		value    string
		min, max time.Duration
	}{
		{429, "7", 7 * time.Second, 7 * time.Second},
		{503, " 120 ", 120 * time.Second, 120 * time.Second},
		{408, "0", 0, 0},
		{425, "1", time.Second, time.Second},
		{503, in30s, 28 * time.Second, 30 * time.Second},
		{429, past, 0, 0},
		{429, "soon", 0, 0},
		{429, "-5", 0, 0},
		{429, "", 0, 0},
		{429, "99999999999999999999", 100 * 365 * 24 * time.Hour, time.Duration(1<<63 - 1)},
		{404, "7", 0, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %s", tc.code, tc.value), func(t *testing.T) {
			_, ferr := get(t, fetch.Options{}, fetch.Request{URL: fmt.Sprintf("%s/%d?v=%s", o.URL, tc.code, url.QueryEscape(tc.value))})
			if ferr == nil {
				t.Fatal("succeeded")
			}
			if ferr.RetryAfter < tc.min || ferr.RetryAfter > tc.max {
				t.Errorf("RetryAfter %v, want %v..%v", ferr.RetryAfter, tc.min, tc.max)
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
		case "/metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
		case "/metadata6":
			http.Redirect(w, r, "http://[fe80::a9fe:a9fe]/latest/", http.StatusFound)
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
		// A cloud metadata service is never reached, however the chain
		// gets there: its credentials would be written to Redis.
		{"/metadata", "", "link-local address refused (cloud metadata services live there)"},
		{"/metadata6", "", "link-local address refused (cloud metadata services live there)"},
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
		// Referer would carry the previous hop's URL, a ?token= with it.
		for _, k := range []string{"Authorization", "Cookie", "X-Api-Key", "Accept-Language", "Referer"} {
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
		fmt.Fprint(w, "ok")
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
				checkInterrupted(t, ferr)
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
		checkInterrupted(t, ferr)
	})
}

// checkInterrupted wants ferr to be an interruption in the one vocabulary
// the fetcher and the Redis writer share: it Is context.Canceled, which
// the writer's classifier reads as Interrupted; no cause string needed.
func checkInterrupted(t *testing.T, ferr *fetch.Error) {
	t.Helper()
	var err error = ferr
	if !errors.Is(err, context.Canceled) || rediswrite.Classify(err) != rediswrite.Interrupted {
		t.Errorf("an interrupted fetch (%v) is not context.Canceled to errors.Is (class %v)", ferr, rediswrite.Classify(err))
	}
}

// A body over MaxBody is rejected however it comes, and the client stops
// reading at once: streaming 64 MiB at a 1 MiB limit allocates a few
// MiB, not 64.
func TestBodyLimit(t *testing.T) {
	const limit = 1 << 20
	// 256 MiB of zeros each, sent as a few hundred KiB.
	gzBomb, flBomb := gzipBomb(256), deflateBomb(256)
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
		case "/gzip", "/x-gzip":
			w.Header().Set("Content-Encoding", path.Base(r.URL.Path))
			w.Write(gzBomb)
		case "/deflate":
			w.Header().Set("Content-Encoding", "deflate")
			w.Write(flBomb)
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
	t.Run("/length", func(t *testing.T) {
		_, ferr := get(t, opts, fetch.Request{URL: o.URL + "/length"})
		checkErr(t, ferr, "body larger than 1 MiB", false)
	})
	// A compressed bomb is cut off at the limit's size decoded: decoding
	// it all would allocate 256 MiB.
	for _, p := range []string{"/gzip", "/x-gzip", "/deflate"} {
		t.Run(p+" bomb", func(t *testing.T) {
			c := fetch.New(opts)
			defer c.CloseIdle()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, ferr := c.Get(context.Background(), fetch.Request{URL: o.URL + p})
			runtime.ReadMemStats(&after)
			checkErr(t, ferr, "body larger than 1 MiB", false)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
				t.Errorf("allocated %d MiB for a 1 MiB limit", alloc>>20)
			}
		})
	}
	t.Run("bombs are what they claim", func(t *testing.T) {
		// Made the same way, 3 MiB bombs decode to 3 MiB under a limit
		// they fit in.
		small := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", path.Base(r.URL.Path))
			if r.URL.Path == "/deflate" {
				w.Write(deflateBomb(3))
				return
			}
			w.Write(gzipBomb(3))
		}))
		defer small.Close()
		for _, p := range []string{"/gzip", "/x-gzip", "/deflate"} {
			body, ferr := get(t, fetch.Options{MaxBody: 4 << 20}, fetch.Request{URL: small.URL + p})
			checkErr(t, ferr, "", false)
			if len(body) != 3<<20 || bytes.IndexFunc(body, func(r rune) bool { return r != 0 }) >= 0 {
				t.Errorf("%s: %d bytes decoded, want 3 MiB of zeros", p, len(body))
			}
		}
	})
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

// The value stored is the decoded body, whatever coding the origin
// chose, unless the loader asked for an encoding itself.
func TestContentEncoding(t *testing.T) {
	const value = `{"id":1,"name":"widget"}`
	encoded := map[string][]byte{
		"gzip":        gzipped([]byte(value)),
		"zlib":        zlibbed([]byte(value)),
		"raw-deflate": deflated([]byte(value)),
		"gzip-zlib":   zlibbed(gzipped([]byte(value))),
		"br":          []byte("\x1b\x17\x00\xf8brotli-ish"),
		"corrupt":     []byte("\x1f\x8b\x08\x00not gzip at all"),
		"plain":       []byte(value),
		"empty":       nil,
	}
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Encoding", q.Get("ce"))
		w.Header().Set("X-Accept-Encoding", r.Header.Get("Accept-Encoding"))
		w.Write(encoded[q.Get("body")])
	}))
	defer o.Close()
	tests := []struct {
		name, ce, body string
		headers        map[string]string
		allowEmpty     bool
		want, cause    string
	}{
		{"gzip, asked by net/http", "gzip", "gzip", nil, false, value, ""},
		{"x-gzip", "x-gzip", "gzip", nil, false, value, ""},
		{"GZIP in capitals", "GZIP", "gzip", nil, false, value, ""},
		{"deflate as zlib", "deflate", "zlib", nil, false, value, ""},
		{"deflate raw", "deflate", "raw-deflate", nil, false, value, ""},
		{"two codings", "gzip, deflate", "gzip-zlib", nil, false, value, ""},
		{"identity", "identity", "plain", nil, false, value, ""},
		{"br", "br", "br", nil, false, "", "unsupported Content-Encoding br"},
		{"zstd", "zstd", "br", nil, false, "", "unsupported Content-Encoding zstd"},
		{"unknown coding not quoted", "s3cret-coding", "br", nil, false, "", "unsupported Content-Encoding"},
		{"three codings", "gzip, gzip, gzip", "gzip", nil, false, "", "more than 2 Content-Encodings"},
		{"corrupt x-gzip", "x-gzip", "corrupt", nil, false, "", "body does not decode as gzip"},
		{"corrupt gzip, asked by net/http", "gzip", "corrupt", nil, false, "", "body does not decode as gzip"},
		{"empty deflate", "deflate", "empty", nil, false, "", "empty body (200 OK)"},
		{"empty deflate allowed", "deflate", "empty", nil, true, "", ""},
		{"Accept-Encoding set: gzip kept as sent", "gzip", "gzip", map[string]string{"accept-encoding": "gzip"}, false, string(encoded["gzip"]), ""},
		{"Accept-Encoding set: deflate kept as sent", "deflate", "zlib", map[string]string{"Accept-Encoding": "identity"}, false, string(encoded["zlib"]), ""},
		{"Accept-Encoding set: br kept as sent", "br", "br", map[string]string{"Accept-Encoding": "br"}, false, string(encoded["br"]), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := fmt.Sprintf("%s/?ce=%s&body=%s", o.URL, url.QueryEscape(tc.ce), tc.body)
			body, ferr := get(t, fetch.Options{}, fetch.Request{URL: u, Headers: tc.headers, AllowEmpty: tc.allowEmpty})
			checkErr(t, ferr, tc.cause, false)
			if ferr == nil && string(body) != tc.want {
				t.Errorf("body %q, want %q", body, tc.want)
			}
		})
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func deflated(b []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	fw.Write(b)
	fw.Close()
	return buf.Bytes()
}

// gzipBomb is mib MiB of zeros in about mib KiB: gzip members, each one
// compressed MiB, which a reader decodes one after the other.
func gzipBomb(mib int) []byte {
	return bytes.Repeat(gzipped(make([]byte, 1<<20)), mib)
}

// deflateBomb is mib MiB of zeros as raw deflate: one compressed MiB
// ended by a sync flush (so that it ends on a byte boundary and is not
// final), repeated, then an empty final block.
func deflateBomb(mib int) []byte {
	var one bytes.Buffer
	fw, _ := flate.NewWriter(&one, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	return append(bytes.Repeat(one.Bytes(), mib), 0x03, 0x00)
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
		fmt.Fprint(w, "ok")
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
