package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// `cachewarm init` writes a starter config that the real loader takes
// and --dry-run previews; it never overwrites a file.
func TestInitWritesAStarterConfig(t *testing.T) {
	items := `{"id": 1, "name": "chair"}` + "\n" + `{"id": 2, "name": "lamp"}` + "\n"
	for _, tc := range []struct {
		name     string
		args     []string // after init, run in the test's folder
		path     string   // the config written
		wantConf []string
		wantDry  []string
	}{
		{
			name:     "a file of items, no fetch",
			args:     []string{"--file", "products.jsonl"},
			path:     "config.toml",
			wantConf: []string{`url = "${REDIS_URL}"`, `items = { file = "products.jsonl" }`, `key = "products:{{.id}}"`, `ttl = "1h"`, "# fetch = "},
			wantDry:  []string{`SET products:1 = {"id": 1, "name": "chair"}`, "SET products:2"},
		},
		{
			name:     "fetched from a URL, config in a subfolder",
			args:     []string{"--file", "products.jsonl", "--url", "https://api.example.com/products/{{.id}}", "conf/warm.toml"},
			path:     "conf/warm.toml",
			wantConf: []string{`items = { file = "../products.jsonl" }`, `fetch = { url = "https://api.example.com/products/{{.id}}" }`},
			wantDry:  []string{"SET products:1 ← GET https://api.example.com/products/1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "products.jsonl"), []byte(items), 0o644); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
			t.Chdir(dir)
			args := append([]string{"init"}, tc.args...)
			path := tc.path
			code, out, errOut := cli(t, args...)
			if code != 0 || !strings.Contains(out, "wrote "+path) || !strings.Contains(out, "--dry-run") {
				t.Fatalf("init: exit %d, want 0, the file named and --dry-run offered\n%s%s", code, out, errOut)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.wantConf {
				if !strings.Contains(string(b), want) {
					t.Errorf("the config lacks %s:\n%s", want, b)
				}
			}
			getenv := func(k string) (string, bool) {
				if k == "REDIS_URL" {
					return "redis://127.0.0.1:1/0", true
				}
				return "", false
			}
			cfg, err := config.LoadConfig(path, config.Options{Getenv: getenv})
			if err != nil {
				t.Fatalf("the written config does not load: %v", err)
			}
			if len(cfg.Loaders) != 1 || cfg.Redis.URL != "redis://127.0.0.1:1/0" {
				t.Errorf("loaded %d loaders, Redis %q", len(cfg.Loaders), cfg.Redis.URL)
			}
			code, out, errOut = cli(t, "--config", path, "--dry-run", "--redis", "redis://127.0.0.1:1")
			if code != 0 {
				t.Fatalf("--dry-run of the written config: exit %d\n%s%s", code, out, errOut)
			}
			for _, want := range tc.wantDry {
				if !strings.Contains(out, want) {
					t.Errorf("--dry-run lacks %q:\n%s", want, out)
				}
			}

			// A second init onto the same path is refused, the file kept.
			code, _, errOut = cli(t, args...)
			if after, _ := os.ReadFile(path); code != exitUsage || string(after) != string(b) ||
				!strings.Contains(errOut, "does not overwrite it: name another file") {
				t.Errorf("init over an existing config: exit %d, want 2, the file unchanged and the fix\n%s", code, errOut)
			}
		})
	}
}

// Each exit-2 mistake a newcomer makes first says what was wrong and what
// to do about it.
func TestNewcomerErrorsNameTheFix(t *testing.T) {
	empty := t.TempDir()
	loader := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n"
	envCfg := writeConfig(t, "[redis]\nurl = \"${CACHEWARM_TEST_UNSET_URL}\"\n"+loader, map[string]string{})
	pwCfg := writeConfig(t, "[redis]\nurl = \"redis://127.0.0.1:1\"\npassword_file = \"nope/pw\"\n"+loader, map[string]string{})
	okCfg := writeConfig(t, "[redis]\nurl = \"redis://127.0.0.1:1\"\n"+loader, map[string]string{})
	missing := filepath.Join(empty, "prod.toml")
	for _, tc := range []struct {
		name  string
		chdir string
		args  []string
		want  []string
	}{
		{"no config.toml here", empty, nil, []string{
			"no config: looked for " + filepath.Join(empty, "config.toml"), "cachewarm init", "go run ."}},
		{"--config names a missing file", "", []string{"--config", missing}, []string{
			"--config " + missing + ": no such file", "cachewarm init " + missing}},
		{"unknown flag", "", []string{"--confg", okCfg}, []string{
			"unknown flag: --confg", "cachewarm --help lists the flags"}},
		{"stray argument", "", []string{"--config", okCfg, "run"}, []string{
			`unexpected argument "run"`, "the commands are init, merge"}},
		{"bad --redis URL", "", []string{"--config", okCfg, "--redis", "http://cache:6379", "--dry-run"}, []string{
			`--redis: unsupported URL scheme "http" (use redis://, rediss://`}},
		{"Redis URL from an unset variable", "", []string{"--config", envCfg, "--dry-run"}, []string{
			"redis.url: environment variable CACHEWARM_TEST_UNSET_URL is not set: export CACHEWARM_TEST_UNSET_URL=redis://HOST:6379/0, or give --redis URL"}},
		{"missing password file", "", []string{"--config", pwCfg, "--dry-run"}, []string{
			"config.toml:3: redis.password_file:", "nope/pw: no such file: the file holds the password, on one line: write it, or fix the path"}},
		{"init into a folder that is not there", "", []string{"init", filepath.Join(empty, "no", "config.toml")}, []string{
			"the folder " + filepath.Join(empty, "no") + " does not exist: create it (mkdir -p"}},
		{"completion for an unknown shell", "", []string{"completion", "pwsh"}, []string{
			"cachewarm completion bash, zsh or fish"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chdir != "" {
				t.Chdir(tc.chdir)
			}
			code, out, errOut := cli(t, tc.args...)
			if code != exitUsage || out != "" {
				t.Errorf("exit %d, want 2 and nothing on stdout\n%s", code, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if strings.Contains(errOut, "config.toml: config.toml") {
				t.Errorf("the file is named twice:\n%s", errOut)
			}
		})
	}
}

// Shell completions and the man page come from the command definition:
// every flag and command is in them.
func TestCompletionAndManPage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"completion", "bash"}, []string{"# bash completion V2 for cachewarm", "__start_cachewarm"}},
		{[]string{"completion", "zsh"}, []string{"#compdef cachewarm"}},
		{[]string{"completion", "fish"}, []string{"complete -c cachewarm"}},
		// What the scripts ask the binary for as one types.
		{[]string{"__complete", "--retry"}, []string{"--retry-from"}},
		{[]string{"__complete", "in"}, []string{"init\t"}},
		{[]string{"man"}, []string{".TH CACHEWARM 1", "--retry-from", "--shards", "Exit codes: 0 every item fulfilled", "init", "merge"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := cli(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%.2000s", want, out)
				}
			}
		})
	}
}
