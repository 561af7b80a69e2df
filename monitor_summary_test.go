package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// The monitor, started without --report, quit with q: what stays on a
// 120×36 terminal is the table, the causes grouped and, last, the command
// that retries the failures, which works as printed. Before, ~30 lines of
// rejected items scrolled the table off and the hint named a --report
// that did not exist.
func TestMonitorQuitLeavesTheRetryCommand(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var down []string
	for i := 1; i <= 60; i += 2 {
		down = append(down, fmt.Sprintf("/a/%d", i), fmt.Sprintf("/b/%d", i))
	}
	o := newFlakyOrigin(t, down...)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "a"
items = { range = [1, 60] }
key = "a:{{.}}"
fetch = { url = "%s/a/{{.}}" }
[[loader]]
name = "b"
items = { range = [1, 60] }
key = "b:{{.}}"
fetch = { url = "%s/b/{{.}}" }
`, srv.URL(), o.URL, o.URL), map[string]string{})
	dir := filepath.Dir(cfg)
	bin := buildBinary(t)
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 120, 36, fmt.Sprintf("cd %s && PATH=%s:$PATH XDG_STATE_HOME=%s cachewarm --config config.toml; echo $? > %s; sleep 30",
		dir, filepath.Dir(bin), os.Getenv("XDG_STATE_HOME"), exitFile))
	s.waitFor("done in", 30*time.Second)
	s.keys("q")
	if code := waitFile(t, exitFile, 20*time.Second, s); code != "1" {
		t.Fatalf("exit %s, want 1", code)
	}
	scr := strings.TrimRight(s.run("capture-pane", "-p", "-J", "-t", "main"), "\n ")
	lines := strings.Split(scr, "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	retry, ok := strings.CutPrefix(last, "retry: ")
	if !ok || !strings.Contains(scr, "LOADER") || !strings.Contains(scr, "a, b: 60 × 503 Service Unavailable (e.g. GET /") {
		t.Fatalf("after q the screen does not hold the table, the causes and the retry command last:\n%s", scr)
	}
	if strings.Contains(scr, "rejected a:") {
		t.Errorf("per-item lines on the screen:\n%s", scr)
	}
	o.heal()
	code, _, errs := runShell(t, dir, retry)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s", retry, code, errs)
	}
	if n := srv.Client.DBSize(context.Background()).Val(); n != 120 {
		t.Fatalf("%d keys after the retry, want 120", n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range []string{"/a/1", "/b/59"} {
		if o.hits[p] != 2 {
			t.Errorf("%s fetched %d times, want 2 (the run, the retry)", p, o.hits[p])
		}
	}
	if o.hits["/a/2"] != 1 {
		t.Errorf("/a/2 fetched %d times: the retry fetched a fulfilled item", o.hits["/a/2"])
	}
}
