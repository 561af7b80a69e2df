package main

import (
	"strings"
	"testing"
)

// --shard "$K" with $K unset is a usage error, not an unsharded run in
// which every shard writes everything.
func TestEmptyShardIsUsageError(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, `
[redis]
url = "redis://127.0.0.1:1"
[[loader]]
name = "range"
items = { range = [1, 10] }
key = "r:{{.}}"
`, map[string]string{})
	for _, shard := range []string{"", " "} {
		code, _, errOut := cli(t, "--config", cfg, "--plain", "--shard", shard)
		if code != 2 || !strings.Contains(errOut, "--shard is empty") {
			t.Errorf("--shard %q: exit %d, want 2 and a usage error\n%s", shard, code, errOut)
		}
	}
}
