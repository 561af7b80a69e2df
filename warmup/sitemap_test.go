package warmup_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// sitemapOrigin serves an index of a.xml (pages 1-20), b.xml.gz (pages
// 21-40, a gzip file) and missing.xml (404), and the pages themselves.
// hold, when set, is called as b.xml.gz is first requested.
func sitemapOrigin(t *testing.T, hold func()) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	urlset := func(from, to int) string {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n")
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "<url><loc>%s/p/%d</loc><lastmod>2026-11-%02d</lastmod></url>\n", srv.URL, i, i%28+1)
		}
		b.WriteString("</urlset>\n")
		return b.String()
	}
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%[1]s/a.xml</loc></sitemap><sitemap><loc>%[1]s/b.xml.gz</loc></sitemap><sitemap><loc>/missing.xml</loc></sitemap></sitemapindex>`, srv.URL)
	})
	mux.HandleFunc("/a.xml", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, urlset(1, 20)) })
	mux.HandleFunc("/b.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		if hold != nil {
			once.Do(hold)
		}
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(urlset(21, 40)))
		zw.Close()
		w.Write(b.Bytes())
	})
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "page "+strings.TrimPrefix(r.URL.Path, "/p/"))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func sitemapConfig(t *testing.T, origin string) string {
	return fmt.Sprintf(`[run]
retries = 0
[[loader]]
name = "pages"
items = { sitemap = %q }
key = "page:{{.lastmod}}:{{.loc}}"
fetch = { url = "{{.loc}}" }
`, origin+"/sitemap.xml")
}

// Every <url> of an index's children is fetched and written; the broken
// child is one item rejected at the source, naming it.
func TestSitemapLoader(t *testing.T) {
	srv := redistest.Start(t)
	origin := sitemapOrigin(t, nil)
	cfg := loadConfig(t, sitemapConfig(t, origin.URL), nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	l := loaderReport(t, rep, "pages")
	if l.Fulfilled != 40 || l.Rejected != 1 || l.RejectedAtSource != 1 || eng.ExitCode() != 1 {
		t.Fatalf("exit %d, report %+v", eng.ExitCode(), l.LoaderTotals)
	}
	if r := l.RejectedItems[0].Reason; !strings.Contains(r, "sitemap "+origin.URL+"/missing.xml: 404 Not Found") {
		t.Fatalf("reason %q does not name the broken child", r)
	}
	checkSitemapKeys(t, srv, origin.URL, 1, 40)
}

// A run stopped while it downloads a child sitemap records where it
// stood (not "done"), and --retry-from fetches the rest.
func TestSitemapStopAndRetryFrom(t *testing.T) {
	srv := redistest.Start(t)
	var eng *warmup.Engine
	hit := make(chan struct{})
	release := make(chan struct{})
	origin := sitemapOrigin(t, func() {
		close(hit)
		<-release
	})
	cfg := loadConfig(t, sitemapConfig(t, origin.URL), nil, nil)
	eng = startAgainst(t, srv, cfg, warmup.Options{})
	<-hit
	eng.Stop()
	close(release)
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	l := loaderReport(t, rep, "pages")
	if l.Fulfilled != 20 || l.Resume == nil || l.Resume.Done || l.Resume.Next != 20 {
		t.Fatalf("stopped run: %+v, resume %+v", l.LoaderTotals, l.Resume)
	}
	eng2, rep2 := retryFrom(t, cfg, rep)
	checkExact(t, eng2, rep2)
	l = loaderReport(t, rep2, "pages")
	if l.Fulfilled != 20 || l.FulfilledBefore != 20 || l.Rejected != 1 || l.Resume != nil {
		t.Fatalf("--retry-from: %+v, resume %+v", l.LoaderTotals, l.Resume)
	}
	checkSitemapKeys(t, srv, origin.URL, 1, 40)
}

func checkSitemapKeys(t *testing.T, srv *redistest.Server, origin string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		key := fmt.Sprintf("page:2026-11-%02d:%s/p/%d", i%28+1, origin, i)
		if v, err := srv.Client.Get(t.Context(), key).Result(); err != nil || v != fmt.Sprintf("page %d", i) {
			t.Fatalf("%s = %q (%v)", key, v, err)
		}
	}
}

// Child sitemaps refused for the same reason share one cause: the cause
// leaves out each sitemap's URL, so the causes listed group them.
func TestRefusedChildSitemapsShareACause(t *testing.T) {
	srv := redistest.Start(t)
	var index strings.Builder
	index.WriteString("<sitemapindex>")
	for i := range 12 {
		fmt.Fprintf(&index, "<sitemap><loc>http://127.0.0.2:1/s%d.xml</loc></sitemap>", i)
	}
	index.WriteString("</sitemapindex>\n")
	cfg := loadConfig(t, `
[[loader]]
name = "idx"
items = { sitemap = "index.xml" }
key = "s:{{.loc}}"
`, map[string]string{"index.xml": index.String()}, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	l := rep.Loaders[0]
	if l.Rejected != 12 || len(l.Causes) != 1 || l.Causes[0].Count != 12 || l.Causes[0].Cause != "host not allowed: 127.0.0.2:1" {
		t.Fatalf("rejected %d, causes %+v; want 12 under one cause", l.Rejected, l.Causes)
	}
	if !strings.HasPrefix(l.Causes[0].Example, "sitemap http://127.0.0.2:1/s") {
		t.Errorf("example %q names no sitemap", l.Causes[0].Example)
	}
}
