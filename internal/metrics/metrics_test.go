package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cachewarm/cachewarm/internal/metrics"
	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// origin answers /ok/N with a body, /gone/N with 404, and holds /hold
// until release is closed, telling hit when it is asked.
func origin(t *testing.T, hit chan<- struct{}, release <-chan struct{}) *httptest.Server {
	t.Helper()
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/hold":
			once.Do(func() { close(hit) })
			<-release
			fmt.Fprint(w, "held")
		case strings.HasPrefix(r.URL.Path, "/gone/"):
			http.NotFound(w, r)
		default:
			fmt.Fprint(w, "v")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func start(t *testing.T, origin string) *warmup.Engine {
	t.Helper()
	srv := redistest.Start(t)
	toml := fmt.Sprintf(`[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "ok"
items = { range = [1, 5] }
key = "ok:{{.}}"
fetch = { url = "%s/ok/{{.}}" }
[[loader]]
name = "gone"
items = { range = [1, 3] }
key = "gone:{{.}}"
fetch = { url = "%s/gone/{{.}}" }
[[loader]]
name = "slow"
key = "slow"
fetch = { url = "%s/hold" }
`, srv.URL(), origin, origin, origin)
	cfg, err := config.ParseConfig(filepath.Join(t.TempDir(), "shop.toml"), []byte(toml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := rediswrite.Connect(context.Background(), cfg.Redis, 8, cfg.Run.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	eng := warmup.New(cfg, rdb, warmup.Options{})
	t.Cleanup(eng.Close)
	eng.Start()
	return eng
}

// waitSettled waits until every loader but except has settled, without
// sleeping: each snapshot is a fresh read of the ledger.
func waitSettled(t *testing.T, eng *warmup.Engine, except string) {
	t.Helper()
	for {
		done := true
		for _, l := range eng.Snapshot().Loaders {
			if l.Name != except && !l.Done {
				done = false
			}
		}
		if done {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal("loaders never settled")
		default:
			runtime.Gosched()
		}
	}
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("no line %q in:\n%s", l, grepCachewarm(text))
		}
	}
}

func grepCachewarm(text string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, "cachewarm_") && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A scrape while one item is held at its origin sees the others settled
// and that one in flight; the push at the end carries the final figures,
// grouped by config and shard, with the URL's credentials as basic auth.
func TestScrapeDuringRunAndPushAtEnd(t *testing.T) {
	hit, release := make(chan struct{}), make(chan struct{})
	org := origin(t, hit, release)
	s, err := metrics.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	eng := start(t, org.URL)
	s.Serve(eng)
	<-hit
	waitSettled(t, eng, "slow")

	mid := scrape(t, s.Addr())
	wantLines(t, mid,
		`cachewarm_items{loader="ok",state="fulfilled"} 5`,
		`cachewarm_items{loader="gone",state="rejected"} 3`,
		`cachewarm_items{loader="slow",state="in_flight"} 1`,
		`cachewarm_items_total{loader="gone",outcome="rejected"} 3`,
		`cachewarm_rejected_items{cause="404 Not Found",loader="gone",stage="fetch"} 3`,
		`cachewarm_attempts_total{loader="ok"} 5`,
		`cachewarm_fetch_duration_seconds_count{loader="ok"} 5`,
		`cachewarm_fetch_duration_seconds_count{loader="slow"} 0`,
		`cachewarm_write_duration_seconds_count{loader="ok"} 5`,
		`cachewarm_run_state{state="running"} 1`,
		`cachewarm_run_state{state="done"} 0`,
		`cachewarm_redis_waiting_seconds 0`,
	)
	if !strings.Contains(mid, "go_goroutines") {
		t.Error("/metrics lacks the Go runtime's metrics")
	}

	close(release)
	eng.Wait()

	var mu sync.Mutex
	var gotPath, gotAuth, gotBody, gotMethod string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		gotPath, gotAuth, gotBody, gotMethod = r.URL.Path, user+":"+pass, string(b), r.Method
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	u, _ := url.Parse(gw.URL)
	u.User = url.UserPassword("ops", "s3cret")
	if err := metrics.Push(context.Background(), u.String(), eng, metrics.Grouping{Config: "shop", Shard: "1/3"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The Pushgateway reads grouping labels in any order; the client
	// writes them in a map's.
	okPath := gotPath == "/metrics/job/cachewarm/config/shop/shard@base64/MS8z" || gotPath == "/metrics/job/cachewarm/shard@base64/MS8z/config/shop"
	if gotMethod != http.MethodPut || !okPath || gotAuth != "ops:s3cret" {
		t.Fatalf("push: %s %s as %q", gotMethod, gotPath, gotAuth)
	}
	if strings.Contains(gotBody, "go_goroutines") {
		t.Error("the push carries the process's metrics, not only the run's")
	}
	if !strings.Contains(gotBody, "cachewarm_items") || !strings.Contains(gotBody, "cachewarm_run_state") {
		t.Fatalf("push body lacks the run's metrics: %q", gotBody)
	}
}

// The final figures, as pushed, read through the text format.
func TestPushedFiguresAreFinal(t *testing.T) {
	hit, release := make(chan struct{}), make(chan struct{})
	close(release)
	eng := start(t, origin(t, hit, release).URL)
	eng.Wait()
	var body string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	defer gw.Close()
	if err := metrics.Push(context.Background(), gw.URL, eng, metrics.Grouping{Config: "shop", Shard: "all"}); err != nil {
		t.Fatal(err)
	}
	reg := metrics.Registry(eng)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var labels []string
			for _, lp := range m.Label {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			if m.Gauge != nil {
				got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.Gauge.GetValue()
			}
		}
	}
	for k, v := range map[string]float64{
		"cachewarm_items{loader=ok,state=fulfilled}":   5,
		"cachewarm_items{loader=slow,state=fulfilled}": 1,
		"cachewarm_items{loader=gone,state=rejected}":  3,
		"cachewarm_items{loader=gone,state=in_flight}": 0,
		"cachewarm_run_state{state=done}":              1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if body == "" {
		t.Fatal("nothing pushed")
	}
}

// A Pushgateway that refuses the push, or a URL that is not one, is an
// error that never shows the URL's credentials.
func TestPushFailureRedactsCredentials(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer gw.Close()
	hit, release := make(chan struct{}), make(chan struct{})
	close(release)
	eng := start(t, origin(t, hit, release).URL)
	eng.Wait()
	for _, gateway := range []string{
		strings.Replace(gw.URL, "http://", "http://ops:s3cret@", 1),
		"ftp://ops:s3cret@gw:9091",
		"http://ops:s3cret@[::1",
	} {
		err := metrics.Push(context.Background(), gateway, eng, metrics.Grouping{Config: "c", Shard: "all"})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Push(%s) = %v", gateway, err)
		}
	}
}

// An address in use is an error at Listen, before any work.
func TestListenAddressInUse(t *testing.T) {
	s, err := metrics.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	_, err = metrics.Listen(context.Background(), s.Addr())
	if err == nil || !strings.Contains(err.Error(), "--metrics-addr "+s.Addr()+": ") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("second Listen: %v", err)
	}
}

// A token in the gateway URL's query (read by a proxy in front of the
// Pushgateway) goes with the push after the /metrics/job/… path, and an
// error never shows it.
func TestPushQueryTokenSentAfterPathAndNeverShown(t *testing.T) {
	hit, release := make(chan struct{}), make(chan struct{})
	close(release)
	eng := start(t, origin(t, hit, release).URL)
	eng.Wait()
	var mu sync.Mutex
	var gotPath, gotToken string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotPath, gotToken = r.URL.Path, r.URL.Query().Get("token")
		mu.Unlock()
	}))
	defer gw.Close()
	if err := metrics.Push(context.Background(), gw.URL+"/?token=tok3n", eng, metrics.Grouping{Config: "c", Shard: "all"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !strings.HasPrefix(gotPath, "/metrics/job/cachewarm/") || gotToken != "tok3n" {
		t.Errorf("push went to %q with token %q, want /metrics/job/cachewarm/… with tok3n", gotPath, gotToken)
	}
	mu.Unlock()
	for _, gateway := range []string{"http://127.0.0.1:1/?token=tok3n", "ftp://127.0.0.1:1/?token=tok3n"} {
		err := metrics.Push(context.Background(), gateway, eng, metrics.Grouping{Config: "c", Shard: "all"})
		if err == nil || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("Push(%s) = %v, want an error without the token", gateway, err)
		}
	}
}

// An address without a host listens on every interface and says so; a
// loopback or named one does not.
func TestExposureWarning(t *testing.T) {
	for addr, warn := range map[string]bool{
		":9464":          true,
		"0.0.0.0:9464":   true,
		"[::]:9464":      true,
		"127.0.0.1:9464": false,
		"[::1]:9464":     false,
		"localhost:9464": false,
		"10.1.2.3:9464":  false,
		"":               false,
	} {
		got := metrics.ExposureWarning(addr)
		if (got != "") != warn || (warn && !strings.Contains(got, "127.0.0.1:9464")) {
			t.Errorf("ExposureWarning(%q) = %q, want a warning: %v", addr, got, warn)
		}
	}
}
