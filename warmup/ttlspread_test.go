package warmup_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
	"github.com/redis/go-redis/v9"
)

// Keys warmed together with ttl_jitter expire spread over ttl ± jitter,
// not all in the same second an hour later: the TTLs Redis holds cover
// the window evenly, a key written again (a retry) gets the same TTL, and
// --verify accepts TTLs up to ttl + jitter.
func TestTTLJitterSpreadsExpiries(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, hit int, w http.ResponseWriter, r *http.Request) {
		// Every tenth page fails its first fetch: its key is written by
		// a retry.
		if strings.HasSuffix(path, "0") && hit == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"path":%q}`, path)
	})
	cfg := loadConfig(t, `
[run]
ttl = "1h"
ttl_jitter = "10%"
backoff = "1ms"
[[loader]]
name = "bulk"
items = { range = [1, 20000] }
key = "b:{{.}}"
[[loader]]
name = "pages"
items = { range = [1, 500] }
key = "p:{{.}}"
fetch = { url = "`+o.URL+`/p/{{.}}" }
type = "hash"
ttl = "10m"
ttl_jitter = "2m"
`, nil, nil)
	start := time.Now()
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{Verify: true})
	checkExact(t, eng, rep)
	if snap := eng.Snapshot().Loaders; snap[0].TTL != "54m–1h6m" || snap[1].TTL != "8m–12m" {
		t.Errorf("the monitor shows ttl %q and %q, want 54m–1h6m and 8m–12m", snap[0].TTL, snap[1].TTL)
	}
	if rep.Fulfilled != 20500 || rep.Rejected != 0 || rep.Verify == nil || rep.Verify.Failed != 0 {
		t.Fatalf("fulfilled %d, rejected %d, verify %s; want 20500, 0, none failed", rep.Fulfilled, rep.Rejected, mustJSON(t, rep.Verify))
	}
	if o.count("/p/10") != 2 {
		t.Fatalf("/p/10 fetched %d times, want 2 (a retry)", o.count("/p/10"))
	}
	took := time.Since(start)
	for i, tc := range []struct {
		prefix string
		n      int
		ttl    time.Duration
		jitter time.Duration
	}{{"b:", 20000, time.Hour, 6 * time.Minute}, {"p:", 500, 10 * time.Minute, 2 * time.Minute}} {
		l := cfg.Loaders[i]
		if lo, hi := l.TTLRange(); lo != tc.ttl-tc.jitter || hi != tc.ttl+tc.jitter {
			t.Fatalf("%s TTL range %s..%s", l.Name, lo, hi)
		}
		if got := rep.Loaders[i].TTL; got == nil || got.MinMs != (tc.ttl-tc.jitter).Milliseconds() || got.MaxMs != (tc.ttl+tc.jitter).Milliseconds() {
			t.Errorf("%s: report ttl %s", l.Name, mustJSON(t, got))
		}
		const slices = 10
		var counts [slices]int
		pipe := srv.Client.Pipeline()
		cmds := make([]*redis.DurationCmd, tc.n)
		for k := range tc.n {
			cmds[k] = pipe.PTTL(context.Background(), fmt.Sprintf("%s%d", tc.prefix, k+1))
		}
		if _, err := pipe.Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		for k, c := range cmds {
			key := fmt.Sprintf("%s%d", tc.prefix, k+1)
			left, want := c.Val(), l.KeyTTL(key)
			// The key was written with want at most took ago.
			if left > want || left < want-took-time.Second {
				t.Fatalf("%s has %s left, written with %s at most %s ago", key, left, want, took)
			}
			counts[min(slices-1, int((want-(tc.ttl-tc.jitter))*slices/(2*tc.jitter)))]++
		}
		for s, c := range counts {
			if c < tc.n/slices/2 {
				t.Errorf("%s: %d keys expire in slice %d of the window, want about %d: %v", l.Name, c, s, tc.n/slices, counts)
			}
		}
	}
}
