package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// shardConfig is a run with every kind of outcome: a range, a JSONL file
// with a malformed line and an item whose key does not render, and a
// fetch loader whose origin fails some pages.
func shardConfig(t *testing.T, redisURL, origin string) string {
	var lines strings.Builder
	for i := 1; i <= 2000; i++ {
		switch i {
		case 700:
			lines.WriteString("{broken\n")
		case 1300:
			lines.WriteString("{\"name\":\"no id\"}\n")
		default:
			fmt.Fprintf(&lines, "{\"id\":%d}\n", i)
		}
	}
	return writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "range"
items = { range = [1, 5000] }
key = "r:{{.}}"
[[loader]]
name = "file"
items = { file = "items.jsonl" }
key = "j:{{.id}}"
[[loader]]
name = "pages"
items = { range = [1, 300] }
key = "p:{{.}}"
fetch = { url = "%s/{{.}}" }
`, redisURL, origin), map[string]string{"items.jsonl": lines.String()})
}

// countingOrigin answers every path with its name, but 500 for paths
// ending in 7, and counts the requests per path.
type countingOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newCountingOrigin(t *testing.T) *countingOrigin {
	o := &countingOrigin{hits: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		o.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "7") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "v%s", r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

// dump is every key of a Redis with its value.
func dump(t *testing.T, srv *redistest.Server) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range srv.Keys("*") {
		out[k] = srv.Client.Get(ctx, k).Val()
	}
	return out
}

// rejections lists a report's rejected items, loader by loader, sorted.
func rejections(t *testing.T, reps ...*warmup.Report) []string {
	t.Helper()
	var out []string
	for _, rep := range reps {
		for _, l := range rep.Loaders {
			for _, r := range l.RejectedItems {
				// The attempts' times differ from run to run; the
				// attempts themselves are compared.
				for i := range r.History {
					r.History[i].At = time.Time{}
				}
				b, _ := json.Marshal(r)
				out = append(out, l.Name+" "+string(b))
			}
		}
	}
	slices.Sort(out)
	return out
}

// The test: three shard processes run in parallel against one
// Redis give exactly the keyspace of one unsharded run, each item fetched
// once, the union of their rejected items is the unsharded run's, and
// merging their reports gives its counts.
func TestShardsTogetherAreOneRun(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()

	// One origin for both, so that fetch failures read the same.
	origin := newCountingOrigin(t)
	whole := redistest.Start(t)
	cfg := shardConfig(t, whole.URL(), origin.URL)
	wholeReport := filepath.Join(dir, "whole.json")
	if code, _, errOut := cliBin(t, bin, "--config", cfg, "--plain", "--report", wholeReport); code != 1 {
		t.Fatalf("unsharded run: exit %d, want 1 (some rejected)\n%s", code, errOut)
	}

	origin.mu.Lock()
	origin.hits = map[string]int{}
	origin.mu.Unlock()
	sharded := redistest.Start(t)
	cfg = shardConfig(t, sharded.URL(), origin.URL)
	reports := make([]string, 3)
	var wg sync.WaitGroup
	for k := range 3 {
		reports[k] = filepath.Join(dir, fmt.Sprintf("shard-%d.json", k))
		wg.Go(func() {
			if code, _, errOut := cliBin(t, bin, "--config", cfg, "--plain", "--shard", fmt.Sprintf("%d/3", k), "--report", reports[k]); code != 1 && code != 0 {
				t.Errorf("shard %d/3: exit %d\n%s", k, code, errOut)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	want, got := dump(t, whole), dump(t, sharded)
	if len(want) != 5000+1998+270 || len(got) != len(want) {
		t.Fatalf("sharded runs wrote %d keys, the unsharded run %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %q after the shards, %q after one run", k, got[k], v)
		}
	}
	for p, n := range origin.hits {
		if n != 1 {
			t.Errorf("%s fetched %d times by the shards together, want once", p, n)
		}
	}
	if len(origin.hits) != 300 {
		t.Errorf("the shards fetched %d pages, want 300", len(origin.hits))
	}

	wholeRep, err := warmup.ReadReport(wholeReport)
	if err != nil {
		t.Fatal(err)
	}
	var shardReps []*warmup.Report
	for k, p := range reports {
		rep, err := warmup.ReadReport(p)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Shard == nil || *rep.Shard != (warmup.Shard{K: k, N: 3}) {
			t.Fatalf("report %s says shard %v, want %d/3", p, rep.Shard, k)
		}
		if rep.Fulfilled == 0 {
			t.Errorf("shard %d/3 fulfilled nothing: the split is lopsided", k)
		}
		shardReps = append(shardReps, rep)
	}
	if w, g := rejections(t, wholeRep), rejections(t, shardReps...); !slices.Equal(w, g) {
		t.Fatalf("rejected items of the shards:\n%s\nof one run:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}

	merged := filepath.Join(dir, "all.json")
	code, out, errOut := cliBin(t, bin, append(append([]string{"merge"}, reports...), "--report", merged)...)
	if code != 1 { // items were rejected, as in the one run, which exits 1 too
		t.Fatalf("merge: exit %d, want 1\n%s", code, errOut)
	}
	if !strings.Contains(out, "TOTAL") || !strings.Contains(errOut, "merged shards 0, 1, 2 of 3") {
		t.Errorf("merge summary:\n%s%s", out, errOut)
	}
	all, err := warmup.ReadReport(merged)
	if err != nil {
		t.Fatal(err)
	}
	if all.Fulfilled != wholeRep.Fulfilled || all.Rejected != wholeRep.Rejected || all.RejectedAtSource != wholeRep.RejectedAtSource || all.NotStarted != wholeRep.NotStarted {
		t.Fatalf("merged totals %+v, unsharded %+v", all.ReportTotals, wholeRep.ReportTotals)
	}
	for i, l := range all.Loaders {
		w := wholeRep.Loaders[i]
		if l.Name != w.Name || l.Fulfilled != w.Fulfilled || l.Rejected != w.Rejected || l.NotStarted != w.NotStarted {
			t.Errorf("merged loader %+v, unsharded %+v", l.LoaderTotals, w.LoaderTotals)
		}
	}
	if w, g := rejections(t, wholeRep), rejections(t, all); !slices.Equal(w, g) {
		t.Fatalf("the merged report's rejected items differ from one run's")
	}
	if code, _, errOut := cliBin(t, bin, "--config", cfg, "--retry-from", merged); code != 2 || !strings.Contains(errOut, "each shard's own report") {
		t.Errorf("--retry-from a merged report: exit %d, want 2\n%s", code, errOut)
	}
	if code, _, errOut := cliBin(t, bin, "--config", cfg, "--retry-from", reports[1], "--shard", "2/3"); code != 2 || !strings.Contains(errOut, "the report's run was shard 1/3 and this one is shard 2/3") {
		t.Errorf("--retry-from shard 1/3's report as shard 2/3: exit %d, want 2\n%s", code, errOut)
	}
	if code, _, errOut := cliBin(t, bin, "--config", cfg, "--retry-from", wholeReport, "--shard", "0/3", "--redis", whole.URL()); code != 2 || !strings.Contains(errOut, "was not sharded and this one is shard 0/3") {
		t.Errorf("--retry-from an unsharded report as shard 0/3: exit %d, want 2\n%s", code, errOut)
	}
}

// A shard stopped by SIGTERM goes on with --retry-from its report, as the
// same shard without naming it again; the other shards then complete the
// keyspace exactly.
func TestStoppedShardFinishedByRetryFrom(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "range"
items = { range = [1, 200000] }
key = "r:{{.}}"
rate = "50000/s"
`, srv.URL()), map[string]string{})
	bin := buildBinary(t)
	report := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(bin, "--config", cfg, "--plain", "--shard", "1/3", "--report", report)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitKeys(t, srv, 5000)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shard 1/3 interrupted") {
		t.Errorf("the summary does not say which shard:\n%s", stderr.String())
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaders[0].Resume == nil || rep.NotStarted != 0 || rep.Loaders[0].NotStarted != -1 {
		t.Fatalf("a stopped shard must say where it stopped, and that only reading tells how many of the rest are its: %+v", rep.Loaders[0].LoaderTotals)
	}
	retryUntilDone(t, bin, cfg, report)
	rep, err = warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	mine := int64(len(srv.Keys("*")))
	if rep.Shard == nil || rep.Shard.K != 1 || rep.Fulfilled+rep.FulfilledBefore != mine || mine > 200000/2 {
		t.Fatalf("after the retries: report %+v, %d keys", rep.ReportTotals, mine)
	}
	for _, k := range []string{"0/3", "2/3"} {
		if code, _, errOut := cliBin(t, bin, "--config", cfg, "--plain", "--shard", k); code != 0 {
			t.Fatalf("shard %s: exit %d\n%s", k, code, errOut)
		}
	}
	checkKeys(t, srv, "r:%d", 200000, func(i int) string { return fmt.Sprint(i) })
	if n := len(srv.Keys("*")); n != 200000 {
		t.Fatalf("%d keys, want exactly 200000", n)
	}
}

// --shard, $CACHEWARM_SHARD and --shards with $JOB_COMPLETION_INDEX each
// pick a shard; together the three shards write every key. Bad values
// exit 2 and write nothing.
func TestShardFromFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "range"
items = { range = [1, 1000] }
key = "r:{{.}}"
`, srv.URL()), map[string]string{})
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag", nil, []string{"--shard", "0/3"}, "shard 0/3 done"},
		{"CACHEWARM_SHARD", map[string]string{"CACHEWARM_SHARD": "1/3"}, nil, "shard 1/3 done"},
		{"JOB_COMPLETION_INDEX", map[string]string{"JOB_COMPLETION_INDEX": "2"}, []string{"--shards", "3"}, "shard 2/3 done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := filepath.Join(dir, tc.name+".json")
			code, _, errOut := cliEnv(t, tc.env, append([]string{"--config", cfg, "--plain", "--report", report}, tc.args...)...)
			if code != 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want 0 and %q\n%s", code, tc.want, errOut)
			}
		})
	}
	checkKeys(t, srv, "r:%d", 1000, func(i int) string { return fmt.Sprint(i) })
	flag, env, job := filepath.Join(dir, "flag.json"), filepath.Join(dir, "CACHEWARM_SHARD.json"), filepath.Join(dir, "JOB_COMPLETION_INDEX.json")
	if code, out, errOut := cli(t, "merge", job, flag, env); code != 0 || !strings.Contains(out, "1000") {
		t.Errorf("merge of the three shards: exit %d, want 0 and 1000 fulfilled\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "merge", job, flag); code != 1 || !strings.Contains(errOut, "missing shards of 3: 1 (no report given)") {
		t.Errorf("merge without shard 1: exit %d, want 1 and shard 1 named missing\n%s", code, errOut)
	}
	both := filepath.Join(t.TempDir(), "both.json")
	if a, b := readFile(t, job), readFile(t, flag); os.WriteFile(both, []byte(a+b), 0o644) != nil {
		t.Fatal("write both.json")
	}
	if code, _, errOut := cli(t, "merge", both, env); code != 2 || !strings.Contains(errOut, "more follows the report") {
		t.Errorf("merge of two reports run together in one file: exit %d, want 2\n%s", code, errOut)
	}
	if code, _, errOut := cli(t, "merge", job, flag, flag); code != 2 || !strings.Contains(errOut, "both of shard 0/3") {
		t.Errorf("merge with shard 0 twice: exit %d, want 2\n%s", code, errOut)
	}

	srv.Client.FlushAll(context.Background())
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"k too big", nil, []string{"--shard", "3/3"}, `--shard 3/3: k must be from 0 to 2`},
		{"negative k", nil, []string{"--shard=-1/3"}, `k must be from 0 to 2`},
		{"n zero", nil, []string{"--shard", "0/0"}, `n must be at least 1`},
		{"not a number", nil, []string{"--shard", "a/3"}, `k is not a number`},
		{"no slash", nil, []string{"--shard", "1"}, `want k/n, numbered from 0`},
		{"both", nil, []string{"--shard", "0/3", "--shards", "3"}, `exclusive`},
		{"no index", map[string]string{"JOB_COMPLETION_INDEX": ""}, []string{"--shards", "3"}, `$JOB_COMPLETION_INDEX, which is not set`},
		{"index too big", map[string]string{"JOB_COMPLETION_INDEX": "3"}, []string{"--shards", "3"}, `k must be from 0 to 2`},
		{"bad env", map[string]string{"CACHEWARM_SHARD": "4/3"}, nil, `$CACHEWARM_SHARD=4/3: k must be from 0 to 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := cliEnv(t, tc.env, append([]string{"--config", cfg, "--plain"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, want 2 and %q\n%s", code, tc.want, errOut)
			}
		})
	}
	if n := len(srv.Keys("*")); n != 0 {
		t.Fatalf("bad --shard values wrote %d keys", n)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
