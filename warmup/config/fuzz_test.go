package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// fuzzOptions extend the config the way the demo does (an [origin] table
// and an {{origin}} function), so that the shipped demo config is a
// seed that loads and the fuzzer reaches the extension paths too.
func fuzzOptions() Options {
	return Options{
		Getenv: func(string) (string, bool) { return "v", true },
		Funcs:  template.FuncMap{"origin": func() string { return "http://127.0.0.1:1" }},
		Tables: map[string]func(*Table) error{"origin": func(t *Table) error {
			var o struct {
				Simulate     bool               `toml:"simulate"`
				Seed         int64              `toml:"seed"`
				Latency      any                `toml:"latency"`
				Transient    float64            `toml:"transient"`
				Permanent    float64            `toml:"permanent"`
				FailAttempts int64              `toml:"fail_attempts"`
				Hot          map[string]float64 `toml:"hot"`
			}
			if err := t.Decode(&o); err != nil {
				return err
			}
			if o.FailAttempts < 0 {
				return t.Errorf("fail_attempts", "must be 0 or more, got %d", o.FailAttempts)
			}
			_, err := t.Duration("latency", o.Latency, 0)
			return err
		}},
	}
}

// FuzzParseConfig: any text either loads or gives a ConfigError; it never
// panics, and an error always names the file.
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "config.toml"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("[[loader]]\nname = \"a\"\nitems = { range = [1, 3] }\nkey = \"k:{{.}}\"\n")
	f.Add("[run]\ntimeout = \"1x\"\n[[loader]]\nname=\"\"\ntll=1\n")
	f.Add("[redis]\nurl = \"redis://:${X}@h\"\n")
	f.Add("[[loader]]\nname = \"a\"\nkey = \"k\"\nfetch.url = \"ftp://x\"\n[[loader]]\nname = \"b\"\nkey = \"k\"\n[loader.fetch]\nurl = \"http://x\"\n[loader.fetch.headers]\nX = 1\n")
	f.Add("loader = [{ name = \"a\", key = \"k\", items = { sql = 1 } }]\n[origin.hot]\n\"/s/\" = nan\n")
	f.Add("[run]\ntimeout = 10s\n")
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		cfg, err := ParseConfig(filepath.Join(dir, "config.toml"), []byte(text), fuzzOptions())
		if err != nil {
			if !strings.Contains(err.Error(), "config.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(cfg.Loaders) == 0 {
			t.Fatal("a config without loaders loaded")
		}
	})
}
