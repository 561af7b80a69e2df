package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const urlsetHead = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
`

func urlset(locs ...string) string {
	var b strings.Builder
	b.WriteString(urlsetHead)
	for _, l := range locs {
		fmt.Fprintf(&b, "  <url><loc>%s</loc></url>\n", l)
	}
	b.WriteString("</urlset>\n")
	return b.String()
}

func index(locs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
`)
	for _, l := range locs {
		fmt.Fprintf(&b, "  <sitemap><loc>%s</loc></sitemap>\n", l)
	}
	b.WriteString("</sitemapindex>\n")
	return b.String()
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// sitemapSite serves /index.xml listing a.xml (with every field),
// b.xml.gz (gzip file), broken.xml (bad XML after one URL) and
// missing.xml (404).
func sitemapSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/index.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, index(srv.URL+"/a.xml", srv.URL+"/b.xml.gz", srv.URL+"/broken.xml", "missing.xml"))
	})
	mux.HandleFunc("/a.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, urlsetHead+`  <url>
    <loc>https://shop.test/a1</loc>
    <lastmod>2026-11-01</lastmod>
    <changefreq>daily</changefreq>
    <priority>0.8</priority>
    <image:image xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"><image:loc>x</image:loc></image:image>
  </url>
  <url><loc>https://shop.test/a2</loc></url>
</urlset>`)
	})
	mux.HandleFunc("/b.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Write(gzipped(t, urlset("https://shop.test/b1", "https://shop.test/b2", "https://shop.test/b3")))
	})
	mux.HandleFunc("/broken.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, urlsetHead+"<url><loc>https://shop.test/c1</loc></url>\n<url><loc>oops</url>")
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func sitemapSpec(u string) Spec {
	return &SitemapSpec{URL: u, Timeout: 5 * time.Second, MaxBody: 1 << 20}
}

// readAll reads src to its end: the items' JSON, or "rejected: reason".
func readAll(t *testing.T, src Source) []string {
	t.Helper()
	var got []string
	for {
		it, ok := src.Next()
		if !ok {
			break
		}
		if it.Err != nil {
			got = append(got, "rejected: "+it.Err.Error())
			continue
		}
		got = append(got, string(it.Raw))
	}
	return got
}

func TestSitemapIndexChildrenGzipAndBroken(t *testing.T) {
	srv := sitemapSite(t)
	src, err := Open(sitemapSpec(srv.URL+"/index.xml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := readAll(t, src)
	want := []string{
		`{"changefreq":"daily","lastmod":"2026-11-01","loc":"https://shop.test/a1","priority":"0.8"}`,
		`{"changefreq":"","lastmod":"","loc":"https://shop.test/a2","priority":""}`,
		`{"changefreq":"","lastmod":"","loc":"https://shop.test/b1","priority":""}`,
		`{"changefreq":"","lastmod":"","loc":"https://shop.test/b2","priority":""}`,
		`{"changefreq":"","lastmod":"","loc":"https://shop.test/b3","priority":""}`,
		`{"changefreq":"","lastmod":"","loc":"https://shop.test/c1","priority":""}`,
		"rejected: sitemap " + srv.URL + "/broken.xml: line 4: XML syntax error: element <loc> closed by </url>",
		"rejected: sitemap " + srv.URL + "/missing.xml: 404 Not Found",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if src.Err() != nil {
		t.Fatalf("Err = %v, want nil: broken children are items", src.Err())
	}
	if r := src.Resume(); !r.Done {
		t.Fatalf("Resume = %+v, want done", r)
	}
}

func TestSitemapItemTemplatesSeeFields(t *testing.T) {
	srv := sitemapSite(t)
	src, _ := Open(sitemapSpec(srv.URL+"/a.xml"), nil)
	defer src.Close()
	it, ok := src.Next()
	if !ok {
		t.Fatal(src.Err())
	}
	v, _ := it.Value()
	m := v.(map[string]any)
	if m["loc"] != "https://shop.test/a1" || m["priority"] != "0.8" || it.Where() != srv.URL+"/a.xml:3" {
		t.Fatalf("value %v at %s", m, it.Where())
	}
}

// A resumed sitemap reads on from the item after the last one yielded,
// broken children counted as items.
func TestSitemapResume(t *testing.T) {
	srv := sitemapSite(t)
	spec := sitemapSpec(srv.URL + "/index.xml")
	all := func() []string {
		src, _ := Open(spec, nil)
		defer src.Close()
		return readAll(t, src)
	}()
	for cut := 0; cut <= len(all); cut++ {
		src, _ := Open(spec, nil)
		for range cut {
			src.Next()
		}
		at := src.Resume()
		src.Close()
		if cut < len(all) && (at.Done || at.Kind != KindSitemap || at.Next != int64(cut)) {
			t.Fatalf("after %d: resume %+v", cut, at)
		}
		rest, err := Open(spec, &at)
		if err != nil {
			t.Fatalf("after %d: %v", cut, err)
		}
		got := readAll(t, rest)
		rest.Close()
		if strings.Join(got, "\n") != strings.Join(all[cut:], "\n") {
			t.Fatalf("resumed after %d:\n%s\nwant:\n%s", cut, strings.Join(got, "\n"), strings.Join(all[cut:], "\n"))
		}
	}
	if _, err := Open(RangeSpec{First: 1, Last: 2}, &Resume{Kind: KindSitemap, Next: 3}); err == nil {
		t.Fatal("a sitemap's resume point opened a range")
	}
}

func TestSitemapHostile(t *testing.T) {
	var big bytes.Buffer
	big.WriteString(urlsetHead + "<url><loc>https://x.test/")
	big.Write(bytes.Repeat([]byte("a"), 4<<20))
	big.WriteString("</loc></url></urlset>")
	bomb := gzipped(t, big.String())
	docs := map[string][]byte{
		"/self.xml":   nil, // set below: an index listing itself and its child twice
		"/local.xml":  nil, // set below: an index naming local files
		"/child.xml":  []byte(urlset("https://x.test/1")),
		"/entity.xml": []byte(`<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>` + "\n<urlset><url><loc>&b;</loc></url><url><loc>https://x.test/ok</loc></url></urlset>"),
		"/bomb.xml":   bomb,
		"/longloc.xml": []byte(urlsetHead + "<url><loc>https://x.test/" + strings.Repeat("b", MaxLoc) +
			"</loc></url><url><loc>https://x.test/after</loc></url></urlset>"),
		"/html.xml": []byte("<html><body>Not found</body></html>"),
	}
	mux := http.NewServeMux()
	for p := range docs {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.Write(docs[p]) })
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	docs["/self.xml"] = []byte(index(srv.URL+"/self.xml", srv.URL+"/child.xml", srv.URL+"/child.xml"))
	local := filepath.Join(t.TempDir(), "local.xml")
	os.WriteFile(local, []byte(urlset("https://x.test/secret")), 0o644)
	docs["/local.xml"] = []byte(index("file://"+local, "ftp:"+local))

	tests := []struct {
		name, path string
		want       []string
		err        string
	}{
		{"an index listing itself is read once", "/self.xml",
			[]string{`{"changefreq":"","lastmod":"","loc":"https://x.test/1","priority":""}`}, ""},
		{"a sitemap from the web names no local file", "/local.xml", []string{
			"rejected: sitemap file://" + local + ": not an http(s) URL",
			"rejected: sitemap ftp:" + local + ": not an http(s) URL"}, ""},
		{"entities are not expanded", "/entity.xml", nil, "invalid character entity &b;"},
		{"a gzip bomb stops at the limit", "/bomb.xml", nil, "larger than 1048576 bytes decompressed (run.max_body)"},
		{"a long loc rejects its item only", "/longloc.xml", []string{
			"rejected: " + srv.URL + "/longloc.xml:3: <loc> longer than 8192 bytes",
			`{"changefreq":"","lastmod":"","loc":"https://x.test/after","priority":""}`}, ""},
		{"HTML is not a sitemap", "/html.xml", nil, "not a sitemap: the root element is <html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := sitemapSpec(srv.URL + tt.path)
			src, _ := Open(spec, nil)
			defer src.Close()
			got := readAll(t, src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.err == "" && src.Err() != nil || tt.err != "" && (src.Err() == nil || !strings.Contains(src.Err().Error(), tt.err)) {
				t.Fatalf("Err = %v, want %q", src.Err(), tt.err)
			}
		})
	}
}

// A first sitemap that cannot be read is found by Check, before a run.
func TestSitemapCheck(t *testing.T) {
	srv := sitemapSite(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "local.xml.gz")
	os.WriteFile(local, gzipped(t, urlset("https://x.test/l")), 0o644)
	tests := []struct{ url, err string }{
		{srv.URL + "/index.xml", ""},
		{local, ""},
		{srv.URL + "/nothing.xml", "sitemap " + srv.URL + "/nothing.xml: 404 Not Found"},
		{filepath.Join(dir, "none.xml"), "none.xml: no such file"},
		{filepath.Join(dir), "is a directory"},
	}
	for _, tt := range tests {
		err := Check(sitemapSpec(tt.url))
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Check(%s) = %v, want %q", tt.url, err, tt.err)
		}
	}
}

// Stopping the run while a sitemap downloads ends the source, not done,
// with no error.
func TestSitemapStop(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	src, _ := OpenContext(ctx, sitemapSpec(srv.URL+"/slow.xml"), nil)
	defer src.Close()
	done := make(chan bool)
	go func() {
		_, ok := src.Next()
		done <- ok
	}()
	cancel()
	if <-done || src.Err() != nil || src.Resume().Done {
		t.Fatalf("after stop: err %v, resume %+v", src.Err(), src.Resume())
	}
}
