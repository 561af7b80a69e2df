package warmup_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// memoryTOML writes 200,000 keys of about 400 bytes: some 100 MB, more
// than the test servers' maxmemory.
const memoryTOML = `
[run]
retries = 0
[[loader]]
name = "big"
items = { range = [1, 200000] }
key = "big:{{.}}"
value = "{{.}}-` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"
`

// A run that would fill a noeviction Redis stops before Redis starts
// refusing writes, instead of collecting an OOM rejection for every item
// left: the report says why, the keys written are all there, and the
// rest is not started, for --retry-from once memory is freed.
func TestRunStopsBeforeANoevictionRedisIsFull(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "32mb", "--maxmemory-policy", "noeviction")
	cfg := loadConfig(t, memoryTOML, nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	if !strings.Contains(rep.Stopped, "nearly full") || !strings.Contains(rep.Stopped, "(noeviction)") {
		t.Fatalf("stopped %q, want the memory stop", rep.Stopped)
	}
	big := loaderReport(t, rep, "big")
	oom := 0
	for _, r := range big.RejectedItems {
		if strings.Contains(r.Reason, "OOM") {
			oom++
		}
	}
	if oom != 0 || big.Fulfilled == 0 || big.NotStarted <= 0 || big.Fulfilled+big.Rejected+big.NotStarted != 200000 {
		t.Fatalf("%d fulfilled, %d rejected (%d OOM), %d not started; want some fulfilled, no OOM, the rest not started",
			big.Fulfilled, big.Rejected, oom, big.NotStarted)
	}
	if n := int64(len(srv.Keys("big:*"))); n != big.Fulfilled {
		t.Fatalf("%d keys in Redis, %d fulfilled", n, big.Fulfilled)
	}
	if eng.ExitCode() != 1 {
		t.Fatalf("exit code %d, want 1", eng.ExitCode())
	}
}

// Under allkeys-lru the run goes on (Redis makes room), and the report
// says how many keys Redis evicted meanwhile: warmed keys that are cold
// again.
func TestRunCountsEvictionsUnderAnEvictingPolicy(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--maxmemory", "32mb", "--maxmemory-policy", "allkeys-lru")
	cfg := loadConfig(t, memoryTOML, nil, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	if rep.Stopped != "" || rep.Fulfilled != 200000 {
		t.Fatalf("stopped %q, %d fulfilled; want a whole run", rep.Stopped, rep.Fulfilled)
	}
	info := srv.Client.Info(context.Background(), "stats").Val()
	_, after, _ := strings.Cut(info, "evicted_keys:")
	evicted, _ := strconv.ParseInt(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]), 10, 64)
	if evicted == 0 {
		t.Fatal("Redis evicted nothing: the test does not fill it")
	}
	// Redis goes on evicting as later commands (this INFO among them)
	// find it over maxmemory: the run's count is the bulk of Redis's.
	if rep.Evicted == nil || *rep.Evicted > evicted || *rep.Evicted < evicted*99/100 || rep.EvictionPolicy != "allkeys-lru" {
		t.Fatalf("report evicted %s (%q), Redis says %d", mustJSON(t, rep.Evicted), rep.EvictionPolicy, evicted)
	}
}

// A noeviction Redis that is full already takes no write: the run stops
// before reading an item, every one of them not started.
func TestRunIntoAFullRedisStartsNothing(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
	cfg := loadConfig(t, memoryTOML, nil, nil)
	eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
	checkExact(t, eng, rep)
	big := loaderReport(t, rep, "big")
	if !strings.Contains(rep.Stopped, "nearly full") || big.Fulfilled != 0 || big.Rejected != 0 || big.NotStarted != 200000 || big.Error != "" {
		t.Fatalf("stopped %q; %d fulfilled, %d rejected, %d not started, error %q; want all 200000 not started",
			rep.Stopped, big.Fulfilled, big.Rejected, big.NotStarted, big.Error)
	}
}
