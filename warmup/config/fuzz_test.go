package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		cfg, err := ParseConfig(filepath.Join(dir, "config.toml"), []byte(text), func(string) (string, bool) { return "v", true })
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
