package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// Items whose key was warm are fulfilled and counted apart, in --plain's
// summary and table, in the report, and in --json's events; a second run
// finds every key warm.
func TestWarmCountShowsEverywhere(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	srv.Client.Set(ctx, "m:2", "app", time.Hour)
	srv.Client.Set(ctx, "m:4", "app", time.Hour)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "m"
items = { range = [1, 4] }
key = "m:{{.}}"
mode = "missing"
`, srv.URL()), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := cli(t, "--config", cfg, "--plain", "--report", report)
	if code != 0 || !strings.Contains(stderr, ": 4 fulfilled (2 already warm), 0 rejected") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^LOADER +SOURCE +FULFILLED +WARM +REJECTED`).MatchString(stdout) ||
		!regexp.MustCompile(`(?m)^m +range 1\.\.4 +4 +2 +0 `).MatchString(stdout) {
		t.Fatalf("table:\n%s", stdout)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep warmup.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 4 || rep.Warm != 2 || rep.Loaders[0].Warm != 2 {
		t.Fatalf("report: fulfilled %d, warm %d, loader warm %d", rep.Fulfilled, rep.Warm, rep.Loaders[0].Warm)
	}
	if v := srv.Client.Get(ctx, "m:2").Val(); v != "app" {
		t.Fatalf("m:2 = %q, want the application's value", v)
	}

	code, stdout, _ = cli(t, "--config", cfg, "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	warm := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not NDJSON: %q", sc.Text())
		}
		if w, ok := ev["warm"].(float64); ok {
			warm[ev["event"].(string)] = w
		}
	}
	if warm["loader_done"] != 4 || warm["summary"] != 4 {
		t.Fatalf("warm in events %v, want 4 in loader_done and summary:\n%s", warm, stdout)
	}
}
