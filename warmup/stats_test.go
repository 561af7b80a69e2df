package warmup

import (
	"testing"
	"time"
)

// A quantile is the top of its bucket: never below the latencies it
// stands for, and at most a quarter of a power of two above them.
func TestHistogramQuantiles(t *testing.T) {
	for _, d := range []time.Duration{
		500 * time.Nanosecond, 2 * time.Microsecond, 3 * time.Microsecond, 7 * time.Microsecond,
		250 * time.Microsecond, 999 * time.Microsecond, 12 * time.Millisecond, 1500 * time.Millisecond, 40 * time.Second,
	} {
		var h histogram
		h.observe(d, 10)
		got := h.quantiles(0.5)[0]
		if got < d || (d > 4*time.Microsecond && float64(got) > 1.26*float64(d)) {
			t.Errorf("p50 of %v = %v", d, got)
		}
	}
	var h histogram
	h.observe(time.Millisecond, 95)
	h.observe(time.Second, 5)
	q := h.quantiles(0.5, 0.95, 0.99)
	if q[0] > 2*time.Millisecond || q[1] > 2*time.Millisecond || q[2] < time.Second {
		t.Errorf("p50 %v, p95 %v, p99 %v", q[0], q[1], q[2])
	}
}

// The exported histogram is cumulative under power-of-two bounds, and
// counts what is past the last bound in Count only.
func TestHistogramExport(t *testing.T) {
	var h histogram
	h.observe(300*time.Microsecond, 1)
	h.observe(time.Millisecond, 2)
	h.observe(200*time.Second, 1)
	e := h.export()
	at := func(bound float64) uint64 {
		for i, b := range e.UpperBounds {
			if b == bound {
				return e.Cumulative[i]
			}
		}
		t.Fatalf("no bound %v in %v", bound, e.UpperBounds)
		return 0
	}
	if at(0.000256) != 0 || at(0.000512) != 1 || at(0.001024) != 3 || at(134.217728) != 3 || e.Count != 4 {
		t.Fatalf("export %+v", e)
	}
	if want := 200.0023; e.Sum < want-1e-6 || e.Sum > want+1e-6 {
		t.Fatalf("sum %v, want %v", e.Sum, want)
	}
}
