package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// authLog records the Authorization header of each request an origin got.
type authLog struct {
	mu   sync.Mutex
	seen map[string]string
}

func (a *authLog) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen[r.URL.Path] = r.Header.Get("Authorization")
}

func (a *authLog) get() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]string{}
	for k, v := range a.seen {
		out[k] = v
	}
	return out
}

// A sitemap loader's fetch headers go only to the hosts its config
// names: the sitemap's own host and port, and its hosts list. A <loc> on
// another host, or naming the Redis server, is rejected before any
// request, even when listed; a token in the sitemap's URL shows nowhere
// (--plain's SOURCE column, the report, --dry-run).
func TestSitemapLocsStayOnNamedHosts(t *testing.T) {
	t.Parallel()
	const token = "supersecrettoken-9Xq"
	srv := redistest.Start(t)
	otherLog := &authLog{seen: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherLog.record(r)
		fmt.Fprint(w, "other")
	}))
	other.Listener.Close()
	other.Listener = ln
	other.Start()
	defer other.Close()

	siteLog := &authLog{seen: map[string]string{}}
	var site *httptest.Server
	site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/leaf.xml" {
			if r.URL.Query().Get("token") != token {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "<urlset><url><loc>%s/p/1</loc></url><url><loc>%s/p/2</loc></url><url><loc>http://%s/</loc></url></urlset>",
				site.URL, other.URL, srv.Addr())
			return
		}
		siteLog.record(r)
		fmt.Fprint(w, "page")
	}))
	defer site.Close()
	env := map[string]string{"CW_TOK": token}
	otherHost := strings.TrimPrefix(other.URL, "http://")
	conf := func(hosts string) string {
		return writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://%s/0"
[run]
retries = 0
[[loader]]
name = "pages"
items = { sitemap = "%s/leaf.xml?token=${CW_TOK}" }
key = "page:{{.loc}}"
fetch = { url = "{{.loc}}", headers = { Authorization = "Bearer ${CW_TOK}" } }
%s
`, srv.Addr(), site.URL, hosts), map[string]string{})
	}

	report := filepath.Join(t.TempDir(), "r.json")
	cfg := conf("")
	var all strings.Builder
	code, stdout, stderr := cliEnv(t, env, "--config", cfg, "--plain", "--report", report)
	all.WriteString(stdout + stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (two <loc>s rejected):\n%s%s", code, stdout, stderr)
	}
	_, stdout, stderr = cliEnv(t, env, "--config", cfg, "--dry-run")
	all.WriteString(stdout + stderr)
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(data)
	if len(otherLog.get()) != 0 {
		t.Fatalf("the other host got requests: %v", otherLog.get())
	}
	if got := siteLog.get()["/p/1"]; got != "Bearer "+token {
		t.Fatalf("the sitemap's own host got Authorization %q", got)
	}
	var rep struct {
		Loaders []struct {
			Source        string
			RejectedItems []struct{ Reason, Stage string } `json:"rejected_items"`
		}
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range rep.Loaders[0].RejectedItems {
		reasons = append(reasons, r.Stage+": "+r.Reason)
	}
	want := []string{
		"url: url " + other.URL + "/p/2: host not allowed: " + otherHost,
		"url: url http://" + srv.Addr() + "/: host not allowed: " + srv.Addr() + " (the Redis server)",
	}
	if strings.Join(reasons, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rejections:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(want, "\n"))
	}
	out := all.String()
	if strings.Contains(out, token) {
		t.Fatalf("the token shows:\n%s", out)
	}
	if !strings.Contains(rep.Loaders[0].Source, "leaf.xml?token=***") || strings.Count(out, "leaf.xml?token=***") < 3 {
		t.Fatalf("the source is not shown redacted in --plain, the report and --dry-run:\n%s", out)
	}
	if !strings.Contains(out, "rejected: url "+other.URL+"/p/2: host not allowed") {
		t.Fatalf("--dry-run does not show the refused host:\n%s", out)
	}

	// Listed, the other host gets the loader's headers; the Redis server
	// is refused even listed.
	code, stdout, stderr = cliEnv(t, env, "--config", conf(fmt.Sprintf("hosts = [%q, %q]", otherHost, srv.Addr())), "--plain")
	if code != 1 || !strings.Contains(stdout+stderr, "(the Redis server)") {
		t.Fatalf("exit %d, want 1 with the Redis server refused:\n%s%s", code, stdout, stderr)
	}
	if got := otherLog.get()["/p/2"]; got != "Bearer "+token {
		t.Fatalf("the listed host got Authorization %q", got)
	}
}

// A credential written into a sitemap's URL itself (?token=…, user
// information), not brought in from ${VAR}, is as secret as one that
// is: --plain's SOURCE column, the report's source, --dry-run and a
// config error show it hidden.
func TestSitemapLiteralTokenHidden(t *testing.T) {
	t.Parallel()
	const token = "literaltoken-7Wp"
	srv := redistest.Start(t)
	var site *httptest.Server
	site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/leaf.xml" && r.URL.Query().Get("token") == token {
			fmt.Fprintf(w, "<urlset><url><loc>%s/p/1</loc></url></urlset>", site.URL)
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	defer site.Close()
	conf := func(sitemap string) string {
		return writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://%s/0"
[[loader]]
name = "pages"
items = { sitemap = %q }
key = "page:{{.loc}}"
`, srv.Addr(), sitemap), map[string]string{})
	}
	report := filepath.Join(t.TempDir(), "r.json")
	good := conf(site.URL + "/leaf.xml?token=" + token)
	var all strings.Builder
	code, stdout, stderr := cli(t, "--config", good, "--plain", "--report", report)
	all.WriteString(stdout + stderr)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s%s", code, stdout, stderr)
	}
	_, stdout, stderr = cli(t, "--config", good, "--dry-run")
	all.WriteString(stdout + stderr)
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(data)
	// Refused by the origin: the config error names the sitemap.
	code, stdout, stderr = cli(t, "--config", conf(site.URL+"/gone.xml?token="+token), "--plain")
	all.WriteString(stdout + stderr)
	if code != 2 {
		t.Fatalf("a sitemap the origin refuses: exit %d, want 2:\n%s%s", code, stdout, stderr)
	}
	out := all.String()
	if strings.Contains(out, token) {
		t.Fatalf("the token shows:\n%s", out)
	}
	if strings.Count(out, "leaf.xml?token=***") < 3 {
		t.Fatalf("the source is not shown, redacted, in --plain, the report and --dry-run:\n%s", out)
	}
}
