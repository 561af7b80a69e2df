package demo

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// loader is the smallest loader that fetches from the simulated origin.
const loader = "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\nfetch = { url = \"{{origin}}/p/{{.}}\" }\n"

func parse(t *testing.T, text string) (*Extension, *config.Config, error) {
	t.Helper()
	x := NewExtension()
	opts := x.Options()
	opts.Getenv = func(string) (string, bool) { return "", false }
	cfg, err := config.ParseConfig("config.toml", []byte(text), opts)
	return x, cfg, err
}

// The [origin] table keeps its defaults: fail_attempts follows
// run.retries unless set.
func TestOriginTableValues(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want *OriginConfig
	}{
		{"no table", "", nil},
		{"not simulated", "[origin]\nsimulate = false\nseed = 3\n", nil},
		{"defaults", "[origin]\nsimulate = true\n",
			&OriginConfig{Latency: 60 * time.Millisecond, Transient: 0.1, Permanent: 0.01, FailAttempts: 3}},
		{"fail_attempts follows run.retries", "[run]\nretries = 4\n[origin]\nsimulate = true\n",
			&OriginConfig{Latency: 60 * time.Millisecond, Transient: 0.1, Permanent: 0.01, FailAttempts: 5}},
		{"every key", "[origin]\nsimulate = true\nseed = 7\nlatency = \"0\"\ntransient = 0\npermanent = 1\nfail_attempts = 0\nhot = { \"/s/\" = 0.5 }\n",
			&OriginConfig{Seed: 7, Permanent: 1, Hot: map[string]float64{"/s/": 0.5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, _, err := parse(t, tc.toml+loader)
			if err != nil {
				t.Fatal(err)
			}
			got := x.Origin()
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("origin %+v, want %+v", got, tc.want)
			}
			if got == nil {
				return
			}
			if got.Seed != tc.want.Seed || got.Latency != tc.want.Latency || got.Transient != tc.want.Transient ||
				got.Permanent != tc.want.Permanent || got.FailAttempts != tc.want.FailAttempts || !maps.Equal(got.Hot, tc.want.Hot) {
				t.Fatalf("origin %+v, want %+v", *got, *tc.want)
			}
		})
	}
}

// Problems in [origin] read like the engine's own, in full and once:
// file, line, key path, message, as a *config.ConfigError, wherever in the
// file the key is written.
func TestOriginTableErrors(t *testing.T) {
	tests := []struct {
		name, toml string
		want       string
	}{
		{"unknown key", "[origin]\nsimulate = true\nlatncy = \"1s\"\n", "config.toml:3: origin.latncy: unknown key"},
		{"unknown key when not simulated", "[origin]\nsimulate = false\nsead = 1\n", "config.toml:3: origin.sead: unknown key"},
		{"unknown key in an inline table", "origin = { simulate = true, sead = 1 }\n", "config.toml:1: origin.sead: unknown key"},
		{"wrong type", "[origin]\nsimulate = \"yes\"\n", "config.toml:2: origin.simulate: must be true or false, not a string"},
		{"bad latency", "[origin]\nsimulate = true\nlatency = \"fast\"\n", `config.toml:3: origin.latency: invalid duration "fast" (use e.g. "250ms", "10s", "1h")`},
		{"negative latency", "[origin]\nsimulate = true\nlatency = \"-1s\"\n", "config.toml:3: origin.latency: duration must be positive"},
		{"negative fail_attempts", "[origin]\nsimulate = true\nfail_attempts = -1\n", "config.toml:3: origin.fail_attempts: must be 0 or more, got -1"},
		{"transient above 1", "[origin]\nsimulate = true\ntransient = 1.5\n", "config.toml:3: origin.transient: must be between 0 and 1, got 1.5"},
		{"transient not a number", "[origin]\nsimulate = true\ntransient = nan\n", "config.toml:3: origin.transient: must be between 0 and 1, got NaN"},
		{"transient infinite", "origin.simulate = true\norigin.transient = inf\n", "config.toml:2: origin.transient: must be between 0 and 1, got +Inf"},
		{"transient a string", "[origin]\nsimulate = true\ntransient = \"abc\"\n", "config.toml:3: origin.transient: must be a number, not a string"},
		{"negative transient", "[origin]\nsimulate = true\ntransient = -0.5\n", "config.toml:3: origin.transient: must be between 0 and 1, got -0.5"},
		{"negative permanent", "[origin]\nsimulate = true\n\npermanent = -0.1\n", "config.toml:4: origin.permanent: must be between 0 and 1, got -0.1"},
		{"hot share", "[origin]\nsimulate = true\nhot = { \"/s/\" = 2 }\n", "config.toml:3: origin.hot./s/: must be between 0 and 1, got 2"},
		{"hot share in a sub-table", "[origin]\nsimulate = true\n[origin.hot]\n\"/s/\" = nan\n", "config.toml:4: origin.hot./s/: must be between 0 and 1, got NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parse(t, tc.toml+loader)
			var ce *config.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *config.ConfigError", err)
			}
			if err.Error() != tc.want {
				t.Fatalf("error %q\nwant       %q", err, tc.want)
			}
		})
	}
}

// {{origin}} parses at config time and renders the origin's URL once it
// has started; before, or without [origin], it says what is missing.
func TestOriginFunction(t *testing.T) {
	tests := []struct {
		name, toml string
		start      bool
		wantErr    string
	}{
		{"started", "[origin]\nsimulate = true\nlatency = \"0\"\n", true, ""},
		{"not started", "[origin]\nsimulate = true\n", false, "needs [origin] simulate = true"},
		{"no origin", "", true, "needs [origin] simulate = true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, cfg, err := parse(t, tc.toml+loader)
			if err != nil {
				t.Fatal(err)
			}
			want := "/p/x"
			if tc.start {
				o, err := x.StartOrigin()
				if err != nil {
					t.Fatal(err)
				}
				if o != nil {
					t.Cleanup(o.Close)
					want = o.URL() + want
				}
			}
			var b strings.Builder
			got, err := cfg.Loaders[0].Fetch.URL.Execute("x", &b)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("rendered %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != want {
				t.Fatalf("rendered %q, %v; want %q", got, err, want)
			}
		})
	}
}
