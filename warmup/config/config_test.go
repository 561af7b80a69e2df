package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
)

func TestConfigErrorsSayWhere(t *testing.T) {
	good := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n"
	tests := []struct {
		name, toml string
		want       string // substring of the error
	}{
		{"unknown key in second loader", good + "[[loader]]\nname = \"b\"\nkey = \"k\"\ntll = \"1h\"\n", "config.toml:8: loader[2].tll: unknown key"},
		{"unknown section key", "[run]\nconcurency = 3\n" + good, "config.toml:2: run.concurency: unknown key"},
		{"malformed toml", "[run\n" + good, "config.toml:1"},
		{"wrong type", "[run]\nconcurrency = \"many\"\n" + good, "config.toml:2: run.concurrency"},
		{"duplicate names", good + good, `loader[2].name: duplicate loader name "a"`},
		{"empty name", "[[loader]]\nname = \" \"\nkey = \"k\"\n", "loader[1].name: a loader needs a name"},
		{"bad duration", "[run]\ntimeout = \"10 sec\"\n" + good, `config.toml:2: run.timeout: invalid duration "10 sec"`},
		{"duration without unit", "[run]\nbackoff = 250\n" + good, `run.backoff: duration 250 needs a unit`},
		{"bad loader ttl", good + "ttl = \"forever\"\n", `config.toml:5: loader[1].ttl: invalid duration "forever"`},
		{"zero concurrency", "[run]\nconcurrency = 0\n" + good, "run.concurrency: must be at least 1"},
		{"negative loader concurrency", good + "concurrency = -2\n", "loader[1].concurrency: must be at least 1"},
		{"negative retries", "[run]\nretries = -1\n" + good, "run.retries: must be 0 or more"},
		{"template does not parse", "[[loader]]\nname = \"a\"\nkey = \"k:{{.id\"\n", "config.toml:3: loader[1].key: template does not parse"},
		{"templates cannot read files", "[[loader]]\nname = \"a\"\nkey = \"{{readFile \\\"/etc/passwd\\\"}}\"\n", `loader[1].key: template does not parse: function "readFile" not defined`},
		{"templates cannot run programs", "[[loader]]\nname = \"a\"\nkey = \"{{exec \\\"id\\\"}}\"\n", `function "exec" not defined`},
		{"url template does not parse", good + "fetch = { url = \"http://x/{{end}}\" }\n", "loader[1].fetch.url: template does not parse"},
		{"missing file", "[[loader]]\nname = \"a\"\nitems = { file = \"nope.jsonl\" }\nkey = \"k\"\n", "loader[1].items.file: "},
		{"items file is a directory", "[[loader]]\nname = \"a\"\nitems = { file = \"sub.jsonl\" }\nkey = \"k\"\n", "sub.jsonl is a directory"},
		{"unsupported file", "[[loader]]\nname = \"a\"\nitems = { file = \"config.toml\" }\nkey = \"k\"\n", `unsupported file type ".toml"`},
		{"two item kinds", "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"], range = [1, 2] }\nkey = \"k\"\n", "loader[1].items: set exactly one of file, list or range"},
		{"backwards range", "[[loader]]\nname = \"a\"\nitems = { range = [5, 1] }\nkey = \"k\"\n", "runs backwards"},
		{"missing key", "[[loader]]\nname = \"a\"\n", "loader[1].key: a loader needs a key template"},
		{"unset env var", "[redis]\nurl = \"redis://:${NOPE_NOT_SET}@h:1\"\n" + good, "redis.url: environment variable NOPE_NOT_SET is not set"},
		{"unsupported redis scheme", "[redis]\nurl = \"http://127.0.0.1:6379\"\n" + good, `redis.url: unsupported URL scheme "http"`},
		{"unsupported fetch scheme", good + "fetch = { url = \"ftp://x/y\" }\n", `unsupported URL "ftp://x/y"`},
		{"bad rate", good + "rate = \"fast\"\n", `loader[1].rate: invalid rate "fast"`},
		{"no loaders", "[run]\nretries = 1\n", "no [[loader]] tables"},
		{"concurrency beyond reason", "[run]\nconcurrency = 1000000000\n" + good, "config.toml:2: run.concurrency: at most 10000, got 1000000000"},
		{"loader concurrency beyond reason", good + "concurrency = 20000\n", "loader[1].concurrency: at most 10000"},
		{"bad max_body", "[run]\nmax_body = \"lots\"\n" + good, `config.toml:2: run.max_body: invalid size "lots"`},
		{"max_body over a Redis string", "[run]\nmax_body = \"1GiB\"\n" + good, "run.max_body: must be between 1 byte and 512 MiB"},
		{"zero pipeline", "[redis]\npipeline = 0\n" + good, "redis.pipeline: must be at least 1"},
		{"bad redis_wait", "[run]\nredis_wait = \"soon\"\n" + good, `run.redis_wait: invalid duration "soon"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.toml")
			if err := os.Mkdir(filepath.Join(dir, "sub.jsonl"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := config.LoadConfig(path, func(string) (string, bool) { return "", false })
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}

func TestConfigDefaultsAndExpansion(t *testing.T) {
	cfg := loadConfig(t, `
[redis]
url = "redis://app:${REDIS_PASSWORD}@127.0.0.1:6379/2"
[run]
ttl = "0"
[[loader]]
name = "p"
items = { file = "sub/p.jsonl" }
key = "p:{{.id}}"
fetch = { url = "https://api.example.com/p/{{.id}}?token=${TOKEN}", headers = { Authorization = "Bearer ${TOKEN}", Accept = "application/json" } }
ttl = "30m"
concurrency = 4
rate = "120/m"
`, map[string]string{"sub/p.jsonl": "{}\n"}, map[string]string{"REDIS_PASSWORD": "hunter2-pw", "TOKEN": "tok-abcdef"})
	if cfg.Run.Concurrency != 32 || cfg.Run.Timeout != 10*time.Second || cfg.Run.Retries != 2 || cfg.Run.Backoff != 250*time.Millisecond || cfg.Run.TTL != 0 ||
		cfg.Run.RedisWait != 30*time.Second || cfg.Run.MaxBody != 64<<20 || cfg.Redis.Pipeline != 0 {
		t.Errorf("run defaults: %+v", cfg.Run)
	}
	l := cfg.Loaders[0]
	if l.TTL != 30*time.Minute || l.Concurrency != 4 || l.Rate != 2 {
		t.Errorf("loader: ttl %v conc %d rate %v", l.TTL, l.Concurrency, l.Rate)
	}
	if !filepath.IsAbs(l.Items.File) || !strings.HasSuffix(l.Items.File, filepath.Join("sub", "p.jsonl")) {
		t.Errorf("file %q not resolved against the config's folder", l.Items.File)
	}
	if l.Fetch.Headers["Authorization"] != "Bearer tok-abcdef" {
		t.Errorf("header not expanded: %q", l.Fetch.Headers["Authorization"])
	}
	red := cfg.Secrets()
	for _, s := range []string{"hunter2-pw", "tok-abcdef"} {
		if got := red.Redact("x " + s + " y"); strings.Contains(got, s) {
			t.Errorf("secret %q not redacted: %q", s, got)
		}
	}
	if got := red.Redact("application/json"); got != "application/json" {
		t.Errorf("non-secret header redacted: %q", got)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://:pw@h:1/0", "redis://:***@h:1/0"},
		{"rediss://user:p%40ss@h:1", "rediss://user:***@h:1"},
		{"redis://h:1/0", "redis://h:1/0"},
		{"redis://user@h:1", "redis://user@h:1"},
		{"redis://u:pa ss@h%zz", "redis://***@h%zz"},
	}
	for _, tc := range tests {
		if got := config.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func loadConfig(t *testing.T, toml string, extra map[string]string, env map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"config.toml": toml}
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.LoadConfig(filepath.Join(dir, "config.toml"), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}
