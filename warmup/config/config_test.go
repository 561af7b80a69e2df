package config_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
	"github.com/cachewarm/cachewarm/warmup/source"
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
		{"duplicate CSV columns", "[[loader]]\nname = \"a\"\nitems = { file = \"dup.csv\" }\nkey = \"k\"\n", `config.toml:3: loader[1].items.file: dup.csv:1: duplicate column "id" in the header (columns 1 and 3)`},
		{"two loaders read stdin", "[[loader]]\nname = \"a\"\nitems = { file = \"-\", format = \"jsonl\" }\nkey = \"k\"\n[[loader]]\nname = \"b\"\nitems = { file = \"-\", format = \"txt\" }\nkey = \"k\"\n",
			"config.toml:7: loader[2].items.file: only one loader can read standard input (loader[1] does)"},
		{"sentinel credentials without a sentinel", "[redis]\nsentinel_username = \"u\"\n" + good, `config.toml:2: redis.sentinel_username: goes with a sentinel target`},
		{"sentinel password file missing", "[redis]\nurl = \"redis+sentinel://h:26379/m\"\nsentinel_password_file = \"nope.pw\"\n" + good, `config.toml:3: redis.sentinel_password_file: `},
		{"a path to stdin is stdin", "[[loader]]\nname = \"a\"\nitems = { file = \"-\", format = \"jsonl\" }\nkey = \"k\"\n[[loader]]\nname = \"b\"\nitems = { file = \"/dev/stdin\", format = \"txt\" }\nkey = \"k\"\n",
			"config.toml:7: loader[2].items.file: only one loader can read standard input (loader[1] does)"},
		{"stdin without a format", "[[loader]]\nname = \"a\"\nitems = { file = \"-\" }\nkey = \"k\"\n", `loader[1].items.format: standard input (file = "-") needs a format`},
		{"hosts without a fetch or sitemap", good + "hosts = [\"cdn.example\"]\n", "config.toml:5: loader[1].hosts: hosts goes with fetch or items.sitemap"},
		{"hosts entry with a scheme", "[[loader]]\nname = \"a\"\nitems = { sitemap = \"sm.xml\" }\nkey = \"k\"\nhosts = [\"cdn.example\",\n  \"https://cdn.example\"]\n",
			`config.toml:5: loader[1].hosts[1]: "https://cdn.example" is not a host or host:port (e.g. "cdn.example.com" or "cdn.example.com:8443")`},
		{"unknown format", "[[loader]]\nname = \"a\"\nitems = { file = \"-\", format = \"xml\" }\nkey = \"k\"\n", `loader[1].items.format: unsupported format "xml"`},
		{"format without a file", "[[loader]]\nname = \"a\"\nitems = { list = [1], format = \"csv\" }\nkey = \"k\"\n", "loader[1].items.format: format goes with file"},
		{"not gzip", "[[loader]]\nname = \"a\"\nitems = { file = \"plain.jsonl.gz\" }\nkey = \"k\"\n", "loader[1].items.file: plain.jsonl.gz: not a gzip file"},
		{"two item kinds", "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"], range = [1, 2] }\nkey = \"k\"\n", "loader[1].items: set exactly one of file, list, range, sitemap or sql"},
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
		{"sentinel URL without master", "[redis]\nurl = \"redis+sentinel://127.0.0.1:26379\"\n" + good, "config.toml:2: redis.url: sentinel URL: the path is /mastername or /mastername/db"},
		{"sentinel URL bad address", "[redis]\nurl = \"redis+sentinel://:pw-secret@h1:1,h2:/m\"\n" + good, `redis.url: sentinel URL: "h2:" is not host:port`},
		{"sentinel table and url", "[redis]\nurl = \"redis://h:1\"\nsentinel = { master = \"m\", addrs = [\"h:2\"] }\n" + good, "config.toml:3: redis.sentinel: set either url or sentinel"},
		{"sentinel table without master", "[redis]\nsentinel = { addrs = [\"h:2\"] }\n" + good, "config.toml:2: redis.sentinel.master: names the master"},
		{"sentinel table without addrs", "[redis]\nsentinel = { master = \"m\" }\n" + good, "redis.sentinel.addrs: needs at least one host:port"},
		{"cluster seed not host:port", "[redis]\naddrs = [\"10.0.0.1\"]\n" + good, `config.toml:2: redis.addrs: "10.0.0.1" is not host:port`},
		{"cluster and sentinel", "[redis]\ncluster = true\nurl = \"redis+sentinel://h:1/m\"\n" + good, "redis.cluster: a sentinel-managed master is not a cluster"},
		{"bad redis_wait", "[run]\nredis_wait = \"soon\"\n" + good, `run.redis_wait: invalid duration "soon"`},
		{"unknown type", good + "type = \"list\"\n", `config.toml:5: loader[1].type: unsupported type "list" (use "string" or "hash")`},
		{"value template does not parse", good + "value = \"{{.item\"\n", "config.toml:5: loader[1].value: template does not parse"},
		{"value reads the body without a fetch", good + "value = \"{{.item}}: {{.body.data}}\"\n", "config.toml:5: loader[1].value: uses .body, but the loader has no fetch (use .item)"},
		{"value reads the body by $ without a fetch", good + "value = \"{{with .item}}{{$.body}}{{end}}\"\n", "config.toml:5: loader[1].value: uses .body"},
		{"missing sitemap", "[[loader]]\nname = \"a\"\nitems = { sitemap = \"nope.xml\" }\nkey = \"k\"\n", "config.toml:3: loader[1].items.sitemap: sitemap nope.xml: no such file"},
		{"sitemap not XML", "[[loader]]\nname = \"a\"\nitems = { sitemap = \"dup.csv\" }\nkey = \"k\"\n", "config.toml:3: loader[1].items.sitemap: sitemap dup.csv: line 3: no root element"},
		{"sitemap not a sitemap", "[[loader]]\nname = \"a\"\nitems = { sitemap = \"page.xml\" }\nkey = \"k\"\n", "sitemap page.xml: not a sitemap: the root element is <html>"},
		{"sitemap over ftp", "[[loader]]\nname = \"a\"\nitems = { sitemap = \"ftp://h/s.xml\" }\nkey = \"k\"\n", `loader[1].items.sitemap: unsupported URL "ftp://h/s.xml"`},
		{"sitemap and list", "[[loader]]\nname = \"a\"\nitems = { sitemap = \"page.xml\", list = [1] }\nkey = \"k\"\n", "loader[1].items: set exactly one of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.toml")
			if err := os.Mkdir(filepath.Join(dir, "sub.jsonl"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, content := range map[string]string{"dup.csv": "id,name,id\n1,a,2\n", "plain.jsonl.gz": "{}\n", "page.xml": "<html></html>", "sm.xml": "<urlset></urlset>"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(path, []byte(tc.toml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := config.LoadConfig(path, config.Options{Getenv: func(string) (string, bool) { return "", false }})
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

// Every error names the full key path and its line, however the file
// writes the key: sub-tables, inline tables, dotted keys, arrays of
// tables, keys the decoder or the validator refuses, and text that does
// not parse.
func TestConfigErrorPaths(t *testing.T) {
	first := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n" // lines 1-4
	second := first + "[[loader]]\nname = \"b\"\nkey = \"k\"\n"                          // lines 5-7
	tests := []struct {
		name, toml string
		want       string // the whole error, or its start when it ends in a space
	}{
		{"sub-table unknown key", second + "\n[loader.fetch]\nurl = \"http://x\"\nmethod = \"POST\"\n",
			"config.toml:11: loader[2].fetch.method: unknown key"},
		{"sub-table value", second + "[loader.fetch]\nurl = \"ftp://x\"\n",
			`config.toml:9: loader[2].fetch.url: unsupported URL "ftp://x" (use http:// or https://)`},
		{"a template with a literal non-HTTP scheme", first + "fetch = { url = \"ftp://127.0.0.1/{{.}}\" }\n",
			`config.toml:5: loader[1].fetch.url: unsupported URL scheme "ftp" in "ftp://127.0.0.1/{{.}}" (use http:// or https://)`},
		{"a template with a literal host and no scheme", first + "fetch = { url = \"localhost:8080/{{.}}\" }\n",
			`config.toml:5: loader[1].fetch.url: unsupported URL scheme "localhost" in "localhost:8080/{{.}}" (use http:// or https://)`},
		{"a template whose literal user info does not parse", first + "fetch = { url = \"http://u:p@ss:w/rd@127.0.0.1:1/{{.}}\" }\n",
			`config.toml:5: loader[1].fetch.url: "http://***@127.0.0.1:1/{{.}}": URL does not parse (in user info, write @ : / as %40 %3A %2F)`},
		{"inline table unknown key", first + "fetch = { url = \"http://x\", method = \"POST\" }\n",
			"config.toml:5: loader[1].fetch.method: unknown key"},
		{"dotted key value", second + "fetch.url = \"ftp://x\"\n",
			`config.toml:8: loader[2].fetch.url: unsupported URL "ftp://x" (use http:// or https://)`},
		{"dotted key unknown", first + "fetch.url = \"http://x\"\nfetch.method = \"POST\"\n",
			"config.toml:6: loader[1].fetch.method: unknown key"},
		{"items inline unknown key", "[[loader]]\nname = \"a\"\nkey = \"k\"\nitems = { query = \"select 1\" }\n",
			"config.toml:4: loader[1].items.query: unknown key"},
		{"items sub-table unknown key", "[[loader]]\nname = \"a\"\nkey = \"k\"\n[loader.items]\nlist = [1]\nquery = \"select 1\"\n",
			"config.toml:6: loader[1].items.query: unknown key"},
		{"nested inline header", first + "fetch = { url = \"http://x\", headers = { X-Token = 1 } }\n",
			"config.toml:5: loader[1].fetch.headers.X-Token: must be a string, not an integer"},
		{"nested header sub-table", second + "[loader.fetch]\nurl = \"http://x\"\n[loader.fetch.headers]\nAccept = \"*/*\"\nX-Token = \"${NOPE}\"\n",
			"config.toml:12: loader[2].fetch.headers.X-Token: environment variable NOPE is not set: export NOPE before running cachewarm"},
		{"redis table", "[redis]\n\nurl = 3\n" + first, "config.toml:3: redis.url: must be a string, not an integer"},
		{"redis dotted key", "redis.pipeline = 0\n" + first, "config.toml:1: redis.pipeline: must be at least 1, got 0"},
		{"run table", "[run]\nretries = 1\ntimeout = \"soon\"\n" + first, `config.toml:3: run.timeout: invalid duration "soon" `},
		{"retries without end", "[run]\nretries = 1000000000\n" + first, "config.toml:2: run.retries: at most 100, got 1000000000: "},
		{"run inline table", "run = { retries = 1, timeout = \"soon\" }\n" + first, `config.toml:1: run.timeout: invalid duration "soon" `},
		{"wrong type for a duration", first + "ttl = true\n", `config.toml:5: loader[1].ttl: duration must be a string such as "10s", not bool`},
		{"wrong type for an integer", second + "concurrency = \"many\"\n", "config.toml:8: loader[2].concurrency: must be an integer, not a string"},
		{"wrong type for a table", first + "fetch = \"http://x\"\n", "config.toml:5: loader[1].fetch: must be a table, not a string"},
		{"wrong type in an array", "[[loader]]\nname = \"a\"\nkey = \"k\"\nitems = { range = [1, \"9\"] }\n", "config.toml:4: loader[1].items.range: must be an integer, not a string"},
		{"unknown key", "[run]\nconcurency = 3\n" + first, "config.toml:2: run.concurency: unknown key"},
		{"unknown table", first + "[lodaer]\nname = \"b\"\n", "config.toml:5: lodaer: unknown key"},
		{"unknown key in an array of inline tables", "loader = [\n  { name = \"a\", key = \"k\" },\n  { name = \"b\", key = \"k\", tll = 1 },\n]\n",
			"config.toml:3: loader[2].tll: unknown key"},
		{"value in an array of inline tables", "loader = [\n  { name = \"a\", key = \"k\" },\n  { name = \"b\", key = \"k\", rate = \"fast\" },\n]\n",
			`config.toml:3: loader[2].rate: invalid rate "fast" `},
		{"missing key is placed at its table", first + "[[loader]]\nname = \"b\"\n", `config.toml:5: loader[2].key: a loader needs a key template, e.g. key = "product:{{.id}}"`},
		{"a TTL shorter than Redis keeps", first + "ttl = \"1ns\"\n", `config.toml:5: loader[1].ttl: at least 1ms, or "0" for no expiry, got 1ns`},
		{"an error after a byte order mark", "\xef\xbb\xbf[run]\nretries = -1\n" + first, "config.toml:2: run.retries: "},
		{"syntax error in a value", "[run]\ntimeout = 10s\n" + first, "config.toml:2: run.timeout: strings must be quoted"},
		{"syntax error in an inline table", second + "fetch = { url = \"http://x\"\n", "config.toml:8: loader[2].fetch: inline table is incomplete"},
		{"syntax error in a header", "[run\n" + first, "config.toml:1: column 5: expected ']' to close table name"},
		{"key defined twice", second + "key = \"again\"\n", "config.toml:8: loader[2].key: key key is already defined"},
		{"unknown mode", first + "mode = \"skip\"\n", `config.toml:5: loader[1].mode: unknown mode "skip" (use "overwrite", "missing" or "expiring")`},
		{"expiring without a threshold", second + "mode = \"expiring\"\n", `config.toml:8: loader[2].mode: mode "expiring" needs expire_below, e.g. expire_below = "10m"`},
		{"a threshold without expiring", first + "mode = \"missing\"\nexpire_below = \"10m\"\n", `config.toml:6: loader[1].expire_below: expire_below goes with mode = "expiring"`},
		{"a threshold at the ttl", first + "mode = \"expiring\"\nttl = \"10m\"\nexpire_below = \"10m\"\n",
			"config.toml:7: loader[1].expire_below: must be below the loader's ttl (10m0s), or every run rewrites every key"},
		{"expiring keys that never expire", first + "mode = \"expiring\"\nttl = \"0\"\nexpire_below = \"1m\"\n",
			`config.toml:7: loader[1].expire_below: keys written with no ttl never expire: set a ttl, or use mode = "missing"`},
		{"a threshold that is no duration", first + "mode = \"expiring\"\nexpire_below = \"soon\"\n", `config.toml:6: loader[1].expire_below: invalid duration "soon" `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.ParseConfig("config.toml", []byte(tc.toml), config.Options{Getenv: func(string) (string, bool) { return "", false }})
			var ce *config.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *config.ConfigError", err)
			}
			got := err.Error()
			if strings.HasSuffix(tc.want, " ") {
				got = got[:min(len(got), len(tc.want))]
			}
			if got != tc.want {
				t.Fatalf("error %q\nwant       %q", err, tc.want)
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
	if l.TTL != 30*time.Minute || l.Concurrency != 4 || l.Rate != 2 || l.Mode != config.ModeOverwrite {
		t.Errorf("loader: ttl %v conc %d rate %v mode %q", l.TTL, l.Concurrency, l.Rate, l.Mode)
	}
	if f := l.Items.Files(); len(f) != 1 || !filepath.IsAbs(f[0]) || !strings.HasSuffix(f[0], filepath.Join("sub", "p.jsonl")) {
		t.Errorf("file %q not resolved against the config's folder", f)
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
	// A redirect to another host carries neither credential-like headers
	// nor values from ${VAR}.
	if p := l.Fetch.Private; !p["Authorization"] || p["Accept"] {
		t.Errorf("private headers %v: want Authorization, not Accept", p)
	}
}

// Items from standard input, a FIFO or a gzip file: the format comes from
// the name without .gz or is set; standard input is read through the
// caller's reader, and a FIFO is not opened while the config loads (that
// would wait for its writer, or take its first lines).
func TestStreamAndGzipItems(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "feed")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("id\n1\n"))
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "p.csv.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	toml := `
[[loader]]
name = "in"
items = { file = "-", format = "ndjson" }
key = "k:{{.id}}"
[[loader]]
name = "fifo"
items = { file = "feed", format = "txt" }
key = "f:{{.}}"
[[loader]]
name = "gz"
items = { file = "p.csv.gz" }
key = "g:{{.id}}"
`
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin := strings.NewReader("{}\n")
	cfg, err := config.LoadConfig(path, config.Options{Stdin: stdin})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := cfg.Loaders[0].Items.(source.FileSpec)
	fifoL, _ := cfg.Loaders[1].Items.(source.FileSpec)
	gzL, _ := cfg.Loaders[2].Items.(source.FileSpec)
	if !in.ReadsStdin() || in.Format != "jsonl" || in.Stdin != stdin || !cfg.ReadsStdin() {
		t.Errorf("stdin loader: %+v", in)
	}
	if fifoL.File != fifo || fifoL.Format != "txt" || gzL.Format != "" {
		t.Errorf("fifo %+v, gz %+v", fifoL, gzL)
	}
	if err := cfg.Select([]string{"fifo"}); err != nil || cfg.ReadsStdin() {
		t.Errorf("after --only fifo: reads stdin %v (%v)", cfg.ReadsStdin(), err)
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
	cfg, err := config.LoadConfig(filepath.Join(dir, "config.toml"), config.Options{Getenv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// ext is a test extension: an [ext] table and an {{ext}} function whose
// value is set after the config loads.
type ext struct {
	called  int
	retries int
	wait    time.Duration
	name    string
	url     string
}

func (x *ext) options() config.Options {
	return config.Options{
		Getenv: func(string) (string, bool) { return "", false },
		Funcs:  map[string]any{"ext": func() string { return x.url }},
		Tables: map[string]func(*config.Table) error{"ext": x.read},
	}
}

func (x *ext) read(t *config.Table) error {
	x.called++
	x.retries = t.Config().Run.Retries
	var raw struct {
		Name string `toml:"name"`
		N    int64  `toml:"n"`
		Wait any    `toml:"wait"`
		Boom bool   `toml:"boom"`
	}
	if err := t.Decode(&raw); err != nil {
		return err
	}
	if raw.Boom {
		return errors.New("boom")
	}
	if raw.N < 0 {
		return t.Errorf("n", "must be 0 or more, got %d", raw.N)
	}
	wait, err := t.Duration("wait", raw.Wait, time.Second)
	if err != nil {
		return err
	}
	x.wait, x.name = wait, raw.Name
	return nil
}

// Extension tables are decoded strictly by their owner, and their
// problems read like the engine's own; a table nobody registered is still
// unknown.
func TestExtensionTableErrors(t *testing.T) {
	good := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n"
	tests := []struct {
		name, toml string
		want       string // substring of the error
	}{
		{"unknown key in an extension table", "[ext]\nname = \"x\"\nnmae = \"y\"\n" + good, "config.toml:3: ext.nmae: unknown key"},
		{"wrong type in an extension table", "[ext]\nn = \"many\"\n" + good, "config.toml:2: ext.n"},
		{"extension's own check", "[ext]\n\nn = -1\n" + good, "config.toml:3: ext.n: must be 0 or more, got -1"},
		{"extension duration", "[ext]\nwait = \"soon\"\n" + good, `config.toml:2: ext.wait: invalid duration "soon"`},
		{"extension duration without unit", "[ext]\nwait = 5\n" + good, `config.toml:2: ext.wait: duration 5 needs a unit`},
		{"plain error lands on the header", "\n[ext]\nboom = true\n" + good, "config.toml:2: ext: boom"},
		{"unregistered table", "\n[other]\nx = 1\n" + good, "config.toml:2: other: unknown key"},
		{"engine keys still strict beside an extension", "[ext]\n[run]\nretires = 1\n" + good, "config.toml:3: run.retires: unknown key"},
		{"template names an unknown function", "[[loader]]\nname = \"a\"\nkey = \"{{origin}}\"\n", `loader[1].key: template does not parse: function "origin" not defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := &ext{}
			_, err := config.ParseConfig("config.toml", []byte(tc.toml), x.options())
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var ce *config.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v, want a *ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// An extension reads its table with the run settings at hand, is not
// called without its table, and its functions render at execution time.
func TestExtensionReadsAndRenders(t *testing.T) {
	tests := []struct {
		name     string
		table    string
		called   int
		wait     time.Duration
		wantName string
	}{
		{"no table", "", 0, 0, ""},
		{"table with defaults", "[ext]\n", 1, time.Second, ""},
		{"table with values", "[ext]\nname = \"n\"\nwait = \"250ms\"\n", 1, 250 * time.Millisecond, "n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := &ext{}
			text := "[run]\nretries = 5\n" + tc.table + "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k\"\nfetch = { url = \"{{ext}}/p/{{.}}\" }\n"
			cfg, err := config.ParseConfig("config.toml", []byte(text), x.options())
			if err != nil {
				t.Fatal(err)
			}
			if x.called != tc.called || x.wait != tc.wait || x.name != tc.wantName {
				t.Fatalf("extension read %d times, wait %v, name %q; want %d, %v, %q", x.called, x.wait, x.name, tc.called, tc.wait, tc.wantName)
			}
			if tc.called > 0 && x.retries != 5 {
				t.Errorf("extension saw run.retries %d, want 5", x.retries)
			}
			// The URL is known only after the config loaded.
			x.url = "http://127.0.0.1:9"
			var b strings.Builder
			got, err := cfg.Loaders[0].Fetch.URL.Execute("x", &b)
			if err != nil || got != "http://127.0.0.1:9/p/x" {
				t.Fatalf("rendered %q, %v; want the URL set after loading", got, err)
			}
		})
	}
}

// Options that are a programming mistake are refused before the file is
// read.
func TestExtensionOptionsChecked(t *testing.T) {
	tests := []struct {
		name string
		opts config.Options
		want string
	}{
		{"built-in function replaced", config.Options{Funcs: map[string]any{"lower": strings.ToLower}}, `"lower" is built in`},
		{"engine table claimed", config.Options{Tables: map[string]func(*config.Table) error{"run": func(*config.Table) error { return nil }}}, `"run" is the engine's own`},
		{"table without a function", config.Options{Tables: map[string]func(*config.Table) error{"ext": nil}}, `"ext" has no function`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.ParseConfig("config.toml", []byte("[[loader]]\nname = \"a\"\nkey = \"k\"\n"), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// Each way of naming a cluster or a sentinel-managed master reads into
// the same RedisConfig, and a sentinel URL's password is a secret.
func TestRedisTargets(t *testing.T) {
	loader := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n"
	tests := []struct {
		name, redis string
		cluster     bool
		addrs       []string
		sentinel    *config.SentinelConfig
		url         string
	}{
		{"plain", "url = \"redis://h:1/0\"", false, nil, nil, "redis://h:1/0"},
		{"cluster flag", "url = \"redis://h:1\"\ncluster = true", true, nil, nil, "redis://h:1"},
		{"cluster seeds", "addrs = [\"a:1\", \"b:2\"]", true, []string{"a:1", "b:2"}, nil, "redis://a:1"},
		{"cluster seeds with credentials", "url = \"rediss://:pw-sentinel@a:1\"\naddrs = [\"a:1\", \"b:2\"]", true, []string{"a:1", "b:2"}, nil, "rediss://:pw-sentinel@a:1"},
		{"sentinel URL", "url = \"redis+sentinel://:pw-sentinel@s1:26379,s2:26379/mymaster/3\"", false, nil,
			&config.SentinelConfig{Master: "mymaster", Addrs: []string{"s1:26379", "s2:26379"}, DB: 3}, "redis+sentinel://:pw-sentinel@s1:26379,s2:26379/mymaster/3"},
		{"sentinel table", "sentinel = { master = \"mymaster\", addrs = [\"s1:26379\"] }", false, nil,
			&config.SentinelConfig{Master: "mymaster", Addrs: []string{"s1:26379"}}, "redis+sentinel://s1:26379/mymaster/0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte("[redis]\n"+tc.redis+"\n"+loader), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.LoadConfig(path, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.Redis
			if r.Cluster != tc.cluster || !reflect.DeepEqual(r.Addrs, tc.addrs) || !reflect.DeepEqual(r.Sentinel, tc.sentinel) || r.URL != tc.url {
				t.Fatalf("got cluster=%v addrs=%v sentinel=%+v url=%q", r.Cluster, r.Addrs, r.Sentinel, r.URL)
			}
			if got := cfg.Secrets().Redact(r.URL); strings.Contains(got, "pw-sentinel") {
				t.Fatalf("password shown: %s", got)
			}
			// --redis names the whole target: the file's seeds and sentinel go.
			if err := cfg.SetRedisURL("redis+sentinel://:flag-pw@x:1/other"); err != nil {
				t.Fatal(err)
			}
			if cfg.Redis.Cluster || cfg.Redis.Addrs != nil || cfg.Redis.Sentinel.Master != "other" || strings.Contains(cfg.Secrets().Redact("flag-pw"), "flag-pw") {
				t.Fatalf("after SetRedisURL: %+v", cfg.Redis)
			}
		})
	}
}

// A loader's type defaults to string; a value template is optional, may
// read the body when the loader fetches, and says whether it may read
// the body at all (the engine decodes a body only then).
func TestLoaderTypeAndValue(t *testing.T) {
	base := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\nfetch = { url = \"http://o/{{.}}\" }\n"
	tests := []struct {
		name      string
		extra     string
		typ       string
		value     string
		readsBody bool
	}{
		{"defaults", "", config.TypeString, "", false},
		{"hash", "type = \"hash\"\n", config.TypeHash, "", false},
		{"projection of the body", "value = \"{{.body.data}}\"\n", config.TypeString, "{{.body.data}}", true},
		{"the item alone", "value = \"{{.item}}\"\n", config.TypeString, "{{.item}}", false},
		{"the whole data", "value = \"{{json .}}\"\n", config.TypeString, "{{json .}}", true},
		{"inside a with", "value = \"{{with .item}}{{.}}{{end}}\"\n", config.TypeString, "{{with .item}}{{.}}{{end}}", true},
		{"hash of a projection", "type = \"hash\"\nvalue = '{\"n\":{{json .body.n}}}'\n", config.TypeHash, `{"n":{{json .body.n}}}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.ParseConfig("config.toml", []byte(base+tc.extra), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			l := cfg.Loaders[0]
			if l.Type != tc.typ {
				t.Errorf("type %q, want %q", l.Type, tc.typ)
			}
			switch {
			case tc.value == "" && l.Value != nil:
				t.Errorf("value %q, want none", l.Value.Text)
			case tc.value != "" && (l.Value == nil || l.Value.Text != tc.value):
				t.Errorf("value %+v, want %q", l.Value, tc.value)
			case tc.value != "" && l.Value.ReadsBody() != tc.readsBody:
				t.Errorf("ReadsBody %v, want %v", l.Value.ReadsBody(), tc.readsBody)
			}
		})
	}
}

// A URL from --redis or the environment may name sentinels the file's url
// does not: the sentinels' credentials are then kept, not refused.
func TestSentinelCredentialsWithAReplacedURL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	toml := "[redis]\nurl = \"redis://127.0.0.1:6379\"\nsentinel_username = \"watcher\"\nsentinel_password_file = \"s.pw\"\n[[loader]]\nname = \"a\"\nkey = \"k\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s.pw"), []byte("pw\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadConfig(path, config.Options{RedisURLReplaced: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetRedisURL("redis+sentinel://127.0.0.1:26379/mymaster"); err != nil {
		t.Fatal(err)
	}
	if r := cfg.Redis; r.Sentinel == nil || r.SentinelUsername != "watcher" || r.SentinelPassword != "pw" {
		t.Fatalf("sentinel %+v, user %q, password %q", r.Sentinel, r.SentinelUsername, r.SentinelPassword)
	}
}
