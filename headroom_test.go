package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
)

// Before any work, a run that would add more than Redis has free below
// maxmemory is warned of, or refused with --require-headroom (exit 2,
// nothing written); the estimate counts a file's items from its size.
func TestHeadroomIsCheckedBeforeTheRun(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "32mb", "--maxmemory-policy", "noeviction")
	var lines strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&lines, "{\"id\":%d,\"text\":%q}\n", i, strings.Repeat("x", 400))
	}
	toml := fmt.Sprintf(`[redis]
url = %q
[[loader]]
name = "big"
items = { file = "big.jsonl" }
key = "big:{{.id}}"
[[loader]]
name = "small"
items = { range = [1, 10] }
key = "s:{{.}}"
`, srv.URL())
	cfg := writeConfig(t, toml, map[string]string{"big.jsonl": lines.String()})

	code, _, stderr := cli(t, "--config", cfg, "--plain", "--require-headroom")
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	// 100,010 keys of some 500 bytes: about 50 MiB, against 32 MiB.
	var keys int
	if _, err := fmt.Sscanf(stderr[strings.Index(stderr, " MiB to Redis (")+len(" MiB to Redis ("):], "%d keys", &keys); err != nil || keys < 95000 || keys > 105000 {
		t.Fatalf("estimated %d keys (%v), want about 100,010:\n%s", keys, err, stderr)
	}
	for _, want := range []string{"--require-headroom: this run adds about ", " keys, estimated from the sources), which has ",
		" MiB free below maxmemory 32.0 MiB at " + srv.Addr() + " (noeviction): past that, writes fail with OOM"} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := len(srv.Keys("*")); n != 0 {
		t.Fatalf("%d keys written", n)
	}

	code, _, stderr = cli(t, "--config", cfg, "--plain")
	if code != 1 || !strings.Contains(stderr, "cachewarm: warning: this run adds about ") || !strings.Contains(stderr, "nearly full") {
		t.Fatalf("exit %d, want 1 with a warning first and the memory stop\n%s", code, stderr)
	}
}
