package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// fetch.adaptive is per loader; run.adaptive is every fetching loader's
// default, which a loader's own setting overrides either way.
func TestAdaptiveResolvesPerLoader(t *testing.T) {
	const loaders = `
[[loader]]
name = "plain"
items = { list = [1] }
key = "a:{{.}}"
fetch = { url = "http://127.0.0.1:9/{{.}}" }

[[loader]]
name = "on"
items = { list = [1] }
key = "b:{{.}}"
fetch = { url = "http://127.0.0.1:9/{{.}}", adaptive = true }

[[loader]]
name = "off"
items = { list = [1] }
key = "c:{{.}}"
fetch = { url = "http://127.0.0.1:9/{{.}}", adaptive = false }
`
	for _, tc := range []struct {
		name string
		run  string
		want map[string]bool
	}{
		{"off by default", "", map[string]bool{"plain": false, "on": true, "off": false}},
		{"run.adaptive", "[run]\nadaptive = true\n", map[string]bool{"plain": true, "on": true, "off": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.run+loaders)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range cfg.Loaders {
				if l.Fetch.Adaptive != tc.want[l.Name] {
					t.Errorf("loader %s: adaptive %v, want %v", l.Name, l.Fetch.Adaptive, tc.want[l.Name])
				}
			}
		})
	}
}

func TestAdaptiveErrorsSayWhere(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"not a bool in fetch", "[[loader]]\nname = \"a\"\nitems = { list = [1] }\nkey = \"a:{{.}}\"\nfetch = { url = \"http://x/{{.}}\", adaptive = \"yes\" }\n",
			"config.toml:5: loader[1].fetch.adaptive"},
		{"not a bool in run", "[run]\nadaptive = 1\n[[loader]]\nname = \"a\"\nitems = { list = [1] }\nkey = \"a:{{.}}\"\n",
			"config.toml:2: run.adaptive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.toml)
			var ce *config.ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want a *config.ConfigError starting %q", err, tc.want)
			}
		})
	}
}
