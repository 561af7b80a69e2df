package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Indexed Job example runs the shards of a config that loads: its
// ConfigMap's config.toml passes --dry-run with the Redis URL from the
// environment, as the Secret gives it.
func TestKubernetesExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("examples/k8s-indexed-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"completionMode: Indexed", "completions: 3", "parallelism: 3", "--shards 3", "name: CACHEWARM_REDIS_URL", "secretKeyRef:", "configMap:"} {
		if !strings.Contains(text, want) {
			t.Errorf("the example lacks %q", want)
		}
	}
	if strings.Contains(text, "\t") {
		t.Error("the example has a tab: YAML indents with spaces")
	}
	// The block scalar under "config.toml: |", its indentation removed.
	_, block, ok := strings.Cut(text, "  config.toml: |\n")
	if !ok {
		t.Fatal("no config.toml in the example's ConfigMap")
	}
	var toml strings.Builder
	for _, line := range strings.SplitAfter(block, "\n") {
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "    ") {
			break
		}
		toml.WriteString(strings.TrimPrefix(line, "    "))
	}
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte(toml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{redisURLEnv: "redis://:pw@127.0.0.1:1/0"}
	if code, out, errOut := cliEnv(t, env, "--config", cfg, "--dry-run"); code != 0 || !strings.Contains(out, "SET product:1") {
		t.Fatalf("--dry-run of the example's config: exit %d\n%s%s", code, out, errOut)
	}
}
