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
