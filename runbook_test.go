package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// runbookDoc is the page whose runbook blocks TestReadmeRunbooks runs.
const runbookDoc = "docs/operations.md"

// runbookMarker precedes every runbook block of the operations page that this
// test runs: <!-- runbook-test: NAME -->, then a ```sh block.
var runbookMarker = regexp.MustCompile("(?m)^<!-- runbook-test: ([a-z-]+) -->\n```sh\n((?s:.*?))```\n")

// readmeRunbooks returns the operations page's marked runbook blocks by name, and
// fails when one of the runbook sections has a shell block without a
// marker: a runbook line nobody runs can rot unseen.
func readmeRunbooks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(runbookDoc)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	blocks := map[string]string{}
	for _, m := range runbookMarker.FindAllStringSubmatch(readme, -1) {
		blocks[m[1]] = m[2]
	}
	for _, section := range []string{"## From cron", "## Runbook", "## Verify", "## Shards"} {
		i := strings.Index(readme, "\n"+section+"\n")
		if i < 0 {
			t.Fatalf("%s has no %s section", runbookDoc, section)
		}
		body := readme[i+len(section)+2:]
		if j := regexp.MustCompile(`(?m)^##`).FindStringIndex(body); j != nil {
			body = body[:j[0]]
		}
		unmarked := strings.Count(body, "```sh\n") - len(runbookMarker.FindAllString(body, -1))
		if unmarked != 0 {
			t.Errorf("%s %s: %d shell blocks without a <!-- runbook-test: NAME --> marker", runbookDoc, section, unmarked)
		}
	}
	return blocks
}

// runbookOrigin serves {"id":N} for /p/N; with failFirst, the first
// request of every seventh path is a 503, as a flaky origin's would be.
func runbookOrigin(t *testing.T, failFirst bool) *httptest.Server {
	var mu sync.Mutex
	seen := map[string]bool{}
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id int
		fmt.Sscanf(r.URL.Path, "/p/%d", &id)
		mu.Lock()
		first := !seen[r.URL.Path]
		seen[r.URL.Path] = true
		mu.Unlock()
		if failFirst && first && id%7 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"id":%d}`, id)
	}))
	t.Cleanup(o.Close)
	return o
}

// runbookConfig writes config.toml, as the runbook lines name it, for n
// items fetched from origin into the Redis at url, and returns its folder.
func runbookConfig(t *testing.T, url, origin string, n int, extra string) string {
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "p"
items = { range = [1, %d] }
key = "p:{{.}}"
fetch = { url = "%s/p/{{.}}" }
%s
`, url, n, origin, extra), map[string]string{})
	return filepath.Dir(cfg)
}

// Every runbook line of the docs runs, as written, against a real
// redis-server, with the tests' cachewarm on PATH: a README edit that
// breaks one fails here.
func TestReadmeRunbooks(t *testing.T) {
	t.Parallel()
	blocks := readmeRunbooks(t)
	const n = 140
	allKeys := func(t *testing.T, srv *redistest.Server) {
		t.Helper()
		if got := srv.Client.DBSize(context.Background()).Val(); got != n {
			t.Errorf("%d keys, want %d", got, n)
		}
	}
	runBlock := func(t *testing.T, dir, name string) (int, string) {
		t.Helper()
		block, ok := blocks[name]
		if !ok {
			t.Fatalf("%s has no runbook-test %q", runbookDoc, name)
		}
		code, out, errs := runShell(t, dir, block)
		return code, out + errs
	}
	t.Run("retry", func(t *testing.T) {
		srv := redistest.Start(t)
		dir := runbookConfig(t, srv.URL(), runbookOrigin(t, true).URL, n, "")
		if code, out := runBlock(t, dir, "retry"); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		allKeys(t, srv)
		rep, err := warmup.ReadReport(filepath.Join(dir, "out.json"))
		if err != nil || rep.Rejected != 0 || rep.FulfilledBefore == 0 || rep.Fulfilled+rep.FulfilledBefore != n {
			t.Fatalf("out.json: %v %+v", err, rep)
		}
	})
	t.Run("resume", func(t *testing.T) {
		srv := redistest.Start(t)
		dir := runbookConfig(t, srv.URL(), runbookOrigin(t, false).URL, n, `rate = "100/s"`)
		cmd := exec.Command(buildBinary(t), "--config", "config.toml", "--plain")
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitKeys(t, srv, 20)
		cmd.Process.Kill() // a crash: no report, the journal left unfinished
		cmd.Wait()
		if code, out := runBlock(t, dir, "resume"); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		allKeys(t, srv)
		if _, err := warmup.ReadReport(filepath.Join(dir, "out.json")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("verify", func(t *testing.T) {
		srv := redistest.Start(t)
		dir := runbookConfig(t, srv.URL(), runbookOrigin(t, true).URL, n, "")
		if code, out := runBlock(t, dir, "verify"); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		allKeys(t, srv)
		rep, err := warmup.ReadReport(filepath.Join(dir, "r.json"))
		if err != nil || rep.Verify == nil || rep.Verify.Checked != n || rep.Rejected != 0 {
			t.Fatalf("r.json: %v %+v", err, rep)
		}
	})
	t.Run("shards", func(t *testing.T) {
		srv := redistest.Start(t)
		dir := runbookConfig(t, srv.URL(), runbookOrigin(t, false).URL, n, "")
		if code, out := runBlock(t, dir, "shards"); code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		allKeys(t, srv)
		rep, err := warmup.ReadReport(filepath.Join(dir, "all.json"))
		if err != nil || rep.Fulfilled != n || rep.Merged == nil || len(rep.Merged.Shards) != 3 {
			t.Fatalf("all.json: %v %+v", err, rep)
		}
		// As the README says: xargs exits 123 when a shard exits 1.
		srv2 := redistest.Start(t)
		dir = runbookConfig(t, srv2.URL(), runbookOrigin(t, true).URL, n, "")
		first, _, _ := strings.Cut(blocks["shards"], "\n")
		if code, _, errs := runShell(t, dir, first); code != 123 {
			t.Fatalf("shards with rejections: exit %d, want xargs's 123\n%s", code, errs)
		}
	})
	t.Run("cron", func(t *testing.T) {
		srv := redistest.Start(t, "--requirepass", "cron-pw")
		// The config's own URL is wrong: the environment's must win.
		dir := runbookConfig(t, "redis://127.0.0.1:1/0", runbookOrigin(t, false).URL, n, "")
		line := blocks["cron"]
		for placeholder, real := range map[string]string{
			"redis://:…@cache:6379/0": "redis://:cron-pw@" + srv.Addr() + "/0",
			"/etc/cachewarm.toml":     filepath.Join(dir, "config.toml"),
			"/var/log/cachewarm.json": filepath.Join(dir, "cachewarm.json"),
		} {
			if !strings.Contains(line, placeholder) {
				t.Fatalf("the cron line has no %s:\n%s", placeholder, line)
			}
			line = strings.ReplaceAll(line, placeholder, real)
		}
		code, out, errs := runShell(t, dir, line)
		if code != 0 || out != "" {
			t.Fatalf("exit %d, stdout %q\n%s", code, out, errs)
		}
		admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "cron-pw"})
		defer admin.Close()
		if got := admin.DBSize(context.Background()).Val(); got != n {
			t.Errorf("%d keys, want %d", got, n)
		}
		if _, err := warmup.ReadReport(filepath.Join(dir, "cachewarm.json")); err != nil {
			t.Fatal(err)
		}
	})
}
