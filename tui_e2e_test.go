package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// tmuxSession runs a command in a detached tmux session on its own
// socket, for driving the monitor like a person would.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, w, h int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		msg := "tmux not found: install the Debian package tmux to run the terminal end-to-end test"
		if redistest.Require() {
			t.Fatal(msg + " (CACHEWARM_REQUIRE_REDIS=1)")
		}
		t.Skip(msg)
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("cachewarm-test-%d", time.Now().UnixNano())}
	s.run("new-session", "-d", "-s", "main", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-e", "TERM=xterm-256color", command)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-t", "main") }

func (s *tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", "main"}, keys...)...)
}

// waitFor polls the screen until it shows want, or fails after timeout.
func (s *tmuxSession) waitFor(want string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q; last screen:\n%s", want, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The end-to-end run: the built binary in a real terminal, a real
// redis-server, an origin that fails some items for a while and one that
// has lost others; the monitor groups the failures by cause, r on a cause
// retries only its items, q quits and leaves the summary on the
// terminal, and report and Redis agree.
func TestMonitorRetryEndToEnd(t *testing.T) {
	t.Parallel()
	const pw = "monitor-pw-5521"
	srv := redistest.Start(t, "--requirepass", pw)
	o := newFlakyOrigin(t, "/p/3", "/p/8", "/p/13")
	var goneHits atomic.Int32
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goneHits.Add(1)
		http.NotFound(w, r)
	}))
	defer gone.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://:%s@%s/0"
[run]
retries = 0
[[loader]]
name = "pages"
items = { range = [1, 20] }
key = "page:{{.}}"
fetch = { url = "%s/p/{{.}}" }
[[loader]]
name = "tags"
items = { list = ["a", "b"] }
key = "tag:{{.}}"
[[loader]]
name = "old"
items = { list = ["x", "y"] }
key = "old:{{.}}"
fetch = { url = "%s/old/{{.}}" }
`, pw, srv.Addr(), o.URL, gone.URL), map[string]string{})
	bin := buildBinary(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 120, 40, fmt.Sprintf("%s --config %s --report %s; echo $? > %s; sleep 30", bin, cfg, report, exitFile))

	scr := s.waitFor("done in", 20*time.Second)
	if !strings.Contains(scr, "✗ 5 rejected") || !strings.Contains(scr, "✓ 19 fulfilled") {
		t.Fatalf("after the first pass:\n%s", scr)
	}
	if strings.Contains(scr, pw) || !strings.Contains(scr, "redis://:***@") {
		t.Fatalf("the header must show the target with its password redacted:\n%s", scr)
	}
	// The tiles name the cause, whole.
	if !strings.Contains(scr, "✗ 503 Service Unavailable · GET /p/") || !strings.Contains(scr, "✗ 404 Not Found · GET /old/") {
		t.Fatalf("tiles without their causes:\n%s", scr)
	}
	// What fails and why is one key away: every loader's causes.
	s.keys("f")
	scr = s.waitFor("example", 5*time.Second)
	for _, want := range []string{"pages   503 Service Unavailable  3        60%    GET /p/", "old     404 Not Found            2        40%    GET /old/"} {
		if !strings.Contains(scr, want) {
			t.Fatalf("all failures lack %q:\n%s", want, scr)
		}
	}
	// The pages' items a tab away from their causes.
	s.keys("Enter")
	s.waitFor("failures of pages · causes", 5*time.Second)
	s.keys("Tab")
	scr = s.waitFor("row 1/3", 5*time.Second)
	if !strings.Contains(scr, "GET /p/3") || !strings.Contains(scr, "GET /p/13") {
		t.Fatalf("item list of pages:\n%s", scr)
	}
	// esc goes back one view at a time: the causes, all failures, the
	// grid.
	s.keys("Escape")
	s.waitFor("failures of pages · causes", 5*time.Second)
	s.keys("Escape")
	s.waitFor("all failures  ✗", 5*time.Second)
	s.keys("Escape")
	s.waitFor("enter failures", 5*time.Second)

	// The origin is back; the lost pages are not: retry the 503s only.
	o.heal()
	s.keys("f")
	s.waitFor("example", 5*time.Second)
	s.keys("r")
	scr = s.waitFor("✗ 2 rejected  0 pending", 20*time.Second)
	if !strings.Contains(scr, "✓ 22 fulfilled") || strings.Contains(scr, "pages   503") {
		t.Fatalf("after retrying the 503s:\n%s", scr)
	}
	if n := goneHits.Load(); n != 2 {
		t.Fatalf("the lost pages were requested %d times, want 2: a retry of another cause touched them", n)
	}
	s.keys("Escape")
	s.waitFor("enter failures", 5*time.Second)
	s.keys("q")
	code := waitFile(t, exitFile, 10*time.Second, s)
	if code != "1" {
		t.Fatalf("exit code %s, want 1 (2 still rejected)", code)
	}
	// The terminal is restored, with the summary --plain prints on it.
	scr = s.screen()
	if strings.Contains(scr, "enter failures") {
		t.Errorf("monitor still on screen after quitting:\n%s", scr)
	}
	for _, want := range []string{"LOADER", "TOTAL", "old: 2 × 404 Not Found (e.g. GET /old/", "report written to " + report} {
		if !strings.Contains(strings.ReplaceAll(scr, "\n", ""), want) {
			t.Errorf("no %q left on the terminal:\n%s", want, scr)
		}
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 22 || rep.Rejected != 2 || rep.Interrupted {
		t.Fatalf("report: %d fulfilled, %d rejected, interrupted %v", rep.Fulfilled, rep.Rejected, rep.Interrupted)
	}
	if data, _ := os.ReadFile(report); strings.Contains(string(data), pw) {
		t.Fatal("password in the report")
	}
	if n := len(srv.Keys("*")); n != 22 {
		t.Fatalf("%d keys in Redis, want 22", n)
	}
	for i := 1; i <= 20; i++ {
		want := 1
		if i == 3 || i == 8 || i == 13 {
			want = 2 // one failed request, one retry
		}
		if got := o.count(fmt.Sprintf("/p/%d", i)); got != want {
			t.Errorf("/p/%d requested %d times, want %d", i, got, want)
		}
	}
}

// SIGTERM while the monitor runs: in-flight items settle or are rejected
// "interrupted", the report is written, exit 130, terminal restored.
func TestMonitorSIGTERM(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	release := make(chan struct{})
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/p/1" {
			fmt.Fprint(w, "fast")
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer o.Close()
	defer close(release)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
concurrency = 2
timeout = "3s"
[[loader]]
name = "slow"
items = { range = [1, 50] }
key = "s:{{.}}"
fetch = { url = "%s/p/{{.}}" }
`, srv.URL(), o.URL), map[string]string{})
	bin := buildBinary(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	pidFile := filepath.Join(dir, "pid")
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 100, 30, fmt.Sprintf("sh -c 'echo $$ > %s; exec %s --config %s --report %s'; echo $? > %s; sleep 30", pidFile, bin, cfg, report, exitFile))
	s.waitFor("✓ 1 fulfilled", 15*time.Second)
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("kill", "-TERM", strings.TrimSpace(string(pid))).CombinedOutput(); err != nil {
		t.Fatalf("kill: %v %s", err, out)
	}
	// The monitor stays up while in-flight items settle, and says so.
	s.waitFor("stopping", 5*time.Second)
	code := waitFile(t, exitFile, 10*time.Second, s)
	if code != "130" {
		t.Fatalf("exit %s, want 130", code)
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Fulfilled != 1 || rep.Rejected < 1 {
		t.Fatalf("report: interrupted %v, %d fulfilled, %d rejected", rep.Interrupted, rep.Fulfilled, rep.Rejected)
	}
	for _, r := range rep.Loaders[0].RejectedItems {
		// An item whose in-flight fetch timed out during the stop keeps
		// that cause in its reason.
		if r.Stage != warmup.StageInterrupted || (r.Reason != "interrupted" && !strings.HasPrefix(r.Reason, "interrupted after a failed attempt: ")) {
			t.Errorf("stage %s, reason %q, want interrupted", r.Stage, r.Reason)
		}
	}
	if scr := s.screen(); strings.Contains(scr, "? help • q quit") {
		t.Errorf("monitor still on screen:\n%s", scr)
	}
}

// waitFile waits for a file the shell writes when the program exits and
// returns its trimmed content.
func waitFile(t *testing.T, path string, timeout time.Duration, s *tmuxSession) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("cachewarm did not exit; screen:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// q in the monitor while work runs stops the run the way a signal does:
// the report records what was never started, and the runbook's
// --retry-from finishes the job with the keyspace of an uninterrupted run.
func TestMonitorQuitThenRetryFrom(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "v%s", r.URL.Path)
	}))
	defer o.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
concurrency = 4
[[loader]]
name = "pages"
items = { range = [1, 2000] }
key = "p:{{.}}"
fetch = { url = "%s/{{.}}" }
rate = "500/s"
[[loader]]
name = "bulk"
items = { range = [1, 100000] }
key = "b:{{.}}"
rate = "20000/s"
`, srv.URL(), o.URL), map[string]string{})
	bin := buildBinary(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 120, 30, fmt.Sprintf("sh -c '%s --config %s --report %s; echo $? > %s; sleep 30'", bin, cfg, report, exitFile))
	s.waitFor("running", 15*time.Second)
	waitKeys(t, srv, 2000)
	s.keys("q")
	if code := waitFile(t, exitFile, 20*time.Second, s); code != "130" {
		t.Fatalf("exit %s after q while running, want 130", code)
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.NotStarted == 0 {
		t.Fatalf("report after q: interrupted %v, %d not started", rep.Interrupted, rep.NotStarted)
	}
	retryUntilDone(t, bin, cfg, report)
	checkKeys(t, srv, "p:%d", 2000, func(i int) string { return fmt.Sprintf("v/%d", i) })
	checkKeys(t, srv, "b:%d", 100000, func(i int) string { return fmt.Sprint(i) })
	if n := len(srv.Keys("*")); n != 102000 {
		t.Fatalf("%d keys, want exactly 102000", n)
	}
}

// A monitor whose terminal goes away without a SIGHUP (the tmux server
// killed under a process started with setsid) stops as for SIGHUP: it
// writes its report and exits, instead of waiting for a key forever.
func TestMonitorStopsWhenTerminalGoesAway(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	release := make(chan struct{})
	defer close(release)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer origin.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
timeout = "2s"
[[loader]]
name = "slow"
items = { range = [1, 20] }
key = "s:{{.}}"
fetch = { url = "%s/{{.}}" }
`, srv.URL(), origin.URL), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	s := startTmux(t, 100, 30, fmt.Sprintf("setsid -w %s --config %s --report %s", buildBinary(t), cfg, report))
	s.waitFor("slow", 20*time.Second)
	exec.Command("tmux", "-L", s.socket, "kill-server").Run()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if rep, err := warmup.ReadReport(report); err == nil {
			if !rep.Interrupted || rep.Fulfilled != 0 {
				t.Fatalf("report: interrupted %v, %d fulfilled; want a stopped run", rep.Interrupted, rep.Fulfilled)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no report 30s after the terminal went away")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Redis down past redis_wait, in a real terminal: the monitor does not
// leave. It says the run stopped and why, says when Redis is back, and
// then r retries the rejected items and R reads every source on from
// where it stopped; after q the exit code, the report and Redis agree
// that every item was written once and none was lost.
func TestMonitorHeldByRedisEndToEnd(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	var served atomic.Int64
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 40 {
			srv.Kill()
		}
		fmt.Fprintf(w, "v%s", r.URL.Path)
	}))
	defer o.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
concurrency = 4
retries = 0
timeout = "1s"
redis_wait = "1s"
[[loader]]
name = "pages"
items = { range = [1, 300] }
key = "p:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "bulk"
items = { range = [1, 20000] }
key = "b:{{.}}"
`, srv.URL(), o.URL), map[string]string{})
	bin := buildBinary(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 120, 36, fmt.Sprintf("sh -c 'XDG_STATE_HOME=%s %s --config %s --report %s; echo $? > %s; sleep 30'", dir, bin, cfg, report, exitFile))
	scr := s.waitFor("■ stopped: Redis unavailable for", 30*time.Second)
	if !strings.Contains(scr, "still down") || !strings.Contains(scr, "not started") {
		t.Fatalf("the stopped monitor should say Redis is still down and what was not started:\n%s", scr)
	}
	// The tiles show why the items were rejected: Redis, not a stop.
	// The outage's cause is its first: the kill resets or closes the
	// connections in use, or refuses the next.
	if strings.Contains(scr, "✗ interrupted") || !(strings.Contains(scr, "connection refused") || strings.Contains(scr, "connection reset") || strings.Contains(scr, "connection closed")) {
		t.Fatalf("the stopped tiles should show the outage's cause, not \"interrupted\":\n%s", scr)
	}
	if _, err := os.Stat(exitFile); err == nil {
		t.Fatalf("the monitor exited on a redis_wait stop:\n%s", scr)
	}
	srv.Restart()
	s.waitFor("Redis is back", 20*time.Second)
	s.keys("r")
	s.waitFor("↻ retrying", 10*time.Second)
	// Once the retry settled (and its flash is gone), the summary says
	// that the rest is still unread and R reads it.
	scr = s.waitFor("R reads on the rest", 20*time.Second)
	if !strings.Contains(scr, "· ✗ 0 rejected") || !strings.Contains(scr, "■ stopped") {
		t.Fatalf("after r every rejected item should be fulfilled, the run still stopped:\n%s", scr)
	}
	s.keys("R")
	// The summary line, once all is settled (the re-check of the
	// restarted Redis's keys included): the header's counts come sooner.
	scr = s.waitFor("✓ 20,300 fulfilled · ✗ 0 rejected", 30*time.Second)
	if strings.Contains(scr, "stopped:") || strings.Contains(scr, "not started") {
		t.Fatalf("after R the run should be whole:\n%s", scr)
	}
	s.keys("q")
	if code := waitFile(t, exitFile, 20*time.Second, s); code != "0" {
		t.Fatalf("exit %s, want 0: every item was written in the end", code)
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 20300 || rep.Rejected != 0 || rep.NotStarted != 0 || rep.Stopped != "" {
		t.Fatalf("report: %d fulfilled, %d rejected, %d not started, stopped %q", rep.Fulfilled, rep.Rejected, rep.NotStarted, rep.Stopped)
	}
	checkKeys(t, srv, "p:%d", 300, func(i int) string { return fmt.Sprintf("v/%d", i) })
	checkKeys(t, srv, "b:%d", 20000, func(i int) string { return fmt.Sprint(i) })
	if n := len(srv.Keys("*")); n != 20300 {
		t.Fatalf("DBSIZE %d, want exactly 20300", n)
	}
}
