package warmup

import "time"

// Counters are what a metrics exporter reads beside a Snapshot: counts
// that only go up, and latency histograms. Reading them costs
// O(loaders × buckets), never O(items), and changes nothing.
type Counters struct {
	// RedisWaited is how long the run has waited for an unavailable
	// Redis, in all (the current wait included).
	RedisWaited time.Duration
	Loaders     []LoaderCounters
}

// LoaderCounters are one loader's Counters.
type LoaderCounters struct {
	Name string
	// Attempts counts the attempts started (fetches, or writes of items
	// that fetch nothing), retries included.
	Attempts int64
	// Fulfilments counts the items this run fulfilled, each time, those
	// a verify pass found wrong afterwards included. (The Snapshot's
	// Fulfilled is the ledger, which such items leave.)
	Fulfilments int64
	// Rejections counts the items this run rejected, each time: an item
	// rejected, retried and rejected again counts twice, and a verify
	// pass's findings count too. (The Snapshot's Rejected is the ledger:
	// the items rejected now.)
	Rejections int64
	// Fetch times every fetch, whatever its outcome; Write every write
	// reply, from its pipeline being sent.
	Fetch, Write Histogram
}

// Histogram is a latency histogram as Prometheus reads one: cumulative
// counts under ascending upper bounds, in seconds.
type Histogram struct {
	UpperBounds []float64
	// Cumulative[i] counts the observations below UpperBounds[i].
	Cumulative []uint64
	Count      uint64
	// Sum is the total of the observations, in seconds.
	Sum float64
}

// Counters reads the counters.
func (e *Engine) Counters() Counters {
	c := Counters{RedisWaited: e.gate.waitedFor(), Loaders: make([]LoaderCounters, len(e.loaders))}
	for i, lr := range e.loaders {
		lr.mu.Lock()
		fulfilments := lr.fulfilled + lr.demoted
		lr.mu.Unlock()
		c.Loaders[i] = LoaderCounters{
			Name:        lr.cfg.Name,
			Attempts:    lr.attempts.Load(),
			Fulfilments: fulfilments,
			Rejections:  lr.rejectedTotal.Load(),
			Fetch:       lr.fetchHist.export(),
			Write:       lr.writeHist.export(),
		}
	}
	return c
}

// Exported bounds: every power of two of microseconds from 256 µs to
// about 134 s (buckets 4·exp+3 end exactly there), enough to tell a
// cache-speed write from a slow origin without hundreds of series.
const (
	exportFirstExp = 7
	exportLastExp  = 26
)

// export reads h as cumulative counts under the exported bounds; every
// observation counts in Count, those past the last bound only there.
func (h *histogram) export() Histogram {
	out := Histogram{
		UpperBounds: make([]float64, 0, exportLastExp-exportFirstExp+1),
		Cumulative:  make([]uint64, 0, exportLastExp-exportFirstExp+1),
		Sum:         time.Duration(h.sum.Load()).Seconds(),
	}
	var seen uint64
	for i := range h.buckets {
		seen += uint64(max(h.buckets[i].Load(), 0))
		if exp := i / 4; i%4 == 3 && exp >= exportFirstExp && exp <= exportLastExp {
			out.UpperBounds = append(out.UpperBounds, bucketTop(i).Seconds())
			out.Cumulative = append(out.Cumulative, seen)
		}
	}
	out.Count = seen
	return out
}
