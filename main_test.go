package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/rediswrite"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// cli runs cachewarm in-process with args and returns exit code, stdout
// and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return cliEnv(t, nil, args...)
}

// cliEnv is cli with the variables in env set for this run only: tests
// that run in parallel do not share them as they would the process's.
func cliEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, testEnv(env), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// testEnv is the environment of an in-process run: the variables in env,
// then the process's (which tests leave alone: XDG_STATE_HOME is set once
// in TestMain).
func testEnv(env map[string]string) lookupEnv {
	return func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
}

func writeConfig(t *testing.T, toml string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["config.toml"] = toml
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config.toml")
}

// flakyOrigin answers 503 for the paths in down until heal is called.
type flakyOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	down map[string]bool
	hits map[string]int
}

func newFlakyOrigin(t *testing.T, down ...string) *flakyOrigin {
	o := &flakyOrigin{down: map[string]bool{}, hits: map[string]int{}}
	for _, p := range down {
		o.down[p] = true
	}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		bad := o.down[r.URL.Path]
		o.mu.Unlock()
		if bad {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"page":%q}`, r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *flakyOrigin) heal() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = map[string]bool{}
}

func (o *flakyOrigin) count(p string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[p]
}

// The acceptance run: a list, a JSONL file and an HTTP fetch loader
// warmed headlessly; report and exit code match Redis item for item; a
// retry from the report fetches only what failed.
func TestHeadlessRunMatchesRedisAndRetryFrom(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o := newFlakyOrigin(t, "/pages/2", "/pages/4")
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 1
backoff = "1ms"
[[loader]]
name = "tags"
items = { list = ["red", "green"] }
key = "tag:{{.}}"
[[loader]]
name = "products"
items = { file = "products.jsonl" }
key = "product:{{.id}}"
[[loader]]
name = "pages"
items = { range = [1, 5] }
key = "page:{{.}}"
fetch = { url = "%s/pages/{{.}}" }
`, srv.URL(), o.URL), map[string]string{
		"products.jsonl": "{\"id\":1}\n{\"id\":2}\n{broken\n",
	})
	report := filepath.Join(t.TempDir(), "out.json")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, stdout, stderr := cli(t, "--config", cfg, "--plain", "--report", report, "--junit", junit)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (some rejected)\n%s", code, stderr)
	}
	for _, want := range []string{"tags", "products", "pages", "TOTAL"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "products.jsonl:3") {
		t.Errorf("stderr does not name the bad line:\n%s", stderr)
	}
	// The summary ends with each loader's causes and where the report is.
	for _, want := range []string{"pages: 2 × 503 Service Unavailable (e.g. GET /pages/", "cachewarm: report written to " + report} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// CI sees the failed loaders, and how to retry them, in --junit's file.
	xmlData, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testcase name="tags" classname="cachewarm.config">`, `<testcase name="pages" classname="cachewarm.config">`,
		`<failure message="2 rejected (3 fulfilled)" type="503 Service Unavailable">2 × 503 Service Unavailable (fetch), e.g. GET /pages/`,
		`<property name="retry_command" value="cachewarm --config ` + cfg + ` --retry-from ` + report + `"></property>`} {
		if !strings.Contains(string(xmlData), want) {
			t.Errorf("--junit file lacks %q:\n%s", want, xmlData)
		}
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 7 || rep.Rejected != 3 {
		t.Fatalf("report %d fulfilled, %d rejected; want 7/3", rep.Fulfilled, rep.Rejected)
	}
	ctx := context.Background()
	rejectedKeys := map[string]bool{}
	for _, l := range rep.Loaders {
		for _, r := range l.RejectedItems {
			rejectedKeys[r.Key] = true
			if r.Key != "" && srv.Client.Exists(ctx, r.Key).Val() != 0 {
				t.Errorf("rejected key %s exists in Redis", r.Key)
			}
		}
	}
	if n := len(srv.Keys("*")); int64(n) != rep.Fulfilled {
		t.Errorf("%d keys in Redis, report says %d fulfilled", n, rep.Fulfilled)
	}
	if !rejectedKeys["page:2"] || !rejectedKeys["page:4"] {
		t.Errorf("rejected keys %v", rejectedKeys)
	}

	o.heal()
	code, stdout, stderr = cli(t, "--config", cfg, "--plain", "--retry-from", report, "--report", report)
	if code != 1 { // the broken JSONL line stays rejected: a retry cannot fix the file
		t.Fatalf("retry exit %d\n%s", code, stderr)
	}
	rep, err = warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 2 || rep.Rejected != 1 || rep.Loaders[1].RejectedItems[0].Where != "products.jsonl:3" {
		t.Fatalf("retry report: %d fulfilled, %d rejected", rep.Fulfilled, rep.Rejected)
	}
	// The table counts what earlier runs of the chain fulfilled apart:
	// without them a loader looks short of items.
	if !strings.Contains(stdout, "BEFORE") || !regexp.MustCompile(`pages .* 2 +3 +0 +0 `).MatchString(stdout) {
		t.Errorf("the retry's table does not show what the first run fulfilled:\n%s", stdout)
	}
	// Why it still exits 1: the operator is told the file needs fixing,
	// and is not sent to --retry-from again.
	if rep.RejectedAtSource != 1 || rep.Loaders[1].RejectedAtSource != 1 {
		t.Errorf("report counts %d rejected at the source, want 1", rep.RejectedAtSource)
	}
	if !strings.Contains(stderr, "products: 1 rejected at the source (products.jsonl:3)") ||
		!strings.Contains(stderr, "1 rejected at the source need a fixed file") ||
		strings.Contains(stderr, "--retry-from the report") {
		t.Errorf("the retry's stderr does not say the file needs fixing:\n%s", stderr)
	}
	for p, want := range map[string]int{"/pages/1": 1, "/pages/2": 3, "/pages/3": 1, "/pages/4": 3, "/pages/5": 1} {
		if got := o.count(p); got != want {
			t.Errorf("%s fetched %d times, want %d", p, got, want)
		}
	}
	if n := len(srv.Keys("page:*")); n != 5 {
		t.Errorf("%d page keys after retry, want 5", n)
	}
}

func TestJSONEvents(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "a"
items = { list = [{ id = 1 }] }
key = "a:{{.id}}"
`, srv.URL()), map[string]string{})
	code, _, stderr := cli(t, "--config", cfg, "--json")
	if code != 2 || !strings.Contains(stderr, "loader[1].items.list[0]: list items must be strings or numbers") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	cfg = writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "a"
items = { list = ["x", "y"] }
key = "a:{{.}}"
[[loader]]
name = "b"
items = { list = ["1"] }
key = "{{.missing}}"
`, srv.URL()), map[string]string{})
	code, stdout, _ := cli(t, "--config", cfg, "--json")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not NDJSON: %q", sc.Text())
		}
		events = append(events, ev)
	}
	kinds := map[string]int{}
	for _, ev := range events {
		kinds[ev["event"].(string)]++
	}
	if kinds["rejected"] != 1 || kinds["loader_done"] != 2 || kinds["summary"] != 1 {
		t.Fatalf("events %v:\n%s", kinds, stdout)
	}
	for _, ev := range events {
		// The cause groups: the template's error, not the item.
		if ev["event"] == "rejected" && (ev["cause"] == nil || !strings.HasSuffix(ev["reason"].(string), ev["cause"].(string))) {
			t.Errorf("rejected event without its cause: %v", ev)
		}
	}
	last := events[len(events)-1]
	if last["event"] != "summary" || last["fulfilled"] != 2.0 || last["rejected"] != 1.0 {
		t.Fatalf("last event %v", last)
	}
}

func TestStartupErrorsExit2AndWriteNothing(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	port := redistest.FreePort(t)
	okLoader := "[[loader]]\nname = \"a\"\nitems = { range = [1, 3] }\nkey = \"a:{{.}}\"\n"
	tests := []struct {
		name string
		toml string
		args []string
		want string
	}{
		{"config error", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader + "tll = \"1h\"\n", nil, "loader[1].tll: unknown key"},
		// A refused connection is waited out for run.redis_wait first, as
		// a running run waits.
		{"redis unreachable", fmt.Sprintf("[run]\nredis_wait = \"300ms\"\n[redis]\nurl = \"redis://:topsecret-pw@127.0.0.1:%d/0\"\n", port) + okLoader, nil,
			fmt.Sprintf("cannot reach Redis at redis://:***@127.0.0.1:%d/0: connection refused", port)},
		{"unknown --only", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--only", "zzz"}, "--only: no loader named zzz"},
		{"bad flag", okLoader, []string{"--nope"}, "unknown flag: --nope"},
		{"report folder missing", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--report", "/nonexistent/out.json"}, "--report /nonexistent/out.json: folder /nonexistent does not exist"},
		{"report path is a folder", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--report", os.TempDir()}, "--report " + os.TempDir() + ": is a folder"},
		{"report folder read-only", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--report", filepath.Join(readOnlyDir(t), "r.json")}, "r.json: folder "},
		{"report path is a pipe", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--report", "FIFO"}, "fifo: is not a regular file"},
		{"report path is the config", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--report", "CONFIG"}, "is an input of this run"},
		{"junit folder missing", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--junit", "/nonexistent/junit.xml"}, "--junit /nonexistent/junit.xml: folder /nonexistent does not exist"},
		{"junit path is the config", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--junit", "CONFIG"}, "is an input of this run"},
		{"junit path is the report's", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--report", "out.xml", "--junit", "out.xml"}, "--junit out.xml: is the --report file too; choose another path"},
		{"empty --only", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--only", ""}, "--only: no loader names given"},
		{"dry run of a report", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--dry-run", "--retry-from", "r.json"}, "--dry-run previews the first items of each source; it does not read --retry-from"},
		{"missing report", fmt.Sprintf("[redis]\nurl = %q\n", srv.URL()) + okLoader, []string{"--retry-from", "/nonexistent/r.json"}, "read report: /nonexistent/r.json: no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.toml, map[string]string{})
			args := slices.Clone(tc.args)
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			for i, a := range args {
				args[i] = strings.NewReplacer("CONFIG", cfg, "FIFO", fifo).Replace(a)
			}
			code, stdout, stderr := cli(t, append([]string{"--config", cfg, "--plain"}, args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q lacks %q", stderr, tc.want)
			}
			if strings.Contains(stderr+stdout, "topsecret-pw") {
				t.Fatal("password printed")
			}
			if n := len(srv.Keys("*")); n != 0 {
				t.Fatalf("%d keys written", n)
			}
			if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
				t.Fatalf("the pipe was replaced")
			}
			if data, err := os.ReadFile(cfg); err != nil || !strings.Contains(string(data), "[[loader]]") {
				t.Fatalf("the config was replaced")
			}
		})
	}
}

// readOnlyDir is a folder no file can be created in: a read-only one,
// or for root, whom permissions do not stop, /proc/self.
func readOnlyDir(t *testing.T) string {
	if os.Geteuid() == 0 {
		return "/proc/self"
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	return dir
}

// fullDisk is a stdout on a full disk.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "p"
items = { file = "p.jsonl" }
key = "p:{{.id}}"
fetch = { url = "https://api.example.com/p/{{.id}}?key=${CW_TEST_TOKEN}" }
[[loader]]
name = "r"
items = { range = [1, 100] }
key = "r:{{.}}"
mode = "expiring"
expire_below = "5m"
`, srv.URL()), map[string]string{"p.jsonl": "{\"id\":7}\n"})
	env := map[string]string{"CW_TEST_TOKEN": "tok-very-secret"}
	code, stdout, stderr := cliEnv(t, env, "--config", cfg, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"SET p:7 ← GET https://api.example.com/p/7?key=***", "SET r:1 = 1", "SET r:3 = 3", "r (range 1..100, ttl 1h0m0s, mode expiring below 5m0s)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "r:4") || strings.Contains(stdout, "tok-very-secret") {
		t.Errorf("dry run shows too much:\n%s", stdout)
	}
	if n := len(srv.Keys("*")); n != 0 {
		t.Fatalf("dry run wrote %d keys", n)
	}
	var errb bytes.Buffer
	if code := run([]string{"--config", cfg, "--dry-run"}, testEnv(env), strings.NewReader(""), fullDisk{}, &errb); code != 1 ||
		!strings.Contains(errb.String(), "writing stdout: no space left on device") {
		t.Errorf("dry run to a full disk: exit %d, want 1 and why\n%s", code, errb.String())
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	if code, out, _ := cli(t, "--version"); code != 0 || !strings.HasPrefix(out, "cachewarm ") {
		t.Errorf("--version: %d %q", code, out)
	}
	code, _, stderr := cli(t, "-h")
	if code != 0 || !strings.Contains(stderr, "--retry-from") || !strings.Contains(stderr, "Exit codes") {
		t.Errorf("-h: %d %q", code, stderr)
	}
}

// SIGINT on the real binary: in-flight items settle, the rest are
// rejected "interrupted", the report is written, exit 130.
func TestInterruptWritesReportAndExits130(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	started := make(chan struct{}, 64)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer o.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
concurrency = 4
timeout = "500ms"
[[loader]]
name = "slow"
items = { range = [1, 1000] }
key = "s:{{.}}"
fetch = { url = "%s/{{.}}" }
`, srv.URL(), o.URL), map[string]string{})
	bin := buildBinary(t)
	report := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(bin, "--config", cfg, "--plain", "--report", report)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-started
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d (%v), want 130\n%s", code, err, stderr.String())
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Loaders[0]
	if !rep.Interrupted || l.Rejected == 0 || l.Fulfilled+l.Rejected >= 1000 {
		t.Fatalf("report: interrupted %v, %d fulfilled, %d rejected", rep.Interrupted, l.Fulfilled, l.Rejected)
	}
	for _, r := range l.RejectedItems {
		if r.Reason != "interrupted" && !strings.Contains(r.Reason, "timeout after 500ms") {
			t.Errorf("reason %q", r.Reason)
		}
	}
}

// TestMain removes the binary the tests built, if any.
func TestMain(m *testing.M) {
	// Runs keep their journals in a folder of the tests' own.
	state, err := os.MkdirTemp("", "cachewarm-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", state)
	// main's, for the runs the tests make in-process.
	redis.SetLogger(quietLogger{})
	// Most tests wait on a subprocess, a server or a terminal.
	redistest.RaiseParallel(4)
	code := m.Run()
	os.RemoveAll(state)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the cachewarm binary of this test process: built once, by the
// first test that needs it, since a build costs seconds and every test
// that runs the command as a process would otherwise pay them.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "cachewarm-test-"); built.err != nil {
			return
		}
		bin := filepath.Join(built.dir, "cachewarm")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// Secrets never appear in any output: plain, JSON, report, JUnit, the
// journal, what is pushed to a Pushgateway, dry run, errors.
func TestSecretsNeverShow(t *testing.T) {
	t.Parallel()
	const pw, token = "redis-pw-Zq81x", "api-tok-77HkQ"
	srv := redistest.Start(t, "--requirepass", pw)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/2") {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer o.Close()
	env := map[string]string{"CW_PW": pw, "CW_TOKEN": token}
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://:${CW_PW}@%s/0"
[run]
retries = 0
# The run pointed at a port nobody listens on gives up after this; what
# it prints while waiting is the point, not how long it waits.
redis_wait = "1s"
[[loader]]
name = "s"
items = { range = [1, 3] }
key = "s:{{.}}"
fetch = { url = "%s/{{.}}?token=${CW_TOKEN}&api_key=literal-key-5Rt", headers = { Authorization = "Bearer ${CW_TOKEN}" } }
`, srv.Addr(), o.URL), map[string]string{})
	// What the Pushgateway receives is metrics output too.
	var pushed bytes.Buffer
	var pushedMu sync.Mutex
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pushedMu.Lock()
		defer pushedMu.Unlock()
		io.Copy(&pushed, r.Body)
	}))
	defer gw.Close()
	dir := t.TempDir()
	report, junit, journal := filepath.Join(dir, "r.json"), filepath.Join(dir, "j.xml"), filepath.Join(dir, "run.journal")
	var all strings.Builder
	for _, args := range [][]string{
		{"--plain", "--report", report, "--junit", junit, "--journal", journal, "--pushgateway", gw.URL},
		{"--json"},
		{"--dry-run"},
		{"--plain", "--redis", fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", pw, redistest.FreePort(t))},
		{"--plain", "--retry-from", report},
	} {
		code, stdout, stderr := cliEnv(t, env, append([]string{"--config", cfg}, args...)...)
		all.WriteString(stdout + stderr)
		if args[0] == "--plain" && args[1] == "--report" && code != 1 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	for _, f := range []string{report, junit, journal} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	pushedMu.Lock()
	if pushed.Len() == 0 {
		t.Error("nothing pushed to the Pushgateway")
	}
	all.Write(pushed.Bytes())
	pushedMu.Unlock()
	out := all.String()
	if !strings.Contains(out, "token=***") || !strings.Contains(out, "502 Bad Gateway") || !strings.Contains(out, "redis://:***@") {
		t.Fatalf("outputs lack the redacted forms:\n%s", out)
	}
	// A credential written into the URL, not brought in by ${VAR}, too.
	for _, secret := range []string{pw, token, "literal-key-5Rt"} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret %q shown:\n%s", secret, out)
		}
	}
}

// A run stopped by SIGTERM or SIGHUP (an ssh session dropping) records
// what it never started; the runbook line
// `cachewarm --report r.json || cachewarm --retry-from r.json --report r.json`
// then finishes the job: the keyspace equals an uninterrupted run's and
// the last run exits 0.
func TestStoppedRunFinishedByRetryFrom(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "v%s", r.URL.Path)
			}))
			defer o.Close()
			var lines strings.Builder
			for i := 1; i <= 50000; i++ {
				fmt.Fprintf(&lines, "{\"id\":%d}\n", i)
			}
			cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
concurrency = 8
[[loader]]
name = "fetch"
items = { range = [1, 3000] }
key = "f:{{.}}"
fetch = { url = "%s/{{.}}" }
[[loader]]
name = "range"
items = { range = [1, 200000] }
key = "r:{{.}}"
[[loader]]
name = "file"
items = { file = "items.jsonl" }
key = "j:{{.id}}"
rate = "20000/s"
`, srv.URL(), o.URL), map[string]string{"items.jsonl": lines.String()})
			bin := buildBinary(t)
			report := filepath.Join(t.TempDir(), "r.json")
			cmd := exec.Command(bin, "--config", cfg, "--plain", "--report", report)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitKeys(t, srv, 20000)
			cmd.Process.Signal(sig)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 130 {
				t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
			}
			rep, err := warmup.ReadReport(report)
			if err != nil {
				t.Fatal(err)
			}
			if rep.NotStarted == 0 {
				t.Fatalf("a stopped run with most of its items unread reports nothing not started: %+v", rep.ReportTotals)
			}
			if n := int64(len(srv.Keys("*"))); n < rep.Fulfilled {
				t.Fatalf("%d keys, the report says %d fulfilled", n, rep.Fulfilled)
			}
			retryUntilDone(t, bin, cfg, report)
			checkKeys(t, srv, "f:%d", 3000, func(i int) string { return fmt.Sprintf("v/%d", i) })
			checkKeys(t, srv, "r:%d", 200000, func(i int) string { return fmt.Sprint(i) })
			checkKeys(t, srv, "j:%d", 50000, func(i int) string { return fmt.Sprintf("{\"id\":%d}", i) })
			if n := len(srv.Keys("*")); n != 253000 {
				t.Fatalf("%d keys, want exactly 253000", n)
			}
		})
	}
}

// retryUntilDone runs the runbook's second step,
// `--retry-from report --report report`, until it exits 0: at most three
// times.
func retryUntilDone(t *testing.T, bin, cfg, report string) {
	t.Helper()
	for run := 1; ; run++ {
		code, _, errOut := cliBin(t, bin, "--config", cfg, "--plain", "--retry-from", report, "--report", report)
		if code == 0 {
			return
		}
		if run == 3 {
			t.Fatalf("--retry-from run %d: exit %d\n%s", run, code, errOut)
		}
	}
}

func cliBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// waitKeys polls until Redis holds at least n keys.
func waitKeys(t *testing.T, srv *redistest.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for srv.Client.DBSize(context.Background()).Val() < n {
		if time.Now().After(deadline) {
			t.Fatalf("Redis holds %d keys after 30s, waited for %d", srv.Client.DBSize(context.Background()).Val(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkKeys asserts keys pattern 1..n hold the values want gives.
func checkKeys(t *testing.T, srv *redistest.Server, pattern string, n int, want func(int) string) {
	t.Helper()
	ctx := context.Background()
	for start := 1; start <= n; start += 10000 {
		pipe := srv.Client.Pipeline()
		end := min(start+10000, n+1)
		cmds := make([]*redis.StringCmd, 0, end-start)
		for i := start; i < end; i++ {
			cmds = append(cmds, pipe.Get(ctx, fmt.Sprintf(pattern, i)))
		}
		pipe.Exec(ctx)
		for j, c := range cmds {
			if v := c.Val(); v != want(start+j) {
				t.Fatalf("%s = %q (%v), want %q", fmt.Sprintf(pattern, start+j), v, c.Err(), want(start+j))
			}
		}
	}
}

// HTTP_PROXY from the environment is honoured, as net/http does: a plain
// http:// origin only the proxy can reach is fetched through it, the proxy
// receiving the absolute URL. (The built binary reads a fresh
// environment; net/http reads it once per process.)
func TestFetchThroughProxyFromEnvironment(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var mu sync.Mutex
	var asked []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.String())
		mu.Unlock()
		fmt.Fprint(w, "via proxy "+r.URL.Path)
	}))
	defer proxy.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "p"
items = { list = ["a", "b"] }
key = "p:{{.}}"
fetch = { url = "http://origin.test/{{.}}" }
`, srv.URL()), map[string]string{})
	cmd := exec.Command(buildBinary(t), "--config", cfg, "--plain")
	cmd.Env = append(os.Environ(), "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, item := range []string{"a", "b"} {
		if v, _ := srv.Client.Get(context.Background(), "p:"+item).Result(); v != "via proxy /"+item {
			t.Errorf("p:%s = %q", item, v)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || !strings.HasPrefix(asked[0], "http://origin.test/") {
		t.Errorf("the proxy was asked for %v, want the absolute origin.test URLs", asked)
	}
}

// --retry-from runs every loader of the config: those the report names
// from where they stopped, the others (left out with --only, or added
// since) from their start. A file that is not a cachewarm report is
// refused before anything is written.
func TestRetryFromRunsLoadersTheReportDoesNotName(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "a"
items = { range = [1, 100] }
key = "a:{{.}}"
[[loader]]
name = "b"
items = { range = [1, 100] }
key = "b:{{.}}"
`, srv.URL()), map[string]string{"empty.json": "{}"})
	report := filepath.Join(t.TempDir(), "r.json")
	if code, _, errOut := cli(t, "--config", cfg, "--plain", "--only", "a", "--report", report); code != 0 {
		t.Fatalf("--only a: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := cli(t, "--config", cfg, "--plain", "--retry-from", report); code != 0 {
		t.Fatalf("--retry-from: exit %d\n%s", code, errOut)
	}
	if n := len(srv.Keys("b:*")); n != 100 {
		t.Fatalf("%d keys of loader b after --retry-from, want 100", n)
	}
	srv.Client.FlushAll(context.Background())
	code, _, errOut := cli(t, "--config", cfg, "--plain", "--retry-from", filepath.Join(filepath.Dir(cfg), "empty.json"))
	if code != 2 || !strings.Contains(errOut, "not a cachewarm report") {
		t.Fatalf("--retry-from {}: exit %d\n%s", code, errOut)
	}
	if n := len(srv.Keys("*")); n != 0 {
		t.Fatalf("%d keys written from a file that is not a report", n)
	}
}

// A closed stdout (`cachewarm --json … | head -1`) does not kill the run:
// it finishes, writes its report and exits with the run's own code.
func TestClosedStdoutStillWritesTheReport(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "r"
items = { range = [1, 50000] }
key = "{{if eq (printf \"%%d\" .) \"7\"}}{{else}}r:{{.}}{{end}}"
[[loader]]
name = "bad"
items = { range = [1, 5000] }
key = "{{if gt . 0}}{{end}}"
`, srv.URL()), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(buildBinary(t), "--config", cfg, "--json", "--report", report)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	out.Close() // what head does after its first line
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d, want 1 (rejections), not death by SIGPIPE", code)
	}
	if !strings.Contains(stderr.String(), "stdout was closed") {
		t.Errorf("stderr does not say stdout was closed:\n%s", stderr.String())
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatalf("no report after stdout closed: %v", err)
	}
	if rep.Fulfilled != 49999 || rep.Rejected != 5001 {
		t.Fatalf("report %d fulfilled, %d rejected; want 49999 and 5001", rep.Fulfilled, rep.Rejected)
	}
}

// The usual cron line, `cachewarm --config c.toml >/dev/null`, runs
// headless: /dev/null is a character device but not a terminal, and a
// process started by cron has none.
func TestNoTerminalRunsHeadless(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "r"
items = { range = [1, 500] }
key = "r:{{.}}"
`, srv.URL()), map[string]string{})
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(buildBinary(t), "--config", cfg)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, &stderr
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal, as under cron
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if n := len(srv.Keys("r:*")); n != 500 {
		t.Fatalf("%d keys written, want 500\n%s", n, stderr.String())
	}
}

// Output to a full disk is not lost silently: stderr says so, and the
// exit code is not 0 even though every item was fulfilled.
func TestFullDiskOutputIsNotLostSilently(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "r"
items = { range = [1, 200] }
key = "r:{{.}}"
`, srv.URL()), map[string]string{})
	bin := buildBinary(t)
	for _, mode := range []string{"--json", "--plain"} {
		t.Run(mode, func(t *testing.T) {
			full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full: %v", err)
			}
			defer full.Close()
			var stderr bytes.Buffer
			cmd := exec.Command(bin, "--config", cfg, mode)
			cmd.Stdout, cmd.Stderr = full, &stderr
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit %d, want 1: the output was lost", code)
			}
			if !strings.Contains(stderr.String(), "writing stdout: no space left on device") {
				t.Errorf("stderr does not say the output was lost:\n%s", stderr.String())
			}
			if n := len(srv.Keys("r:*")); n != 200 {
				t.Errorf("%d keys written, want 200", n)
			}
		})
	}
}

// A password is passed in CACHEWARM_REDIS_URL, which overrides the
// config's URL and stays out of the process list; one given in --redis
// works too, with a warning, and is never printed.
func TestRedisURLFromEnvironment(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-from-env"
	srv := redistest.Start(t, "--requirepass", pw)
	authed := fmt.Sprintf("redis://:%s@%s/0", pw, srv.Addr())
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://127.0.0.1:%d"
[[loader]]
name = "r"
items = { range = [1, 20] }
key = "r:{{.}}"
`, redistest.FreePort(t)), map[string]string{})

	env := map[string]string{"CACHEWARM_REDIS_URL": authed}
	code, out, errs := cliEnv(t, env, "--config", cfg, "--plain")
	if code != 0 || strings.Contains(errs, "warning") {
		t.Fatalf("exit %d with the URL in the environment:\n%s%s", code, out, errs)
	}
	// The README's form, url = "${REDIS_URL}", needs no REDIS_URL when
	// the environment or --redis gives the URL.
	envCfg := writeConfig(t, "[redis]\nurl = \"${CW_UNSET_REDIS_URL}\"\n[[loader]]\nname = \"r\"\nitems = { range = [1, 20] }\nkey = \"r:{{.}}\"\n", map[string]string{})
	code, out, errs = cliEnv(t, env, "--config", envCfg, "--plain")
	if code != 0 || strings.Contains(errs, "warning") {
		t.Fatalf("exit %d with the URL in the environment:\n%s%s", code, out, errs)
	}
	code, out, errs = cli(t, "--config", cfg, "--plain", "--redis", authed)
	if code != 0 || !strings.Contains(errs, "warning: the password in --redis") {
		t.Fatalf("exit %d, want 0 and a warning about the password in --redis:\n%s%s", code, out, errs)
	}
	if strings.Contains(out+errs, pw) {
		t.Fatalf("the password shows:\n%s%s", out, errs)
	}
	// Forms go-redis refuses or reads otherwise still never show it.
	for _, u := range []string{
		fmt.Sprintf("redis://%s/0?password=%s", srv.Addr(), pw),
		fmt.Sprintf("redis://%s@%s/0", pw, srv.Addr()),
	} {
		_, out, errs = cli(t, "--config", cfg, "--plain", "--redis", u)
		if strings.Contains(out+errs, pw) || !strings.Contains(errs, "warning: the password in --redis") {
			t.Fatalf("--redis %s: the password shows, or no warning:\n%s%s", u, out, errs)
		}
	}
}

// A report that cannot be written after the work was done is printed on
// stderr, and the exit code is not 2 ("nothing was written") nor 0.
func TestReportLostAfterWorkGoesToStderr(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	release, asked := make(chan struct{}), make(chan struct{}, 2)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		<-release
		fmt.Fprint(w, "page")
	}))
	defer origin.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "p"
items = { list = ["a", "b"] }
key = "p:{{.}}"
fetch = { url = "%s/{{.}}" }
`, srv.URL(), origin.URL), map[string]string{})
	dir := filepath.Join(t.TempDir(), "reports")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(buildBinary(t), "--config", cfg, "--plain", "--report", filepath.Join(dir, "r.json"))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-asked: // the start-up check of the report's folder has passed
	case <-exited:
		t.Fatalf("exited before fetching:\n%s", stderr.String())
	}
	os.RemoveAll(dir)
	close(release)
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "the report follows on stderr") || !strings.Contains(stderr.String(), `"fulfilled": 2`) {
		t.Fatalf("the report is not on stderr:\n%s", stderr.String())
	}
}

// A report's resume point is for the source it was recorded on: a loader
// that read a range and now reads a file is refused (exit 2), not read
// from the file's start.
func TestRetryFromRefusesAResumePointOfAnotherSource(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "a"
items = { file = "a.txt" }
key = "a:{{.}}"
`, srv.URL()), map[string]string{"a.txt": "x\ny\nz\n"})
	report := filepath.Join(t.TempDir(), "r.json")
	rep := &warmup.Report{ReportTotals: warmup.ReportTotals{Fulfilled: 9, Interrupted: true, Config: cfg},
		Loaders: []warmup.LoaderReport{{LoaderTotals: warmup.LoaderTotals{Name: "a", Source: "range 1..20", Fulfilled: 9,
			NotStarted: 11, Resume: &source.Resume{Next: 10, Remaining: 11}}, RejectedItems: []warmup.Rejection{}}}}
	if err := warmup.WriteReport(report, rep); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli(t, "--config", cfg, "--plain", "--retry-from", report)
	if code != 2 || !strings.Contains(errs, "the resume point is a list's or a range's, and the loader now reads a file") {
		t.Fatalf("exit %d, want 2 and why\n%s", code, errs)
	}
	if n := len(srv.Keys("*")); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

// A signal while start-up waits on a Redis that accepts connections and
// answers nothing (paused, SIGSTOPped) ends the wait at once: exit 130,
// nothing written, instead of waiting out the timeout and saying exit 2.
func TestSignalDuringStartupEndsTheWait(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c // held open, never answered
		}
	}()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = "redis://%s/0"
[run]
timeout = "60s"
[[loader]]
name = "a"
items = { range = [1, 3] }
key = "a:{{.}}"
`, ln.Addr()), map[string]string{})
	var stderr bytes.Buffer
	cmd := exec.Command(buildBinary(t), "--config", cfg, "--plain")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := <-accepted
	defer c.Close()
	signalled := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted before any work") {
		t.Fatalf("exit %d, want 130 and why\n%s", code, stderr.String())
	}
	// The connect timeout is 5s: an exit well before it was not a timeout.
	if took := time.Since(signalled); took > 4*time.Second {
		t.Fatalf("exited %s after the signal: it waited out the timeout", took)
	}
}

// The README's runbook, `--plain --verify --report r.json || --plain
// --retry-from r.json`: keys deleted between the writes and the verify
// are rejected "missing after write", the first step exits 1, and the
// second writes them again and verifies only them.
func TestVerifyRunbookRestoresDeletedKeys(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "range"
items = { range = [1, 3000] }
key = "r:{{.}}"
ttl = "1h"
`, srv.URL()), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	ctx := context.Background()

	// Nothing deleted: the first step passes, and says so.
	code, _, stderr := cli(t, "--config", cfg, "--plain", "--verify", "--report", report)
	if code != 0 || !strings.Contains(stderr, "cachewarm: verify: 3000 keys checked, 0 not as written (now rejected); Redis evicted 0 keys since the run started") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}

	// The same step with keys deleted behind its back (the hook main
	// cannot offer), its report written as main writes it.
	loaded, err := config.LoadConfig(cfg, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := rediswrite.Connect(ctx, loaded.Redis, redisPoolSize, loaded.Run.Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	eng := warmup.New(loaded, rdb, warmup.Options{Verify: true, OnVerify: func() {
		srv.Client.Del(ctx, "r:1", "r:1234", "r:3000")
	}})
	eng.Start()
	eng.Wait()
	if eng.ExitCode() != 1 {
		t.Fatalf("exit %d with keys deleted, want 1", eng.ExitCode())
	}
	// Before Close: the report reads the rejections back from the journal.
	if err := warmup.WriteReport(report, eng.Report()); err != nil {
		t.Fatal(err)
	}
	eng.Close()
	if n := srv.Client.DBSize(ctx).Val(); n != 2997 {
		t.Fatalf("%d keys after the deletions", n)
	}

	// A --retry-from run verifies every key, the earlier runs' too.
	code, _, stderr = cli(t, "--config", cfg, "--plain", "--verify", "--retry-from", report, "--report", report)
	if code != 0 || !strings.Contains(stderr, "cachewarm: verify: 3000 keys checked, 0 not as written") {
		t.Fatalf("--retry-from: exit %d\n%s", code, stderr)
	}
	checkKeys(t, srv, "r:%d", 3000, func(i int) string { return fmt.Sprint(i) })
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 3 || rep.FulfilledBefore != 2997 || rep.Rejected != 0 || rep.Verify == nil || !rep.Verify.Complete {
		t.Fatalf("report after --retry-from: %+v", rep.ReportTotals)
	}

	// Keys an earlier run wrote, gone since (evicted, deleted, a pass a
	// stop cut short never reached them), are found by the next
	// --retry-from --verify, counted out of the earlier runs' fulfilled,
	// and the one after restores them.
	srv.Client.Del(ctx, "r:7", "r:2999")
	code, _, stderr = cli(t, "--config", cfg, "--plain", "--verify", "--retry-from", report, "--report", report)
	if code != 1 || !strings.Contains(stderr, "cachewarm: verify: 3000 keys checked, 2 not as written") {
		t.Fatalf("--retry-from with earlier keys gone: exit %d\n%s", code, stderr)
	}
	if rep, err = warmup.ReadReport(report); err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 0 || rep.FulfilledBefore != 2998 || rep.Rejected != 2 {
		t.Fatalf("report with earlier keys gone: %+v", rep.ReportTotals)
	}
	code, _, stderr = cli(t, "--config", cfg, "--plain", "--verify", "--retry-from", report, "--report", report)
	if code != 0 || !strings.Contains(stderr, "cachewarm: verify: 3000 keys checked, 0 not as written") {
		t.Fatalf("--retry-from after: exit %d\n%s", code, stderr)
	}
	checkKeys(t, srv, "r:%d", 3000, func(i int) string { return fmt.Sprint(i) })
	if rep, err = warmup.ReadReport(report); err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 2 || rep.FulfilledBefore != 2998 || rep.Rejected != 0 {
		t.Fatalf("report after restoring: %+v", rep.ReportTotals)
	}
}

// --retry-from started while a restarted Redis still loads its
// append-only file: start-up waits out LOADING, as a running run waits
// for Redis, instead of exiting 2, and the retry finishes.
func TestRetryFromWaitsWhileRedisLoads(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--appendonly", "yes")
	o := newFlakyOrigin(t, "/p/2", "/p/4")
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
redis_wait = "60s"
[[loader]]
name = "pages"
items = { range = [1, 5] }
key = "page:{{.}}"
fetch = { url = "%s/p/{{.}}" }
`, srv.URL(), o.URL), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--report", report); code != 1 {
		t.Fatalf("first run: exit %d, want 1\n%s", code, stderr)
	}
	// Enough keys in the file, each loaded slowly, to keep Redis LOADING
	// for a few seconds.
	ctx := context.Background()
	pipe := srv.Client.Pipeline()
	for i := range 20_000 {
		pipe.Set(ctx, fmt.Sprintf("filler:%d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Client.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := srv.Client.Info(ctx, "persistence").Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.RestartLoading("--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024")
	probe := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer probe.Close()
	if err := probe.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "LOADING") {
		info, _ := probe.Info(ctx, "persistence").Result()
		t.Fatalf("Redis answers %v: not loading: %d keys\n%s", err, probe.DBSize(ctx).Val(), info)
	}
	o.heal()
	code, _, stderr := cli(t, "--config", cfg, "--plain", "--retry-from", report)
	if code != 0 || !strings.Contains(stderr, "waiting for Redis") || !strings.Contains(stderr, "LOADING") {
		t.Fatalf("exit %d, want 0 after saying it waits for Redis\n%s", code, stderr)
	}
	checkKeys(t, srv, "page:%d", 5, func(i int) string { return fmt.Sprintf(`{"page":"/p/%d"}`, i) })
}

// A Redis restart (empty, no persistence) during a --json run: a
// "redis_restart" event says so at once, no "rejected" event is sent for
// the lost keys (they are written again), the summary counts them, and
// the run exits 0 with every key in Redis.
func TestRedisRestartEventAndSummary(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	const n = 200_000
	var lines strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&lines, "{\"id\":%d}\n", i)
	}
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
redis_wait = "60s"
[[loader]]
name = "items"
items = { file = "items.jsonl" }
key = "r:{{.id}}"
`, srv.URL()), map[string]string{"items.jsonl": lines.String()})
	probe := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer probe.Close()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		for probe.DBSize(context.Background()).Val() < n/4 {
		}
		srv.Restart()
	}()
	code, stdout, stderr := cli(t, "--config", cfg, "--json")
	<-restarted
	kinds := map[string]int{}
	var summary map[string]any
	for line := range strings.Lines(stdout) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not NDJSON: %q", line)
		}
		kinds[ev["event"].(string)]++
		switch ev["event"] {
		case "redis_restart":
			if msg, _ := ev["message"].(string); !strings.HasPrefix(msg, "redis restarted at ") || ev["run_id"] == ev["new_run_id"] {
				t.Errorf("restart event %v", ev)
			}
		case "summary":
			summary = ev
		}
	}
	rc, _ := summary["redis_restarts"].(map[string]any)
	if code != 0 || kinds["redis_restart"] != 1 || kinds["rejected"] != 0 || rc == nil || rc["lost"].(float64) == 0 {
		t.Fatalf("exit %d, events %v, summary %v\n%s", code, kinds, summary, stderr)
	}
	if size := srv.Client.DBSize(context.Background()).Val(); size != n {
		t.Fatalf("DBSIZE %d, want %d", size, n)
	}
}
