package config_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/warmup/config"
)

func parse(t *testing.T, toml string) (*config.Config, error) {
	t.Helper()
	return config.ParseConfig("config.toml", []byte(toml), config.Options{Getenv: func(string) (string, bool) { return "", false }})
}

// ttl_jitter is a share of the ttl or a duration, per loader or for the
// run; each loader ends with its jitter as a duration.
func TestTTLJitterResolvesPerLoader(t *testing.T) {
	cfg, err := parse(t, `
[run]
ttl = "1h"
ttl_jitter = "10%"
[[loader]]
name = "a"
items = { list = ["x"] }
key = "a:{{.}}"
[[loader]]
name = "b"
items = { list = ["x"] }
key = "b:{{.}}"
ttl = "10m"
[[loader]]
name = "c"
items = { list = ["x"] }
key = "c:{{.}}"
ttl_jitter = "90s"
[[loader]]
name = "d"
items = { list = ["x"] }
key = "d:{{.}}"
ttl = "0"
[[loader]]
name = "e"
items = { list = ["x"] }
key = "e:{{.}}"
ttl_jitter = "0"
`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"a": 6 * time.Minute, "b": time.Minute, "c": 90 * time.Second, "d": 0, "e": 0}
	for _, l := range cfg.Loaders {
		if l.TTLJitter != want[l.Name] {
			t.Errorf("loader %s: jitter %s, want %s", l.Name, l.TTLJitter, want[l.Name])
		}
	}
}

func TestTTLJitterErrorsSayWhere(t *testing.T) {
	first := "[[loader]]\nname = \"a\"\nitems = { list = [\"x\"] }\nkey = \"k:{{.}}\"\n"
	tests := []struct{ name, toml, want string }{
		{"a share of 100%", first + "ttl_jitter = \"100%\"\n",
			`config.toml:5: loader[1].ttl_jitter: invalid ttl_jitter "100%" (use a share below 100%, e.g. "10%", or a duration, e.g. "5m")`},
		{"no unit", first + "ttl_jitter = \"10\"\n", `config.toml:5: loader[1].ttl_jitter: invalid duration "10" (use e.g. "250ms", "10s", "1h")`},
		{"not a string", first + "ttl_jitter = true\n", `config.toml:5: loader[1].ttl_jitter: ttl_jitter must be a string such as "10%" or "5m", not bool`},
		{"no ttl to spread", first + "ttl = \"0\"\nttl_jitter = \"1m\"\n", "config.toml:6: loader[1].ttl_jitter: keys written with no ttl never expire: a jitter needs a ttl"},
		{"as long as the ttl", first + "ttl = \"10m\"\nttl_jitter = \"10m\"\n",
			`config.toml:6: loader[1].ttl_jitter: 10m0s is more than half of loader "a"'s ttl (10m0s): some keys would expire almost at once; at most 5m0s (50%)`},
		{"all but a millisecond of the ttl", first + "ttl = \"3s\"\nttl_jitter = \"2999ms\"\n",
			`config.toml:6: loader[1].ttl_jitter: 2.999s is more than half of loader "a"'s ttl (3s): some keys would expire almost at once; at most 1.5s (50%)`},
		{"the run's, longer than a loader's ttl", "[run]\nttl_jitter = \"2h\"\n" + first,
			`config.toml:2: run.ttl_jitter: 2h0m0s is more than half of loader "a"'s ttl (1h0m0s): some keys would expire almost at once; at most 30m0s (50%)`},
		{"a threshold above the shortest ttl", first + "ttl = \"10m\"\nttl_jitter = \"50%\"\nmode = \"expiring\"\nexpire_below = \"6m\"\n",
			"config.toml:8: loader[1].expire_below: must be below the loader's shortest ttl (5m0s, its ttl less ttl_jitter), or the next run rewrites keys it just wrote"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.toml)
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

// Every key's TTL is within ttl ± jitter, the same for the same key, and
// keys spread evenly over the window: in 20 slices of it, 100,000 keys
// named like a bulk load's land within 5% of 5,000 each.
func TestKeyTTLSpreadsEvenlyAndRepeats(t *testing.T) {
	l := &config.Loader{TTL: time.Hour, TTLJitter: 6 * time.Minute}
	lo, hi := l.TTLRange()
	const n, slices = 100000, 20
	var counts [slices]int
	for i := range n {
		key := fmt.Sprintf("product:%d", i)
		ttl := l.KeyTTL(key)
		if ttl < lo || ttl > hi || ttl%time.Millisecond != 0 {
			t.Fatalf("%s: ttl %s outside %s..%s", key, ttl, lo, hi)
		}
		if again := l.KeyTTL(key); again != ttl {
			t.Fatalf("%s: ttl %s, then %s", key, ttl, again)
		}
		counts[min(slices-1, int((ttl-lo)*slices/(hi-lo)))]++
	}
	for i, c := range counts {
		if c < n/slices*95/100 || c > n/slices*105/100 {
			t.Errorf("slice %d of the window holds %d keys, want about %d: %v", i, c, n/slices, counts)
		}
	}
	if none := (&config.Loader{TTL: time.Hour}).KeyTTL("product:1"); none != time.Hour {
		t.Errorf("no jitter: ttl %s, want 1h", none)
	}
}

func BenchmarkKeyTTL(b *testing.B) {
	l := &config.Loader{TTL: time.Hour, TTLJitter: 6 * time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		_ = l.KeyTTL("product:123456")
	}
}
