package warmup

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a lock-free latency histogram: a bucket for each quarter
// of each power of two, from 1µs to about 19 hours. Its quantiles cost
// O(buckets), whatever the number of items.
type histogram struct {
	buckets [histBuckets]atomic.Int64
	// sum is the total of what was observed, in nanoseconds.
	sum atomic.Int64
}

const histBuckets = 4 * 36

// bucketOf is d's bucket, from the bits of d in µs: its power of two, and
// the next two bits for the quarter of that power it falls in.
func bucketOf(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us <= 1 {
		return 0
	}
	exp := bits.Len64(us) - 1
	quarter := 0
	if exp >= 2 {
		quarter = int(us>>(exp-2)) & 3
	} else {
		quarter = int(us<<(2-exp)) & 3
	}
	return min(4*exp+quarter, histBuckets-1)
}

// observe records n items that took d each.
func (h *histogram) observe(d time.Duration, n int64) {
	h.buckets[bucketOf(d)].Add(n)
	h.sum.Add(int64(d) * n)
}

// bucketTop is the upper bound of bucket i: 2^(i/4) µs × (1 + (i%4+1)/4).
func bucketTop(i int) time.Duration {
	return time.Duration(uint64(4+i%4+1)<<(i/4)) * time.Microsecond / 4
}

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
				out[qi] = bucketTop(i)
				break
			}
		}
	}
	return out
}
