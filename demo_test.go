package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
	"github.com/cachewarm/cachewarm/warmup/source"

	"github.com/cachewarm/cachewarm/demo"
	"github.com/cachewarm/cachewarm/warmup"
)

// The shipped config.toml is the demo: it loads, passes validation, and
// shows the features the README promises.
func TestDemoConfigLoads(t *testing.T) {
	t.Parallel()
	ext := demo.NewExtension()
	cfg, err := config.LoadConfig("config.toml", ext.Options())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.URL != "embedded" || ext.Origin() == nil {
		t.Fatalf("demo must use the embedded Redis and the simulated origin: %+v", cfg.Redis)
	}
	if n := len(cfg.Loaders); n < 5 || n > 6 {
		t.Fatalf("%d loaders, want 5-6", n)
	}
	kinds := map[string]bool{}
	for _, l := range cfg.Loaders {
		switch s := l.Items.(type) {
		case source.FileSpec:
			kinds["file"] = true
		case *source.SitemapSpec:
			kinds["sitemap"] = true
		case source.RangeSpec:
			kinds["range"] = true
		case source.ListSpec:
			if len(s.Items) == 0 {
				kinds["empty"] = true
			} else {
				kinds["list"] = true
			}
		}
		if l.Rate > 0 {
			kinds["rate"] = true
		}
		if l.Fetch == nil {
			kinds["no fetch"] = true
		}
	}
	for _, k := range []string{"file", "range", "list", "sitemap", "empty", "rate", "no fetch"} {
		if !kinds[k] {
			t.Errorf("demo config has no %s loader", k)
		}
	}
}

// demoURLs lists every URL the demo's fetch loaders ask for, by loader.
func demoURLs(t *testing.T, cfg *config.Config) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, l := range cfg.Loaders {
		if l.Fetch == nil {
			continue
		}
		src, err := source.Open(l.Items, nil)
		if err != nil {
			t.Fatal(err)
		}
		for {
			it, ok := src.Next()
			if !ok {
				break
			}
			v, err := it.Value()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			u, err := l.Fetch.URL.Execute(v, &b)
			if err != nil {
				t.Fatal(err)
			}
			out[l.Name] = append(out[l.Name], u)
		}
		src.Close()
	}
	return out
}

// A headless demo run (sped up: no latency, short timeouts) settles with
// the mix the origin's seed predicts; a retry fulfils every transient
// item, and the permanent ones keep their 404.
func TestDemoRunSettlesWithExpectedMix(t *testing.T) {
	t.Parallel()
	ext := demo.NewExtension()
	cfg, err := config.LoadConfig("config.toml", ext.Options())
	if err != nil {
		t.Fatal(err)
	}
	ext.Origin().Latency = 0
	cfg.Run.Timeout = 300 * time.Millisecond
	cfg.Run.Backoff = time.Millisecond
	for _, l := range cfg.Loaders {
		l.Rate = 0
	}
	services, err := startServices(cfg, ext)
	if err != nil {
		t.Fatal(err)
	}
	defer services.Close()
	if !services.demo() {
		t.Fatal("demo services not marked as demo")
	}
	rdb, err := rediswrite.Connect(context.Background(), cfg.Redis, 8, cfg.Run.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	eng := warmup.New(cfg, rdb, warmup.Options{})
	defer eng.Close()
	eng.Start()
	eng.Wait()

	want := map[string][2]int{} // loader → transient, permanent
	for name, urls := range demoURLs(t, cfg) {
		var c [2]int
		for _, u := range urls {
			pu, _ := url.Parse(u)
			path := pu.Path
			if pu.RawQuery != "" {
				path += "?" + pu.RawQuery
			}
			switch demo.Classify(*ext.Origin(), path) {
			case demo.Transient:
				c[0]++
			case demo.Permanent:
				c[1]++
			}
		}
		want[name] = c
	}
	var transient, permanent int
	for _, l := range eng.Report().Loaders {
		w := want[l.Name]
		if int(l.Rejected) != w[0]+w[1] {
			t.Errorf("%s: %d rejected, the seed predicts %d transient + %d permanent", l.Name, l.Rejected, w[0], w[1])
		}
		transient += w[0]
		permanent += w[1]
	}
	if transient < 20 || permanent < 3 {
		t.Fatalf("demo shows too few failures: %d transient, %d permanent", transient, permanent)
	}
	if n := eng.Retry(); n != transient+permanent {
		t.Fatalf("retry queued %d, want %d", n, transient+permanent)
	}
	eng.Wait()
	rep := eng.Report()
	if int(rep.Rejected) != permanent {
		t.Fatalf("after retry %d rejected, want the %d permanent ones", rep.Rejected, permanent)
	}
	// The flags loader (mode "missing") lists a flag twice: one write
	// finds the key the other wrote.
	if rep.Warm != 1 {
		t.Errorf("%d already warm, want the sitemap page listed twice", rep.Warm)
	}
	for _, l := range rep.Loaders {
		for _, r := range l.RejectedItems {
			if !strings.HasSuffix(r.Reason, ": 404 Not Found") {
				t.Errorf("%s: kept reason %q, want 404", l.Name, r.Reason)
			}
		}
	}
}
