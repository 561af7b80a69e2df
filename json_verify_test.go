package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// With --verify, a key the verify pass rejects comes as a rejected event
// before its loader's loader_done, and loader_done counts what the run
// ends with: a machine that stops reading a loader at its loader_done
// misses nothing.
func TestJSONVerifyRejectionsBeforeLoaderDone(t *testing.T) {
	srv := redistest.Start(t)
	// a and b write one key, a string and a hash: whichever wrote last,
	// the verify pass finds the other's of the wrong type.
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "a"
items = { list = ["x"] }
key = "k:1"
[[loader]]
name = "b"
items = { list = ["y"] }
key = "k:1"
type = "hash"
value = '{"f":"{{.item}}"}'
`, srv.URL()), map[string]string{})
	code, stdout, stderr := cli(t, "--config", cfg, "--json", "--verify", "--no-journal")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s\n%s", code, stdout, stderr)
	}
	done := map[string]int64{}
	verifyRejected := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev struct {
			Event, Loader, Stage string
			Rejected             int64
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		switch ev.Event {
		case "rejected":
			if _, ok := done[ev.Loader]; ok {
				t.Fatalf("rejected event of %s after its loader_done:\n%s", ev.Loader, stdout)
			}
			if ev.Stage == "verify" {
				verifyRejected++
			}
		case "loader_done":
			done[ev.Loader] = ev.Rejected
		}
	}
	if verifyRejected != 1 || done["a"]+done["b"] != 1 {
		t.Fatalf("want one verify rejection, counted by its loader_done:\n%s", stdout)
	}
}

// A --retry-from run against a Redis that restarted empty since rewrites
// the earlier run's keys after its own items settled: each loader_done
// waits for that, so the loaders' counts add up to the summary's.
func TestJSONRetryLoaderDoneCountsRewrites(t *testing.T) {
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "ok"
items = { range = [1, 50] }
key = "ok:{{.}}"
[[loader]]
name = "bad"
items = { range = [1, 2] }
key = "bad:{{.}}"
fetch = { url = "http://127.0.0.1:1/{{.}}" }
`, srv.URL()), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--no-journal", "--report", report); code != 1 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	srv.Restart() // no persistence: Redis comes back empty, with a new run_id
	code, stdout, stderr := cli(t, "--config", cfg, "--json", "--no-journal", "--retry-from", report)
	if code != 1 {
		t.Fatalf("retry: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var doneSum, summary int64 = 0, -1
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev struct {
			Event     string
			Fulfilled int64
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		switch ev.Event {
		case "loader_done":
			doneSum += ev.Fulfilled
		case "summary":
			summary = ev.Fulfilled
		}
	}
	if n := srv.Client.DBSize(t.Context()).Val(); n != 50 {
		t.Fatalf("DBSIZE %d after the retry, want the 50 keys rewritten", n)
	}
	if summary <= 0 || doneSum != summary {
		t.Fatalf("loader_done events count %d fulfilled, the summary %d:\n%s", doneSum, summary, stdout)
	}
}
