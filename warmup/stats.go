package warmup

import (
	"math"
	"sync/atomic"
	"time"
)

// histogram is a lock-free latency histogram with log-scale buckets
// (4 per power of two, from 1µs to about 19 hours). Its quantiles cost
// O(buckets), whatever the number of items.
type histogram struct {
	buckets [histBuckets]atomic.Int64
}

const histBuckets = 4 * 36

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	b := int(math.Log2(us) * 4)
	return min(b, histBuckets-1)
}

// observe records n items that took d each.
func (h *histogram) observe(d time.Duration, n int64) { h.buckets[bucketOf(d)].Add(n) }

// quantiles returns the q-quantiles (0..1) of what was observed, as the
// upper bounds of their buckets.
func (h *histogram) quantiles(qs ...float64) []time.Duration {
	var counts [histBuckets]int64
	var total int64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	out := make([]time.Duration, len(qs))
	if total == 0 {
		return out
	}
	for qi, q := range qs {
		want := int64(math.Ceil(q * float64(total)))
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= want && c > 0 {
				out[qi] = time.Duration(math.Exp2(float64(i+1)/4) * float64(time.Microsecond))
				break
			}
		}
	}
	return out
}
