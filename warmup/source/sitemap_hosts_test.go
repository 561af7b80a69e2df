package source

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A child sitemap is read from the sitemap's own host and port, or from
// a host the loader's hosts name; one elsewhere is an item rejected at
// the source, and never requested.
func TestSitemapChildOnAnotherHost(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		fmt.Fprint(w, urlset("https://x.test/other"))
	}))
	defer other.Close()
	var site *httptest.Server
	site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.xml":
			fmt.Fprint(w, index(site.URL+"/own.xml", other.URL+"/child.xml"))
		default:
			fmt.Fprint(w, urlset("https://x.test/own"))
		}
	}))
	defer site.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	dir := t.TempDir()
	local := filepath.Join(dir, "index.xml")
	os.WriteFile(local, []byte(index(other.URL+"/child.xml")), 0o644)

	tests := []struct {
		name, url string
		hosts     []string
		want      []string
		hits      int64
	}{
		{"another port of the same address", site.URL + "/index.xml", nil, []string{
			`{"changefreq":"","lastmod":"","loc":"https://x.test/own","priority":""}`,
			"rejected: sitemap " + other.URL + "/child.xml: host not allowed: " + otherHost}, 0},
		{"listed in hosts", site.URL + "/index.xml", []string{otherHost}, []string{
			`{"changefreq":"","lastmod":"","loc":"https://x.test/own","priority":""}`,
			`{"changefreq":"","lastmod":"","loc":"https://x.test/other","priority":""}`}, 1},
		{"listed without its port", site.URL + "/index.xml", []string{mustHostname(t, other.URL)}, []string{
			`{"changefreq":"","lastmod":"","loc":"https://x.test/own","priority":""}`,
			"rejected: sitemap " + other.URL + "/child.xml: host not allowed: " + otherHost}, 0},
		{"a local index names no host", local, nil, []string{
			"rejected: sitemap " + other.URL + "/child.xml: host not allowed: " + otherHost}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			otherHits.Store(0)
			src, err := Open(&SitemapSpec{URL: tt.url, Timeout: 5 * time.Second, MaxBody: 1 << 20, Hosts: tt.hosts}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got := readAll(t, src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") || src.Err() != nil {
				t.Fatalf("items:\n%s\nwant:\n%s\nErr: %v", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), src.Err())
			}
			if otherHits.Load() != tt.hits {
				t.Fatalf("the other host got %d requests, want %d", otherHits.Load(), tt.hits)
			}
		})
	}
}

func mustHostname(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname()
}
