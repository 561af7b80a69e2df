package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// `zcat items.jsonl.gz | cachewarm`: a loader with file = "-" reads the
// items piped into standard input (a BOM and all), next to a gzip CSV
// file, and the report and Redis agree.
func TestItemsFromStdinAndGzip(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var csvGz bytes.Buffer
	zw := gzip.NewWriter(&csvGz)
	io.WriteString(zw, "\xef\xbb\xbfid,name\n7,seven\n8,eight\n")
	zw.Close()
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "piped"
items = { file = "-", format = "jsonl" }
key = "p:{{.id}}"
[[loader]]
name = "zipped"
items = { file = "names.csv.gz" }
key = "n:{{.id}}"
`, srv.URL()), map[string]string{"names.csv.gz": csvGz.String()})
	stdin := strings.NewReader("\xef\xbb\xbf{\"id\":1}\n{\"id\":2}\n{broken\n{\"id\":3}\n")
	var out, errb bytes.Buffer
	code := run([]string{"--config", cfg, "--plain"}, testEnv(nil), stdin, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one bad line)\n%s", code, errb.String())
	}
	// The summary names where, and why; each item is in the report.
	if !strings.Contains(errb.String(), "1 rejected at the source (stdin:3)") || !strings.Contains(errb.String(), "1 × invalid JSON") {
		t.Errorf("the bad line is not named stdin:3:\n%s", errb.String())
	}
	checkKeys(t, srv, "p:%d", 3, func(i int) string { return fmt.Sprintf("{\"id\":%d}", i) })
	for id, name := range map[string]string{"7": "seven", "8": "eight"} {
		if v := srv.Client.Get(t.Context(), "n:"+id).Val(); v != fmt.Sprintf(`{"id":%q,"name":%q}`, id, name) {
			t.Errorf("n:%s = %q", id, v)
		}
	}
	if n := len(srv.Keys("*")); n != 5 {
		t.Errorf("%d keys, want 5", n)
	}
}

// A CSV header that names a column twice stops the run before anything
// is written, like a missing file, naming the file and the column.
func TestDuplicateCSVColumnExits2(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "fine"
items = { range = [1, 3] }
key = "r:{{.}}"
[[loader]]
name = "dup"
items = { file = "dup.csv" }
key = "d:{{.id}}"
`, srv.URL()), map[string]string{"dup.csv": "id,name,id\n1,a,2\n"})
	code, _, stderr := cli(t, "--config", cfg, "--plain")
	if code != 2 || !strings.Contains(stderr, `loader[2].items.file: dup.csv:1: duplicate column "id" in the header (columns 1 and 3)`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if n := len(srv.Keys("*")); n != 0 {
		t.Fatalf("%d keys written", n)
	}
}

// A run stopped while it reads standard input records how far it got,
// as a stream that cannot be read again: --retry-from of that report
// retries the rejected items, reads nothing from its own standard input,
// says on stderr that the rest must be fed again and from which line, and
// keeps that rest not started.
func TestStoppedStdinRetryFrom(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o := newFlakyOrigin(t, "/2")
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "piped"
items = { file = "-", format = "jsonl" }
key = "p:{{.id}}"
fetch = { url = "%s/{{.id}}" }
`, srv.URL(), o.URL), map[string]string{})
	bin := buildBinary(t)
	report := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(bin, "--config", cfg, "--plain", "--report", report)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Three items, then the pipe stays open with nothing more to read:
	// the run waits on it until it is stopped.
	io.WriteString(stdin, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n")
	waitKeys(t, srv, 2)
	for deadline := time.Now().Add(30 * time.Second); o.count("/2") == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("item 2 never fetched")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	stdin.Close()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	l := rep.Loaders[0]
	want := source.Resume{Kind: source.KindStream, Offset: 27, Line: 4, Remaining: -1}
	if l.Fulfilled != 2 || l.Rejected != 1 || l.NotStarted != -1 || l.Resume == nil || *l.Resume != want {
		t.Fatalf("report: %d fulfilled, %d rejected, not started %d, resume %+v; want 2, 1, -1, %+v", l.Fulfilled, l.Rejected, l.NotStarted, l.Resume, want)
	}
	for _, want := range []string{"piped: not started: lines 4 on of a stream", "runs the rejected items and the rest of each file, not the rest of a stream"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the run's stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	o.heal()
	report2 := filepath.Join(t.TempDir(), "r2.json")
	var out, errb bytes.Buffer
	code := run([]string{"--config", cfg, "--plain", "--retry-from", report, "--report", report2}, testEnv(nil), strings.NewReader("{\"id\":99}\n"), &out, &errb)
	if code != 1 {
		t.Fatalf("--retry-from: exit %d, want 1 (the rest of the stream is not started)\n%s", code, errb.String())
	}
	for _, want := range []string{
		"loader piped read stdin, a stream, which cannot be read again: this run retries the report's rejected items only",
		"Lines 4 on were never read and stay not started",
		"tail -n +4 ITEMS | cachewarm --only piped",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("--retry-from stderr lacks %q:\n%s", want, errb.String())
		}
	}
	checkKeys(t, srv, "p:%d", 3, func(i int) string { return fmt.Sprintf(`{"page":"/%d"}`, i) })
	if n := srv.Client.Exists(t.Context(), "p:99").Val(); n != 0 {
		t.Error("--retry-from read its own standard input")
	}
	rep2, err := warmup.ReadReport(report2)
	if err != nil {
		t.Fatal(err)
	}
	l = rep2.Loaders[0]
	if l.Fulfilled != 1 || l.Rejected != 0 || l.NotStarted != -1 || l.Resume == nil || *l.Resume != want {
		t.Fatalf("--retry-from report: %d fulfilled, %d rejected, not started %d, resume %+v", l.Fulfilled, l.Rejected, l.NotStarted, l.Resume)
	}
}

// The monitor reads its keys from standard input: when a loader reads its
// items from there, a run in a terminal is headless (plain) instead, and
// the piped items are not taken for keys.
func TestStdinLoaderInATerminalRunsHeadless(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "piped"
items = { file = "-", format = "txt" }
key = "t:{{.}}"
`, srv.URL()), map[string]string{})
	bin := buildBinary(t)
	exitFile := filepath.Join(t.TempDir(), "exit")
	s := startTmux(t, 100, 30, fmt.Sprintf("sh -c 'printf \"q\\nr\\n\" | %s --config %s'; echo $? > %s; sleep 30", bin, cfg, exitFile))
	if code := waitFile(t, exitFile, 20*time.Second, s); code != "0" {
		t.Fatalf("exit %s, want 0\n%s", code, s.screen())
	}
	if scr := s.screen(); !strings.Contains(scr, "LOADER") || !strings.Contains(scr, "done in") {
		t.Errorf("no plain table on the terminal:\n%s", scr)
	}
	for _, k := range []string{"q", "r"} {
		if v := srv.Client.Get(t.Context(), "t:"+k).Val(); v != k {
			t.Errorf("t:%s = %q", k, v)
		}
	}
}

// A gzip file cut short ends its loader with the reason, and the run
// does not send the operator to --retry-from, which would stop at the
// same place: the file needs fixing.
func TestTruncatedGzipSaysFixTheFile(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	for i := range 5000 {
		fmt.Fprintf(zw, "{\"id\":%d,\"pad\":\"%0100d\"}\n", i, i)
	}
	zw.Close()
	cut := z.Bytes()[:z.Len()/2]
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "z"
items = { file = "items.jsonl.gz" }
key = "z:{{.id}}"
`, srv.URL()), map[string]string{"items.jsonl.gz": string(cut)})
	code, _, errs := cli(t, "--config", cfg, "--plain")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, errs)
	}
	if !strings.Contains(errs, "z: source stopped early: ") || !strings.Contains(errs, "fix it") {
		t.Errorf("stderr does not say the file stopped early and needs fixing:\n%s", errs)
	}
	if strings.Contains(errs, "--retry-from the report") {
		t.Errorf("stderr sends the operator to --retry-from, which cannot help:\n%s", errs)
	}
}
