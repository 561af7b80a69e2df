package headless

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup"
)

// --plain says over what window a loader's keys will expire when it has a
// ttl_jitter, and nothing about a loader whose keys share one TTL.
func TestPlainShowsTheTTLSpread(t *testing.T) {
	var errw bytes.Buffer
	rep := &warmup.Report{Loaders: []warmup.LoaderReport{
		{LoaderTotals: warmup.LoaderTotals{Name: "products", Fulfilled: 10, TTL: &warmup.TTLRange{MinMs: 3240000, MaxMs: 3960000}}},
		{LoaderTotals: warmup.LoaderTotals{Name: "pages", Fulfilled: 10, TTL: &warmup.TTLRange{MinMs: 3600000, MaxMs: 3600000}}},
	}}
	NewPlain(&bytes.Buffer{}, &errw).Final(rep)
	want := "products: ttl 54m–1h6m: the keys written expire over 12m0s, not all at once\n"
	if !strings.Contains(errw.String(), want) || strings.Contains(errw.String(), "pages: ttl") {
		t.Fatalf("stderr:\n%s\nwant the line %q and none for pages", errw.String(), want)
	}
}

// --plain says how many keys Redis evicted during the run, under an
// evicting policy: warmed keys among them are cold again.
func TestPlainSaysWhatRedisEvicted(t *testing.T) {
	var errw bytes.Buffer
	n := int64(1234)
	rep := &warmup.Report{ReportTotals: warmup.ReportTotals{Evicted: &n, EvictionPolicy: "allkeys-lru"}}
	NewPlain(&bytes.Buffer{}, &errw).Final(rep)
	want := "cachewarm: Redis evicted 1234 keys during the run (maxmemory-policy allkeys-lru): warmed keys among them are cold again; --verify finds which\n"
	if !strings.Contains(errw.String(), want) {
		t.Fatalf("stderr:\n%s\nwant the line %q", errw.String(), want)
	}
}
