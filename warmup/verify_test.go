package warmup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// verifyFiles is n JSONL items with a malformed line after the tenth:
// rejected at the source, never checked.
func verifyFiles(n int) map[string]string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "{\"id\":%d}\n", i)
		if i == 10 {
			b.WriteString("{broken\n")
		}
	}
	return map[string]string{"items.jsonl": b.String()}
}

const verifyTOML = `
[run]
retries = 0
[[loader]]
name = "products"
items = { file = "items.jsonl" }
key = "p:{{.id}}"
ttl = "1h"
[[loader]]
name = "pages"
items = { range = [1, 50] }
key = "r:{{.}}"
ttl = "1h"
`

// Keys changed behind the run's back between its writes and --verify
// (deleted, made persistent, replaced by another type) become rejected
// items with their reasons, moved from fulfilled so the counts stay
// true; keys as written, and items rejected by the run, are left alone;
// a Retry writes them again and the next verify pass finds them all.
func TestVerifyFindsKeysChangedBehindItsBack(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, verifyTOML, verifyFiles(2000), nil)
	ctx := context.Background()
	passes := 0
	sabotage := func() {
		passes++
		if passes > 1 {
			return
		}
		srv.Client.Del(ctx, "p:5", "p:1500", "r:7")
		srv.Client.Persist(ctx, "p:6")
		srv.Client.Del(ctx, "r:3")
		srv.Client.HSet(ctx, "r:3", "a", "b")
		srv.Client.Expire(ctx, "r:3", 3600e9)
	}
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{Verify: true, OnVerify: sabotage})
	checkExact(t, eng, rep)
	products, pages := loaderReport(t, rep, "products"), loaderReport(t, rep, "pages")
	if products.Fulfilled != 1997 || products.Rejected != 4 || pages.Fulfilled != 48 || pages.Rejected != 2 {
		t.Fatalf("products %d/%d, pages %d/%d fulfilled/rejected; want 1997/4 and 48/2",
			products.Fulfilled, products.Rejected, pages.Fulfilled, pages.Rejected)
	}
	want := map[string]string{"p:5": "missing after write", "p:1500": "missing after write", "p:6": "no TTL",
		"r:7": "missing after write", "r:3": "wrong type"}
	for _, l := range rep.Loaders {
		for _, r := range l.RejectedItems {
			if r.Stage == warmup.StageSource {
				continue
			}
			if r.Stage != warmup.StageVerify || r.Cause != want[r.Key] || r.Reason != "verify "+r.Key+": "+want[r.Key] {
				t.Errorf("rejected %s", mustJSON(t, r))
			}
			delete(want, r.Key)
		}
	}
	if len(want) != 0 {
		t.Errorf("not rejected: %v", want)
	}
	v := rep.Verify
	if v == nil || v.Checked != 2050 || v.Failed != 5 || !v.Complete || v.Evicted == nil || *v.Evicted != 0 {
		t.Fatalf("report verify %s", mustJSON(t, v))
	}
	if c := products.Verify; c == nil || c.Missing != 2 || c.NoTTL != 1 || c.Checked != 2000 {
		t.Errorf("products verify %s", mustJSON(t, c))
	}
	if eng.ExitCode() != 1 {
		t.Errorf("exit %d, want 1", eng.ExitCode())
	}
	// Metrics' counters only go up: the 3 keys verify found wrong stay
	// counted as fulfilments and count as rejections as well.
	wantCounters(t, eng, "products", 2000, 4)

	if n := eng.Retry(); n != 5 {
		t.Fatalf("retry queued %d, want the 5 verify failures (the malformed line stays rejected)", n)
	}
	eng.Wait()
	rep = eng.Report()
	checkExact(t, eng, rep)
	if passes != 2 || rep.Fulfilled != 2050 || rep.Rejected != 1 || rep.Verify.Checked != 2050 || rep.Verify.Failed != 0 {
		t.Fatalf("after retry: %d verify passes, %d fulfilled, %d rejected, verify %s", passes, rep.Fulfilled, rep.Rejected, mustJSON(t, rep.Verify))
	}
	wantCounters(t, eng, "products", 2003, 4)
	for _, k := range []string{"p:5", "p:1500", "p:6", "r:7", "r:3"} {
		if ttl := srv.Client.PTTL(ctx, k).Val(); ttl <= 0 || srv.Client.Type(ctx, k).Val() != "string" {
			t.Errorf("%s after retry: type %s, ttl %v", k, srv.Client.Type(ctx, k).Val(), ttl)
		}
	}
}

// A run stopped while it verifies (SIGTERM) ends with counts that add up:
// the keys not checked stay fulfilled, the report says the verify did not
// finish, and the run is interrupted.
func TestStopDuringVerifyLeavesCountsTrue(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, verifyTOML, verifyFiles(5000), nil)
	var eng *warmup.Engine
	stop := func() {
		srv.Client.Del(context.Background(), "p:1")
		eng.Stop()
	}
	if err := cfg.SetRedisURL(srv.URL()); err != nil {
		t.Fatal(err)
	}
	eng = newEngine(t, cfg, connect(t, cfg), warmup.Options{Verify: true, OnVerify: stop})
	eng.Start()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if rep.Verify == nil || rep.Verify.Complete || !rep.Interrupted || eng.ExitCode() != 130 {
		t.Fatalf("verify %s, interrupted %v, exit %d", mustJSON(t, rep.Verify), rep.Interrupted, eng.ExitCode())
	}
	if rep.Fulfilled+rep.Rejected != 5051 || rep.NotStarted != 0 {
		t.Fatalf("%d fulfilled + %d rejected, %d not started; want 5051 items accounted for", rep.Fulfilled, rep.Rejected, rep.NotStarted)
	}
}

// On a cluster each key is checked on the master that owns it.
func TestVerifyOnCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3, 0)
	cfg := clusterConfig(t, 3000, "")
	if err := cfg.SetRedisURL(c.URL()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sabotage := func() {
		for _, m := range c.Masters() {
			for _, k := range []string{"k:17", "{user:3}:cart"} {
				m.Client.Del(ctx, k)
			}
		}
	}
	eng, rep := runURL(t, cfg, warmup.Options{Verify: true, OnVerify: sabotage})
	checkExact(t, eng, rep)
	if rep.Verify.Checked != 3200 || rep.Verify.Failed != 2 || rep.Fulfilled != 3198 {
		t.Fatalf("verify %s, %d fulfilled", mustJSON(t, rep.Verify), rep.Fulfilled)
	}
}

// Redis gone during the verify pass: after run.redis_wait the pass gives
// up for every loader at once, the keys stay fulfilled (Redis said OK to
// each), and the run exits 1: they are not proven there.
func TestVerifyGivesUpWhenRedisIsGone(t *testing.T) {
	srv := redistest.Start(t)
	cfg := loadConfig(t, strings.Replace(verifyTOML, "[run]", "[run]\nredis_wait = \"300ms\"\nbackoff = \"10ms\"", 1), verifyFiles(3000), nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{Verify: true, OnVerify: srv.Kill})
	checkExact(t, eng, rep)
	if rep.Fulfilled != 3050 || rep.Rejected != 1 {
		t.Fatalf("%d fulfilled, %d rejected; want 3050 and the malformed line", rep.Fulfilled, rep.Rejected)
	}
	if rep.Verify == nil || rep.Verify.Complete || eng.ExitCode() != 1 {
		t.Fatalf("verify %s, exit %d; want incomplete and 1", mustJSON(t, rep.Verify), eng.ExitCode())
	}
	if c := loaderReport(t, rep, "products").Verify; c == nil || !strings.Contains(c.Note, "connection refused") {
		t.Fatalf("products verify %s", mustJSON(t, c))
	}
	if s := rep.Seconds; s > 20 {
		t.Fatalf("the run took %.1fs: the pass waited for Redis batch by batch", s)
	}
}

// Checks only read: on a sentinel-managed master they ask no replica to
// confirm anything, so a verify pass runs even when the replica is gone.
func TestVerifyOnSentinelMasterWithoutReplica(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	// timeout bounds the connection through the sentinels too, which took
	// over 1s beside the other parallel tests; a check that waited for the
	// killed replica would still fail, after half of it.
	cfg := loadConfig(t, `[run]
timeout = "5s"
redis_wait = "1s"
[[loader]]
name = "items"
items = { range = [1, 500] }
key = "k:{{.}}"
`, nil, nil)
	if err := cfg.SetRedisURL(s.URL()); err != nil {
		t.Fatal(err)
	}
	eng := newEngine(t, cfg, connect(t, cfg), warmup.Options{Verify: true, OnVerify: s.Replica.Kill})
	eng.Start()
	eng.Wait()
	rep := eng.Report()
	checkExact(t, eng, rep)
	if rep.Fulfilled != 500 || rep.Verify == nil || rep.Verify.Checked != 500 || !rep.Verify.Complete || eng.ExitCode() != 0 {
		t.Fatalf("fulfilled %d, verify %s, exit %d", rep.Fulfilled, mustJSON(t, rep.Verify), eng.ExitCode())
	}
}

// wantCounters checks a loader's counters of fulfilments and rejections.
func wantCounters(t *testing.T, eng *warmup.Engine, loader string, fulfilments, rejections int64) {
	t.Helper()
	for _, l := range eng.Counters().Loaders {
		if l.Name == loader && (l.Fulfilments != fulfilments || l.Rejections != rejections) {
			t.Errorf("%s counters: %d fulfilments, %d rejections; want %d and %d", loader, l.Fulfilments, l.Rejections, fulfilments, rejections)
		}
	}
}
