package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// runShell runs line through sh in dir, with the tests' cachewarm first
// on PATH, as an operator pastes it.
func runShell(t *testing.T, dir, line string) (int, string, string) {
	t.Helper()
	bin := buildBinary(t)
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("sh -c %q: %v", line, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// Started without --report, a run keeps its record all the same, and
// --plain's last line is the command that retries the failures, to be
// run as printed: it retries exactly the rejected items, the retry's
// summary says what the first run fulfilled, and it ends with nothing to
// retry. What --plain leaves is the table, the causes grouped across
// loaders, and that command: no line per rejected item. Before, only a
// --report could be retried, the hint named "the report (--report PATH)"
// that did not exist, and up to ten lines per loader listed items.
func TestRetryLineRunsAsPrinted(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var down []string
	for i := 1; i <= 30; i += 3 {
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
items = { range = [1, 30] }
key = "a:{{.}}"
fetch = { url = "%s/a/{{.}}" }
[[loader]]
name = "b"
items = { range = [1, 30] }
key = "b:{{.}}"
fetch = { url = "%s/b/{{.}}" }
`, srv.URL(), o.URL, o.URL), map[string]string{})
	dir := filepath.Dir(cfg)
	code, stdout, stderr := runShell(t, dir, "cachewarm --config config.toml --plain")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	retry, ok := strings.CutPrefix(last, "retry: ")
	if !ok || !strings.HasPrefix(retry, "cachewarm --config config.toml --retry-from ") {
		t.Fatalf("last line %q is not the retry command:\n%s", last, stderr)
	}
	path := strings.TrimPrefix(retry, "cachewarm --config config.toml --retry-from ")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the retry names %s: %v", path, err)
	}
	if !strings.Contains(stderr, "a, b: 20 × 503 Service Unavailable (e.g. GET /") {
		t.Errorf("the 503s of both loaders are not one cause line:\n%s", stderr)
	}
	if strings.Contains(stderr, "rejected a:") || strings.Contains(stderr, ": rejected ") {
		t.Errorf("per-item lines on the screen:\n%s", stderr)
	}
	if n := len(lines) + strings.Count(stdout, "\n"); n > 12 {
		t.Errorf("%d lines left on the screen, want a summary that fits:\n%s%s", n, stdout, stderr)
	}
	o.heal()
	o.mu.Lock()
	before := map[string]int{}
	for p, n := range o.hits {
		before[p] = n
	}
	o.mu.Unlock()
	code, stdout, stderr = runShell(t, dir, retry)
	if code != 0 {
		t.Fatalf("%s: exit %d\n%s", retry, code, stderr)
	}
	failed := map[string]bool{}
	for _, p := range down {
		failed[p] = true
	}
	o.mu.Lock()
	for p, n := range o.hits {
		want := 0
		if failed[p] {
			want = 1
		}
		if n-before[p] != want {
			t.Errorf("%s fetched %d times by the retry, want %d", p, n-before[p], want)
		}
	}
	o.mu.Unlock()
	if n := srv.Client.DBSize(context.Background()).Val(); n != 60 {
		t.Errorf("%d keys after the retry, want 60", n)
	}
	if !strings.Contains(stderr, "retry of "+path+": 40 fulfilled before") || strings.Contains(stderr, "\nretry: ") {
		t.Errorf("the retry's summary:\n%s%s", stdout, stderr)
	}
}

// --json says everything on stdout, stderr empty: a warning as a notice,
// an outage (CLIENT PAUSE) as redis_waiting then redis_back with its
// duration, every event of a loader before its loader_done, and the
// summary with the outage, the report kept and, for a --retry-from run,
// fulfilled_before.
func TestJSONOutageEvents(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
timeout = "20s"
[[loader]]
name = "paced"
items = { range = [1, 300] }
key = "p:{{.}}"
rate = "100/s"
[[loader]]
name = "quick"
items = { list = ["x"] }
key = "q:{{.}}"
`, srv.URL()), map[string]string{})
	cmd := exec.Command(buildBinary(t), "--config", cfg, "--json", "--metrics-addr", ":0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, srv, 50)
	if err := srv.Client.Do(context.Background(), "CLIENT", "PAUSE", "2000", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not NDJSON: %q", sc.Text())
		}
		events = append(events, ev)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("stderr in --json: %q", errb.String())
	}
	var kinds []string
	done := map[string]bool{}
	for _, ev := range events {
		kind := ev["event"].(string)
		kinds = append(kinds, kind)
		if l, ok := ev["loader"].(string); ok && done[l] {
			t.Errorf("%s event of %s after its loader_done", kind, l)
		}
		if kind == "loader_done" {
			done[ev["loader"].(string)] = true
		}
		if kind == "progress" {
			for _, l := range ev["loaders"].([]any) {
				if n := l.(map[string]any)["loader"].(string); done[n] {
					t.Errorf("progress names %s after its loader_done", n)
				}
			}
		}
	}
	seq := strings.Join(kinds, " ")
	seq = strings.ReplaceAll(seq, "progress ", "")
	if !strings.HasPrefix(seq, "notice ") || !strings.Contains(events[0]["message"].(string), "--metrics-addr :0 serves /metrics on every interface") {
		t.Errorf("the warning is not the first event: %v", events[0])
	}
	if !strings.Contains(seq, "redis_waiting redis_back") || strings.Count(seq, "redis_waiting") != 1 || !strings.HasSuffix(seq, "summary") {
		t.Fatalf("events: %s", seq)
	}
	var back, sum map[string]any
	for _, ev := range events {
		switch ev["event"] {
		case "redis_back":
			back = ev
		case "summary":
			sum = ev
		}
	}
	if s, _ := back["seconds"].(float64); s < 1.5 || back["outcome"] != warmup.OutageBack {
		t.Errorf("redis_back %v: the pause lasted 2s", back)
	}
	outages, _ := sum["outages"].([]any)
	if len(outages) != 1 || sum["fulfilled"] != 301.0 || sum["report"] == nil || sum["retry_command"] != nil {
		t.Fatalf("summary %v", sum)
	}
	rf := sum["report"].(string)
	rep, err := warmup.ReadReport(rf)
	if err != nil || len(rep.Outages) != 1 {
		t.Fatalf("report %s: %v, outages %v", rf, err, rep)
	}
	// A --retry-from run's summary counts what the chain fulfilled.
	start := time.Now()
	code, out, errs := cliBin(t, buildBinary(t), "--config", cfg, "--json", "--retry-from", rf)
	if code != 0 || errs != "" {
		t.Fatalf("--retry-from: exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum["fulfilled_before"] != 301.0 || sum["retry_from"] != rf {
		t.Errorf("retry summary %v (%s)", sum, time.Since(start))
	}
}

// A signal during a --json run: a "stopped" event saying why comes
// before the loaders' ends and the summary, and stderr stays empty.
func TestJSONStoppedEvent(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "paced"
items = { range = [1, 100000] }
key = "p:{{.}}"
rate = "200/s"
`, srv.URL()), map[string]string{})
	cmd := exec.Command(buildBinary(t), "--config", cfg, "--json")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, srv, 20)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || errb.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	var kinds []string
	var stopped map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not NDJSON: %q", line)
		}
		if ev["event"] == "progress" || ev["event"] == "rejected" {
			continue // an item the stop caught may be rejected interrupted
		}
		kinds = append(kinds, ev["event"].(string))
		if ev["event"] == "stopped" {
			stopped = ev
		}
	}
	if got := strings.Join(kinds, " "); got != "stopped loader_done summary" || stopped["why"] != warmup.StopInterrupt {
		t.Fatalf("events %q, stopped %v", got, stopped)
	}
}
