package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// A run given --redis with a password prints its retry command without
// it; run as printed, the retry must not warm the config's own Redis
// instead and call the job done: it refuses, naming the fix, and writes
// nothing; given the same --redis, it retries there.
func TestRetryFromRefusesAnotherRedis(t *testing.T) {
	given := redistest.Start(t, "--requirepass", "pw")
	other := redistest.Start(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "a"
items = { range = [1, 4] }
key = "k:{{.}}"
fetch = { url = "http://127.0.0.1:1/{{.}}" }
`, other.URL()), map[string]string{})
	report := filepath.Join(t.TempDir(), "r.json")
	redisFlag := "redis://:pw@" + given.Addr() + "/3"
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--no-journal", "--report", report, "--redis", redisFlag); code != 1 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	code, _, stderr := cli(t, "--config", cfg, "--plain", "--no-journal", "--retry-from", report)
	if code != 2 || !strings.Contains(stderr, "give --redis (or set CACHEWARM_REDIS_URL) with the report's Redis") || strings.Contains(stderr, "pw@") {
		t.Fatalf("retry against the config's Redis: exit %d, want 2 and the fix\n%s", code, stderr)
	}
	if n := other.Client.DBSize(t.Context()).Val(); n != 0 {
		t.Fatalf("the refused retry wrote %d keys to the config's Redis", n)
	}
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--no-journal", "--retry-from", report, "--redis", redisFlag); code != 1 || !strings.Contains(stderr, "4 rejected") {
		t.Fatalf("retry with the same --redis: exit %d\n%s", code, stderr)
	}
}
