package warmup_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// hostLog records, per server and path, the Authorization a request
// carried.
type hostLog struct {
	mu   sync.Mutex
	seen map[string]string
}

func (h *hostLog) server(name string, handle func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen[name+" "+r.URL.Path] = r.Header.Get("Authorization")
		h.mu.Unlock()
		if handle == nil || !handle(w, r) {
			fmt.Fprint(w, "page")
		}
	}))
}

func (h *hostLog) get() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]string, len(h.seen))
	for k, v := range h.seen {
		out[k] = v
	}
	return out
}

// A loader's credentials go only to the host its fetch URL names, or one
// its hosts list: an item cannot choose the host ("@host:port/x"), a
// ${VAR} password holding '@' cannot either, a redirect to another port
// of the same host gets no Authorization, and one to the Redis server is
// refused.
func TestFetchCredentialsStayOnNamedHosts(t *testing.T) {
	srv := redistest.Start(t)
	log := &hostLog{seen: map[string]string{}}
	other := log.server("other", nil) // 127.0.0.1, another port
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	site := log.server("site", func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/to-other-port":
			http.Redirect(w, r, other.URL+"/redirected", http.StatusFound)
		case "/to-redis":
			http.Redirect(w, r, "http://"+srv.Addr()+"/", http.StatusFound)
		default:
			return false
		}
		return true
	})
	defer site.Close()
	siteHost := strings.TrimPrefix(site.URL, "http://")
	const token, pw = "Bearer s3cret-TOK", "s3cret:pw@"
	env := map[string]string{"TOK": token, "UPW": pw + otherHost + "/x"}
	cfg := loadConfig(t, fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "inj"
items = { list = ["/ok/1", "@%[2]s/injected", "/to-other-port", "/to-redis"] }
key = "i:{{.}}"
fetch = { url = "http://%[1]s{{.}}", headers = { Authorization = "${TOK}" } }
[[loader]]
name = "userinfo"
items = { list = ["2"] }
key = "u:{{.}}"
fetch = { url = "http://u:${UPW}@%[1]s/basic/{{.}}" }
[[loader]]
name = "listed"
items = { list = ["http://%[1]s/listed", "http://%[2]s/listed"] }
key = "l:{{.}}"
fetch = { url = "{{.}}", headers = { Authorization = "${TOK}" } }
hosts = [%[1]q, %[2]q]
`, siteHost, otherHost), nil, env)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})

	var reasons []string
	for _, l := range rep.Loaders {
		for _, r := range l.RejectedItems {
			reasons = append(reasons, l.Name+": "+r.Reason)
		}
	}
	sort.Strings(reasons)
	want := []string{
		"inj: fetch GET http://" + siteHost + "/to-redis: 302 Found to a host not allowed: " + srv.Addr() + " (the Redis server)",
		// What the item put before '@' is user info, shown hidden.
		"inj: url http://***@" + otherHost + "/injected: host not allowed: " + otherHost,
	}
	if strings.Join(reasons, "\n") != strings.Join(want, "\n") {
		t.Errorf("rejections:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(want, "\n"))
	}
	basic := (&http.Request{Header: http.Header{}})
	basic.SetBasicAuth("u", pw+otherHost+"/x")
	wantSeen := map[string]string{
		"site /ok/1":          token,
		"site /to-other-port": token,
		"other /redirected":   "", // another port: no Authorization
		"site /to-redis":      token,
		"site /basic/2":       basic.Header.Get("Authorization"),
		"site /listed":        token,
		"other /listed":       token, // listed in hosts
	}
	got := log.get()
	for k, v := range wantSeen {
		if a, ok := got[k]; !ok || a != v {
			t.Errorf("%s: reached %v with Authorization %q, want %q", k, ok, a, v)
		}
	}
	for k := range got {
		if _, ok := wantSeen[k]; !ok {
			t.Errorf("unexpected request %s (Authorization %q)", k, got[k])
		}
	}
}
