package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTestOrigin starts an origin closed at the end of the test.
func startTestOrigin(t *testing.T, cfg OriginConfig) *Origin {
	t.Helper()
	o, err := StartOrigin(cfg)
	if err != nil {
		t.Fatalf("StartOrigin: %v", err)
	}
	t.Cleanup(o.Close)
	return o
}

// result is what a client saw for one request.
type result struct {
	status  int // 0 when the request failed
	err     error
	body    []byte
	header  http.Header
	elapsed time.Duration
}

func (r result) timedOut() bool {
	var ne net.Error
	return errors.Is(r.err, context.DeadlineExceeded) || (errors.As(r.err, &ne) && ne.Timeout())
}

// get requests base+path with the given timeout (0 = none).
func get(t *testing.T, client *http.Client, base, path string, timeout time.Duration) result {
	t.Helper()
	ctx := t.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, err: err, body: body, header: resp.Header, elapsed: time.Since(start)}
}

// observedClass tells a path's class from its first answer.
func observedClass(r result) (Class, error) {
	switch {
	case r.status == http.StatusOK:
		return OK, nil
	case r.status == http.StatusNotFound:
		return Permanent, nil
	case r.status == http.StatusServiceUnavailable, r.status == http.StatusTooManyRequests, r.timedOut():
		return Transient, nil
	}
	return 0, fmt.Errorf("unexpected answer: status %d, err %v", r.status, r.err)
}

func paths(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// hangs cancels each request the origin starts to hang on, and says
// which paths hung: a hanging path is seen as such, however slowly a
// loaded machine answers the others.
type hangs struct {
	mu     sync.Mutex
	cancel map[string]context.CancelFunc
	hung   map[string]bool
}

func newHangs() *hangs {
	return &hangs{cancel: map[string]context.CancelFunc{}, hung: map[string]bool{}}
}

// onHang is the origin's hook.
func (h *hangs) onHang(path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hung[path] = true
	if c := h.cancel[path]; c != nil {
		c()
	}
}

// context is a request context for path that onHang cancels.
func (h *hangs) context(t *testing.T, path string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	h.mu.Lock()
	h.cancel[path] = cancel
	h.mu.Unlock()
	return ctx, cancel
}

func (h *hangs) hungOn(path string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hung[path]
}

// startWatchedOrigin starts an origin closed at the end of the test,
// whose hanging requests h ends.
func startWatchedOrigin(t *testing.T, cfg OriginConfig, h *hangs) *Origin {
	t.Helper()
	o, err := startOrigin(cfg, h.onHang)
	if err != nil {
		t.Fatalf("startOrigin: %v", err)
	}
	t.Cleanup(o.Close)
	return o
}

// observeAll requests each path once, 32 at a time, from a new origin
// of cfg, and returns the classes seen; a path the origin hung on is
// transient.
func observeAll(t *testing.T, cfg OriginConfig, ps []string) []Class {
	t.Helper()
	h := newHangs()
	return observeOn(t, startWatchedOrigin(t, cfg, h), h, ps)
}

// observeOn is observeAll on an origin already started with h.
func observeOn(t *testing.T, o *Origin, h *hangs, ps []string) []Class {
	t.Helper()
	client := &http.Client{}
	t.Cleanup(client.CloseIdleConnections)
	out := make([]Class, len(ps))
	errs := make([]error, len(ps))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = observeOne(t, client, o, h, ps[i])
			}
		})
	}
	for i := range ps {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// observeOne requests path once and tells its class from the answer, or
// from the origin hanging on it.
func observeOne(t *testing.T, client *http.Client, o *Origin, h *hangs, path string) (Class, error) {
	ctx, cancel := h.context(t, path)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL()+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if h.hungOn(path) {
		return Transient, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return observedClass(result{status: resp.StatusCode})
}

// baseCfg is the documented default origin: seed 42, 10% transient, 1% permanent.
func baseCfg() OriginConfig {
	return OriginConfig{Seed: 42, Transient: 0.1, Permanent: 0.01, FailAttempts: 3}
}

func withSeed(cfg OriginConfig, seed int64) OriginConfig {
	cfg.Seed = seed
	return cfg
}

func TestFailurePatternIsRepeatable(t *testing.T) {
	ps := paths("/products/", 500)
	a := observeAll(t, baseCfg(), ps)
	b := observeAll(t, baseCfg(), ps)
	c := observeAll(t, withSeed(baseCfg(), 43), ps)

	differ := 0
	counts := map[Class]int{}
	for i, p := range ps {
		if a[i] != b[i] {
			t.Errorf("%s: %v with the first origin, %v with the second, same seed", p, a[i], b[i])
		}
		if want := Classify(baseCfg(), p); a[i] != want {
			t.Errorf("%s: origin behaved %v, Classify says %v", p, a[i], want)
		}
		if want := Classify(withSeed(baseCfg(), 43), p); c[i] != want {
			t.Errorf("%s, seed 43: origin behaved %v, Classify says %v", p, c[i], want)
		}
		if a[i] != c[i] {
			differ++
		}
		counts[a[i]]++
	}
	// About 2·0.11·0.89·500 ≈ 98 paths are expected to differ.
	if differ < 50 {
		t.Errorf("seeds 42 and 43 differ on %d of %d paths, want a clearly different pattern", differ, len(ps))
	}
	if counts[Transient] == 0 || counts[OK] == 0 {
		t.Errorf("classes seen: %v, want ok and transient paths", counts)
	}
}

func TestSharesMatchConfig(t *testing.T) {
	tests := []struct {
		name                 string
		seed                 int64
		transient, permanent float64
	}{
		{"defaults", 42, 0.1, 0.01},
		{"other seed", 7, 0.1, 0.01},
		{"negative seed", -1, 0.1, 0.01},
		{"flaky", 42, 0.3, 0.05},
		{"perfect", 42, 0, 0},
		{"all permanent", 42, 0.5, 1},
		{"all transient", 42, 1, 0},
	}
	const n = 2000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := OriginConfig{Seed: tt.seed, Transient: tt.transient, Permanent: tt.permanent}
			counts := map[Class]int{}
			for _, p := range paths("/products/", n) {
				counts[Classify(cfg, p)]++
			}
			wantTransient := min(tt.transient, 1-tt.permanent)
			for _, c := range []struct {
				class Class
				want  float64
				tol   float64
			}{
				{Transient, wantTransient, 0.03},
				{Permanent, tt.permanent, 0.01},
			} {
				got := float64(counts[c.class]) / n
				if got < c.want-c.tol || got > c.want+c.tol {
					t.Errorf("%v share = %.4f, want %.2f ± %.2f", c.class, got, c.want, c.tol)
				}
			}
		})
	}
}

// findPaths returns the first n paths under prefix of class want.
func findPaths(t *testing.T, cfg OriginConfig, prefix string, want Class, n int) []string {
	t.Helper()
	var out []string
	for i := 0; len(out) < n; i++ {
		if i > 100000 {
			t.Fatalf("no %d %v paths under %s", n, want, prefix)
		}
		if p := fmt.Sprintf("%s%d", prefix, i); Classify(cfg, p) == want {
			out = append(out, p)
		}
	}
	return out
}

func TestTransientFailsThenSucceeds(t *testing.T) {
	for _, failAttempts := range []int{0, 1, 3, 5} {
		t.Run(fmt.Sprintf("fail_attempts=%d", failAttempts), func(t *testing.T) {
			cfg := baseCfg()
			cfg.FailAttempts = failAttempts
			o := startTestOrigin(t, cfg)
			client := &http.Client{}
			defer client.CloseIdleConnections()
			for _, p := range findPaths(t, cfg, "/items/", Transient, 8) {
				for n := 1; n <= failAttempts+2; n++ {
					r := get(t, client, o.URL(), p, 300*time.Millisecond)
					if n <= failAttempts {
						if r.status == http.StatusOK || (r.err != nil && !r.timedOut()) {
							t.Errorf("%s request %d: status %d, err %v; want 503, 429 or a timeout", p, n, r.status, r.err)
						}
						continue
					}
					if r.status != http.StatusOK {
						t.Errorf("%s request %d: status %d, err %v; want 200 after %d failures", p, n, r.status, r.err, failAttempts)
					}
				}
				if got, want := o.Requests(p), int64(failAttempts+2); got != want {
					t.Errorf("Requests(%s) = %d, want %d", p, got, want)
				}
			}
			if got, want := o.Total(), int64(8*(failAttempts+2)); got != want {
				t.Errorf("Total() = %d, want %d", got, want)
			}
		})
	}
}

func TestFailureMix(t *testing.T) {
	cfg := baseCfg()
	counts := map[outcome]int{}
	ps := findPaths(t, cfg, "/p/", Transient, 700)
	for _, p := range ps {
		for n := int64(1); n <= 3; n++ {
			what, _ := plan(cfg, p, n)
			counts[what]++
		}
		if what, _ := plan(cfg, p, 4); what != answerOK {
			t.Fatalf("%s request 4 = %v, want ok", p, what)
		}
	}
	total := float64(len(ps) * 3)
	for _, c := range []struct {
		what     outcome
		name     string
		min, max float64
	}{
		{answerUnavailable, "503", 0.6, 0.8},
		{answerTooMany, "429", 0.1, 0.2},
		{answerHang, "hang", 0.1, 0.2},
	} {
		if got := float64(counts[c.what]) / total; got < c.min || got > c.max {
			t.Errorf("%s share of transient failures = %.3f, want %.2f..%.2f", c.name, got, c.min, c.max)
		}
	}
	if counts[answerOK]+counts[answerNotFound] != 0 {
		t.Errorf("failures included ok or 404 answers: %v", counts)
	}
}

func TestPermanentAlways404(t *testing.T) {
	o := startTestOrigin(t, baseCfg())
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for _, p := range findPaths(t, baseCfg(), "/products/", Permanent, 3) {
		for n := 1; n <= 6; n++ {
			r := get(t, client, o.URL(), p, 5*time.Second)
			if r.status != http.StatusNotFound {
				t.Fatalf("%s request %d: status %d, err %v; want 404", p, n, r.status, r.err)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var e errorBody
			if err := json.Unmarshal(r.body, &e); err != nil || e.Status != 404 || e.Path != p {
				t.Errorf("404 body %q: %+v, %v", r.body, e, err)
			}
		}
	}
}

// firstHang finds a transient path whose first request hangs.
func firstHang(t *testing.T, cfg OriginConfig) string {
	t.Helper()
	for _, p := range findPaths(t, cfg, "/slow/", Transient, 1000) {
		if what, _ := plan(cfg, p, 1); what == answerHang {
			return p
		}
	}
	t.Fatal("no hanging path found")
	return ""
}

func TestHangEndsWithClientTimeout(t *testing.T) {
	cfg := baseCfg()
	cfg.Latency = 0
	p := firstHang(t, cfg)
	o := startTestOrigin(t, cfg)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	defer client.CloseIdleConnections()
	start := time.Now()
	_, err := client.Get(o.URL() + p)
	elapsed := time.Since(start)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("GET %s: err = %v, want a timeout", p, err)
	}
	if elapsed < 100*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("hanging request returned after %v, want about 100ms", elapsed)
	}
	// The next request does not hang forever: it answers or times out
	// again, and the origin counted both.
	r := get(t, &http.Client{}, o.URL(), p, 100*time.Millisecond)
	if r.status == http.StatusOK || (r.err != nil && !r.timedOut()) {
		t.Errorf("second request: status %d, err %v; want a failure (fail_attempts = 3)", r.status, r.err)
	}
	if got := o.Requests(p); got != 2 {
		t.Errorf("Requests = %d, want 2", got)
	}
}

func TestCloseUnblocksHangingRequests(t *testing.T) {
	cfg := baseCfg()
	p := firstHang(t, cfg)
	hung := make(chan string, 1)
	o, err := startOrigin(cfg, func(path string) { hung <- path })
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()

	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, o.URL()+p, nil)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err == nil {
			resp.Body.Close()
			got <- result{status: resp.StatusCode}
			return
		}
		got <- result{err: err}
	}()
	if path := <-hung; path != p {
		t.Fatalf("hanging path %q, want %q", path, p)
	}

	closed := make(chan struct{})
	go func() { o.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a request was hanging")
	}
	select {
	case r := <-got:
		if r.err == nil {
			t.Errorf("hanging request got status %d after Close, want a closed connection", r.status)
		} else if r.timedOut() {
			t.Errorf("hanging request timed out instead of being cut off: %v", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hanging request still blocked after Close")
	}
	o.Close() // a second Close is harmless
}

func TestLatency(t *testing.T) {
	ok := findPaths(t, baseCfg(), "/products/", OK, 1)[0]

	t.Run("delays answers", func(t *testing.T) {
		cfg := baseCfg()
		cfg.Latency = 40 * time.Millisecond
		o := startTestOrigin(t, cfg)
		_, delay := plan(cfg, ok, 1)
		r := get(t, &http.Client{}, o.URL(), ok, 10*time.Second)
		if r.status != http.StatusOK {
			t.Fatalf("status %d, err %v", r.status, r.err)
		}
		if r.elapsed < delay {
			t.Errorf("answered after %v, want at least the planned %v", r.elapsed, delay)
		}
	})

	t.Run("respects cancellation", func(t *testing.T) {
		cfg := baseCfg()
		cfg.Latency = time.Minute
		o := startTestOrigin(t, cfg)
		r := get(t, &http.Client{}, o.URL(), ok, 100*time.Millisecond)
		if !r.timedOut() {
			t.Fatalf("status %d, err %v; want a timeout", r.status, r.err)
		}
		if r.elapsed > 5*time.Second {
			t.Errorf("took %v", r.elapsed)
		}
	})

	t.Run("spread", func(t *testing.T) {
		tests := []struct {
			latency time.Duration
		}{{0}, {time.Millisecond}, {60 * time.Millisecond}, {time.Second}}
		for _, tt := range tests {
			cfg := baseCfg()
			cfg.Latency = tt.latency
			slow, total := 0, 0
			var sum time.Duration
			for _, p := range paths("/spread/", 200) {
				for n := int64(1); n <= 10; n++ {
					what, d := plan(cfg, p, n)
					if what == answerHang {
						continue
					}
					total++
					sum += d
					switch lo := tt.latency / 2; {
					case d >= lo && d <= tt.latency*3/2:
					case d >= 3*lo && d <= tt.latency*9/2:
						slow++
					default:
						t.Fatalf("latency %v: delay %v outside 0.5×..1.5× and 1.5×..4.5×", tt.latency, d)
					}
				}
			}
			if tt.latency == 0 {
				if sum != 0 {
					t.Errorf("latency 0: total delay %v, want none", sum)
				}
				continue
			}
			if share := float64(slow) / float64(total); share < 0.03 || share > 0.08 {
				t.Errorf("latency %v: %.3f of requests slow, want about 0.05", tt.latency, share)
			}
			// Mean factor: 0.95·1 + 0.05·3 = 1.1.
			if mean := float64(sum) / float64(total) / float64(tt.latency); mean < 1.0 || mean > 1.2 {
				t.Errorf("latency %v: mean delay %.3f×, want about 1.1×", tt.latency, mean)
			}
		}
	})
}

func TestHotPrefixes(t *testing.T) {
	tests := []struct {
		name   string
		hot    map[string]float64
		prefix string
		want   float64
	}{
		{"hot prefix", map[string]float64{"/search/": 0.3}, "/search/", 0.3},
		{"other prefix unaffected", map[string]float64{"/search/": 0.3}, "/products/", 0.1},
		{"cold prefix", map[string]float64{"/search/": 0}, "/search/", 0},
		{"longest prefix wins", map[string]float64{"/a/": 0.9, "/a/b/": 0.2}, "/a/b/", 0.2},
		{"shorter prefix still applies", map[string]float64{"/a/": 0.9, "/a/b/": 0.2}, "/a/c/", 0.9},
		{"prefix is not a path segment", map[string]float64{"/search": 0.5}, "/searches/", 0.5},
	}
	const n = 2000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseCfg()
			cfg.Permanent = 0
			cfg.Hot = tt.hot
			transient := 0
			for _, p := range paths(tt.prefix, n) {
				got := Classify(cfg, p)
				if got == Transient {
					transient++
				}
				// Raising a share only turns ok paths into transient ones.
				noHot := cfg
				noHot.Hot = nil
				if plain := Classify(noHot, p); plain == Transient && got != Transient && tt.want >= cfg.Transient {
					t.Fatalf("%s transient without hot, %v with a higher share", p, got)
				}
			}
			if got := float64(transient) / n; got < tt.want-0.03 || got > tt.want+0.03 {
				t.Errorf("transient share under %s = %.3f, want %.2f", tt.prefix, got, tt.want)
			}
		})
	}

	t.Run("served", func(t *testing.T) {
		cfg := baseCfg()
		cfg.Hot = map[string]float64{"/search/": 0.3}
		h := newHangs()
		o := startWatchedOrigin(t, cfg, h)
		hot := map[string]float64{}
		for _, prefix := range []string{"/search/", "/products/"} {
			ps := paths(prefix, 300)
			failed := 0
			for i, c := range observeOn(t, o, h, ps) {
				if want := Classify(cfg, ps[i]); c != want {
					t.Errorf("%s: origin behaved %v, Classify says %v", ps[i], c, want)
				}
				if c == Transient {
					failed++
				}
			}
			hot[prefix] = float64(failed) / float64(len(ps))
		}
		if hot["/search/"] <= hot["/products/"] {
			t.Errorf("transient shares %v: want /search/ clearly above /products/", hot)
		}
	})

	t.Run("config copied", func(t *testing.T) {
		cfg := baseCfg()
		cfg.Hot = map[string]float64{"/search/": 1}
		o := startTestOrigin(t, cfg)
		cfg.Hot["/search/"] = 0 // must not reach the running origin
		p := "/search/1"
		if r := get(t, &http.Client{}, o.URL(), p, 300*time.Millisecond); r.status == http.StatusOK {
			t.Errorf("%s answered 200, want a failure from the share given at start", p)
		}
	})
}

func TestSuccessBody(t *testing.T) {
	o1 := startTestOrigin(t, baseCfg())
	o2 := startTestOrigin(t, baseCfg())
	client := &http.Client{}
	defer client.CloseIdleConnections()
	checked := 0
	for _, p := range append(findPaths(t, baseCfg(), "/products/", OK, 3), "/", "/top", "/search?q=red+shoes&page=2", "/search?q=blue+shoes") {
		if Classify(baseCfg(), p) != OK {
			t.Logf("%s is not ok with seed 42; skipped", p)
			continue
		}
		r1 := get(t, client, o1.URL(), p, 5*time.Second)
		r2 := get(t, client, o2.URL(), p, 5*time.Second)
		if r1.status != http.StatusOK || r2.status != http.StatusOK {
			t.Fatalf("%s: status %d / %d", p, r1.status, r2.status)
		}
		if ct := r1.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		if string(r1.body) != string(r2.body) {
			t.Errorf("%s: bodies differ:\n%s\n%s", p, r1.body, r2.body)
		}
		var doc document
		if err := json.Unmarshal(r1.body, &doc); err != nil {
			t.Fatalf("%s: body %q: %v", p, r1.body, err)
		}
		if doc.Path != p || doc.Name == "" || doc.Price <= 0 || !strings.HasPrefix(doc.Updated, "2026-") {
			t.Errorf("%s: document %+v", p, doc)
		}
		if _, err := time.Parse(time.RFC3339, doc.Updated); err != nil {
			t.Errorf("%s: updated: %v", p, err)
		}
		if strings.HasPrefix(p, "/products/") && (doc.Kind != "products" || doc.ID != strings.TrimPrefix(p, "/products/")) {
			t.Errorf("%s: kind %q id %q", p, doc.Kind, doc.ID)
		}
		if strings.HasPrefix(p, "/search?") && (doc.Kind != "search" || !strings.HasSuffix(doc.ID, " shoes")) {
			t.Errorf("%s: kind %q id %q", p, doc.Kind, doc.ID)
		}
		checked++
	}
	if checked < 5 {
		t.Errorf("checked only %d documents", checked)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	o := startTestOrigin(t, baseCfg())
	resp, err := http.Post(o.URL()+"/products/1", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if o.Total() != 0 {
		t.Errorf("Total = %d after a POST, want 0", o.Total())
	}
}

func TestURLAndCounters(t *testing.T) {
	o := startTestOrigin(t, OriginConfig{Seed: 1})
	if !strings.HasPrefix(o.URL(), "http://127.0.0.1:") || strings.HasSuffix(o.URL(), "/") {
		t.Errorf("URL() = %q, want http://127.0.0.1:PORT", o.URL())
	}
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for range 3 {
		get(t, client, o.URL(), "/a?x=1", 5*time.Second)
	}
	get(t, client, o.URL(), "/b", 5*time.Second)
	get(t, client, o.URL(), "/a", 5*time.Second)
	get(t, client, o.URL(), "/search/red%20shoes", 5*time.Second)
	for p, want := range map[string]int64{"/a?x=1": 3, "/a": 1, "/b": 1, "/c": 0, "/search/red shoes": 1} {
		if got := o.Requests(p); got != want {
			t.Errorf("Requests(%q) = %d, want %d", p, got, want)
		}
	}
	if got := o.Total(); got != 6 {
		t.Errorf("Total() = %d, want 6", got)
	}
}

func TestStartOriginRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  OriginConfig
		want string
	}{
		{"negative latency", OriginConfig{Latency: -time.Second}, "latency"},
		{"negative fail attempts", OriginConfig{FailAttempts: -1}, "fail_attempts"},
		{"transient above 1", OriginConfig{Transient: 1.5}, "transient"},
		{"negative permanent", OriginConfig{Permanent: -0.1}, "permanent"},
		{"hot out of range", OriginConfig{Hot: map[string]float64{"/x/": 2}}, "hot./x/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := StartOrigin(tt.cfg)
			if err == nil {
				o.Close()
				t.Fatal("StartOrigin succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{OK: "ok", Transient: "transient", Permanent: "permanent", Class(9): "Class(9)"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), got, want)
		}
	}
}
