package fetch_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/fetch"
)

// With Hosts (a sitemap's <loc>), a redirect to another port of the same
// host carries no private header (net/http alone would send it
// Authorization: same host name), and one to the Redis server is not
// followed at all.
func TestRedirectsWithinHosts(t *testing.T) {
	var mu sync.Mutex
	auth := map[string]string{} // server → Authorization received
	serve := func(name string, h http.HandlerFunc) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			auth[name] = r.Header.Get("Authorization")
			mu.Unlock()
			if h != nil {
				h(w, r)
				return
			}
			fmt.Fprint(w, name)
		}))
	}
	otherPort := serve("other port", nil)
	defer otherPort.Close()
	redis := serve("redis", nil)
	defer redis.Close()
	site := serve("site", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-other-port":
			http.Redirect(w, r, otherPort.URL+"/", http.StatusFound)
		case "/to-redis":
			http.Redirect(w, r, redis.URL+"/", http.StatusFound)
		}
	})
	defer site.Close()
	got := func(name string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := auth[name]
		return v, ok
	}
	redisAddr := strings.TrimPrefix(redis.URL, "http://")
	hosts, err := fetch.NewHosts([]string{site.URL + "/sitemap.xml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hosts = hosts.Refusing("the Redis server", redisAddr)
	req := func(path string, h *fetch.Hosts) fetch.Request {
		return fetch.Request{URL: site.URL + path, Headers: map[string]string{"Authorization": "Bearer s3cret"},
			Private: map[string]bool{"Authorization": true}, Hosts: h}
	}

	body, ferr := get(t, fetch.Options{}, req("/to-other-port", nil))
	checkErr(t, ferr, "", false)
	if a, _ := got("other port"); string(body) != "other port" || a != "" {
		t.Fatalf("without Hosts: body %q, Authorization %q, want none (another port is another place)", body, a)
	}
	body, ferr = get(t, fetch.Options{}, req("/to-other-port", hosts))
	checkErr(t, ferr, "", false)
	if a, _ := got("other port"); string(body) != "other port" || a != "" {
		t.Fatalf("with Hosts: body %q, Authorization %q, want none", body, a)
	}
	_, ferr = get(t, fetch.Options{}, req("/to-redis", hosts))
	checkErr(t, ferr, "302 Found to a host not allowed: "+redisAddr+" (the Redis server)", false)
	if _, reached := got("redis"); reached {
		t.Fatal("the Redis server was reached")
	}
}
