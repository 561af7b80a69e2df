package warmup_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// seeded is a key the application wrote before the run.
type seeded struct {
	key, value string
	ttl        time.Duration // 0: no expiry
}

// seed writes keys as the application would have.
func seed(t *testing.T, srv *redistest.Server, keys []seeded) {
	t.Helper()
	for _, k := range keys {
		if err := srv.Client.Set(context.Background(), k.key, k.value, k.ttl).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkUntouched asserts that every seeded key still holds its value and
// has not had its TTL renewed.
func checkUntouched(t *testing.T, srv *redistest.Server, keys []seeded) {
	t.Helper()
	ctx := context.Background()
	for _, k := range keys {
		if v, err := srv.Client.Get(ctx, k.key).Result(); err != nil || v != k.value {
			t.Errorf("%s = %q (%v), want the application's %q", k.key, v, err, k.value)
		}
		pttl := srv.Client.PTTL(ctx, k.key).Val()
		switch {
		case k.ttl == 0 && pttl != -1:
			t.Errorf("%s: PTTL %v, want no expiry as the application set it", k.key, pttl)
		case k.ttl > 0 && (pttl > k.ttl || pttl < k.ttl-time.Minute):
			t.Errorf("%s: PTTL %v, want at most the application's %v", k.key, pttl, k.ttl)
		}
	}
}

// bodyOrigin answers /p/ID with "origin ID" and counts its requests.
func bodyOrigin(t *testing.T) *origin {
	return newOrigin(t, func(path string, _ int, w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "origin "+strings.TrimPrefix(path, "/p/"))
	})
}

// Mode "missing" never changes a key that was there before the run (its
// value or its TTL), fetches nothing for it, and counts it fulfilled
// (already warm); every absent key is fetched once and written.
func TestModeMissingLeavesExistingKeysAlone(t *testing.T) {
	srv := redistest.Start(t)
	var pre []seeded
	for i := 1; i <= 60; i += 3 {
		ttl := time.Duration(i) * time.Minute
		if i == 31 {
			ttl = 0
		}
		pre = append(pre, seeded{key: "p:" + strconv.Itoa(i), value: "app " + strconv.Itoa(i), ttl: ttl})
	}
	isSeeded := func(i int) bool { return i%3 == 1 }
	for _, fetch := range []bool{true, false} {
		t.Run(fmt.Sprintf("fetch=%v", fetch), func(t *testing.T) {
			srv.Client.FlushAll(context.Background())
			seed(t, srv, pre)
			o := bodyOrigin(t)
			fetchLine := ""
			if fetch {
				fetchLine = "fetch = { url = \"" + o.URL + "/p/{{.}}\" }\n"
			}
			cfg := loadConfig(t, "[run]\nretries = 0\n[[loader]]\nname = \"p\"\nitems = { range = [1, 60] }\nkey = \"p:{{.}}\"\nttl = \"1h\"\nmode = \"missing\"\n"+fetchLine, nil, nil)
			eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
			checkExact(t, eng, rep)
			checkUntouched(t, srv, pre)
			if rep.Fulfilled != 60 || rep.Warm != int64(len(pre)) || rep.Rejected != 0 {
				t.Fatalf("fulfilled %d (warm %d), rejected %d; want 60 (%d), 0", rep.Fulfilled, rep.Warm, rep.Rejected, len(pre))
			}
			if l := loaderReport(t, rep, "p"); l.Warm != rep.Warm {
				t.Fatalf("loader warm %d, report %d", l.Warm, rep.Warm)
			}
			for i := 1; i <= 60; i++ {
				want, hits := 1, o.count("/p/"+strconv.Itoa(i))
				if isSeeded(i) || !fetch {
					want = 0
				}
				if hits != want {
					t.Errorf("/p/%d fetched %d times, want %d", i, hits, want)
				}
				if isSeeded(i) {
					continue
				}
				v := srv.Client.Get(context.Background(), "p:"+strconv.Itoa(i)).Val()
				if wantV := map[bool]string{true: "origin " + strconv.Itoa(i), false: strconv.Itoa(i)}[fetch]; v != wantV {
					t.Errorf("p:%d = %q, want %q", i, v, wantV)
				}
			}
		})
	}
}

// The application may write a key after the check found it absent and
// before the warmer's write: its value wins (SET NX), and the item is
// fulfilled as already warm.
func TestModeMissingYieldsToAWriteAfterTheCheck(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, _ *http.Request) {
		if path == "/p/2" {
			srv.Client.Set(context.Background(), "p:2", "app meanwhile", time.Minute)
		}
		fmt.Fprint(w, "origin")
	})
	cfg := loadConfig(t, "[[loader]]\nname = \"p\"\nitems = { list = [1, 2, 3] }\nkey = \"p:{{.}}\"\nmode = \"missing\"\nfetch = { url = \""+o.URL+"/p/{{.}}\" }\n", nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if rep.Fulfilled != 3 || rep.Warm != 1 {
		t.Fatalf("fulfilled %d (warm %d), want 3 (1)", rep.Fulfilled, rep.Warm)
	}
	if v := srv.Client.Get(context.Background(), "p:2").Val(); v != "app meanwhile" {
		t.Fatalf("p:2 = %q, want the application's value", v)
	}
}

// Mode "expiring" rewrites exactly the keys that are absent or have less
// than expire_below left; a key with more left, or with no expiry, is
// left alone and not fetched.
func TestModeExpiringRewritesOnlyKeysBelowTheThreshold(t *testing.T) {
	srv := redistest.Start(t)
	below := []seeded{{"p:1", "app 1", time.Minute}, {"p:2", "app 2", 9 * time.Minute}}
	above := []seeded{{"p:3", "app 3", 11 * time.Minute}, {"p:4", "app 4", 50 * time.Minute}, {"p:5", "app 5", 0}}
	seed(t, srv, append(append([]seeded{}, below...), above...))
	o := bodyOrigin(t)
	cfg := loadConfig(t, "[[loader]]\nname = \"p\"\nitems = { range = [1, 7] }\nkey = \"p:{{.}}\"\nttl = \"1h\"\nmode = \"expiring\"\nexpire_below = \"10m\"\nfetch = { url = \""+o.URL+"/p/{{.}}\" }\n", nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	checkUntouched(t, srv, above)
	if rep.Fulfilled != 7 || rep.Warm != 3 {
		t.Fatalf("fulfilled %d (warm %d), want 7 (3)", rep.Fulfilled, rep.Warm)
	}
	ctx := context.Background()
	for i := 1; i <= 7; i++ {
		rewritten := i <= 2 || i >= 6
		hits := o.count("/p/" + strconv.Itoa(i))
		if (hits == 1) != rewritten || hits > 1 {
			t.Errorf("/p/%d fetched %d times; rewritten: %v", i, hits, rewritten)
		}
		if !rewritten {
			continue
		}
		key := "p:" + strconv.Itoa(i)
		if v := srv.Client.Get(ctx, key).Val(); v != "origin "+strconv.Itoa(i) {
			t.Errorf("%s = %q, want rewritten", key, v)
		}
		if pttl := srv.Client.PTTL(ctx, key).Val(); pttl < 59*time.Minute {
			t.Errorf("%s: PTTL %v, want the loader's hour", key, pttl)
		}
	}
}

// A check begins the item's attempt: a cold key whose fetch keeps failing
// is rejected after run.retries + 1 attempts, not twice as many, and its
// retry checks again.
func TestModeCheckIsPartOfTheAttempt(t *testing.T) {
	srv := redistest.Start(t)
	o := newOrigin(t, func(_ string, _ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	cfg := loadConfig(t, "[run]\nretries = 2\nbackoff = \"1ms\"\n[[loader]]\nname = \"p\"\nitems = { list = [1, 2] }\nkey = \"p:{{.}}\"\nmode = \"missing\"\nfetch = { url = \""+o.URL+"/p/{{.}}\" }\n", nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	l := loaderReport(t, rep, "p")
	if l.Rejected != 2 {
		t.Fatalf("rejected %d, want 2", l.Rejected)
	}
	for _, r := range l.RejectedItems {
		if r.Attempts != 3 {
			t.Errorf("%s: %d attempts, want 3", r.Key, r.Attempts)
		}
	}
	if n := o.count("/p/1"); n != 3 {
		t.Errorf("/p/1 fetched %d times, want 3", n)
	}
	// The application warms p:1 meanwhile: the retry finds it warm.
	srv.Client.Set(context.Background(), "p:1", "app", time.Minute)
	eng.Retry()
	eng.Wait()
	rep = eng.Report()
	if rep.Fulfilled != 1 || rep.Warm != 1 || o.count("/p/1") != 3 {
		t.Fatalf("after the retry: fulfilled %d (warm %d), /p/1 fetched %d times; want 1 (1), 3", rep.Fulfilled, rep.Warm, o.count("/p/1"))
	}
}

// Redis killed while keys are being checked: the checks wait out the
// outage like writes (no attempt spent, retries = 0), the run completes,
// the application's keys are untouched, and a warm key is never fetched.
// Not restarted, the run stops; --retry-from finishes it the same way.
func TestModeChecksWaitOutARedisOutage(t *testing.T) {
	// Not parallel: it checks that the seeded keys' TTLs lost under a
	// minute, and under -race beside the parallel tests it took longer.
	for _, restart := range []bool{true, false} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
			var pre []seeded
			for i := 2; i <= 600; i += 2 {
				pre = append(pre, seeded{key: "m:" + strconv.Itoa(i), value: "app", ttl: time.Hour})
				pre = append(pre, seeded{key: "e:" + strconv.Itoa(i), value: "app", ttl: time.Hour})
			}
			seed(t, srv, pre)
			killed := make(chan struct{})
			var served int
			o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, _ *http.Request) {
				fmt.Fprint(w, "origin "+strings.TrimPrefix(path, "/p/"))
			})
			o.Config.Handler = wrapCount(o.Config.Handler, func() {
				if served++; served == 40 {
					srv.Kill()
					close(killed)
				}
			})
			wait := map[bool]string{true: "60s", false: "1s"}[restart]
			cfg := loadConfig(t, fmt.Sprintf(`
[run]
concurrency = 4
retries = 0
timeout = "1s"
redis_wait = %q
[[loader]]
name = "m"
items = { range = [1, 600] }
key = "m:{{.}}"
ttl = "1h"
mode = "missing"
fetch = { url = "%s/p/{{.}}" }
[[loader]]
name = "e"
items = { range = [1, 600] }
key = "e:{{.}}"
ttl = "1h"
mode = "expiring"
expire_below = "10m"
`, wait, o.URL), nil, nil)
			eng := startAgainst(t, srv, cfg, warmup.Options{})
			<-killed
			if restart {
				waitState(t, eng, warmup.StateWaiting)
				srv.Restart()
			}
			eng.Wait()
			rep := eng.Report()
			checkExact(t, eng, rep)
			if !restart {
				if rep.Stopped == "" {
					t.Fatalf("run not stopped: %+v", rep.ReportTotals)
				}
				srv.Restart()
				waitPing(t, srv)
				eng, rep = retryFrom(t, cfg, rep)
				checkExact(t, eng, rep)
			}
			if eng.ExitCode() != 0 {
				t.Fatalf("exit %d: %s", eng.ExitCode(), firstRejections(t, rep))
			}
			checkUntouched(t, srv, pre)
			// A body fetched before the run gave up is fetched again by
			// --retry-from: a report keeps items, not bodies.
			most := map[bool]int{true: 1, false: 2}[restart]
			for i := 1; i <= 600; i++ {
				hits := o.count("/p/" + strconv.Itoa(i))
				if i%2 == 0 && hits != 0 || hits > most {
					t.Errorf("/p/%d fetched %d times", i, hits)
				}
			}
			checkKeyspace(t, srv, "m:%d", 600, func(i int) string {
				if i%2 == 0 {
					return "app"
				}
				return fmt.Sprintf("origin %d", i)
			})
		})
	}
}

// wrapCount calls count (serialised) before h serves each request.
func wrapCount(h http.Handler, count func()) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count()
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Checks run at most one pipeline (redis.pipeline) ahead of a loader's
// fetches: while the origin holds every fetch, no more items are read
// than that plus the fetches, and a stop rejects no more than that as
// interrupted; the rest is not started.
func TestModeChecksRunOnePipelineAhead(t *testing.T) {
	srv := redistest.Start(t)
	release := make(chan struct{})
	o := newOrigin(t, func(_ string, _ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "origin")
	})
	cfg := loadConfig(t, "[redis]\npipeline = 10\n[run]\nconcurrency = 2\n[[loader]]\nname = \"p\"\nitems = { range = [1, 1000] }\nkey = \"p:{{.}}\"\nmode = \"missing\"\nfetch = { url = \""+o.URL+"/p/{{.}}\" }\n", nil, nil)
	eng := startAgainst(t, srv, cfg, warmup.Options{})
	deadline := time.Now().Add(10 * time.Second)
	for eng.Snapshot().Loaders[0].Read < 12 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// 2 fetching, 10 checked ahead, and the one the feeder holds.
	if read := eng.Snapshot().Loaders[0].Read; read > 13 {
		t.Errorf("%d items read while 2 fetches hang, want at most 13", read)
	}
	eng.Stop()
	close(release)
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if rep.Rejected > 11 || rep.NotStarted < 980 {
		t.Fatalf("%d rejected, %d not started; want at most 11 rejected (interrupted), the rest not started", rep.Rejected, rep.NotStarted)
	}
}
