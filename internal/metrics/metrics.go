// Package metrics exposes a run's figures to Prometheus: served on
// /metrics while the run goes on (--metrics-addr), and pushed to a
// Pushgateway once it ends (--pushgateway), the convention for batch jobs.
//
// Nothing is instrumented per item: a Collector reads the engine's
// Snapshot and Counters when it is scraped, so a scrape costs
// O(loaders × buckets) and its numbers are read at one instant (the
// ledger's counts add up within a scrape). Label values are bounded: one
// per loader, and at most the 10 most frequent causes per loader.
package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachewarm/cachewarm/warmup"
)

// Source is what the metrics read: a running engine.
type Source interface {
	Snapshot() warmup.Snapshot
	Counters() warmup.Counters
}

// states are the values of cachewarm_run_state's state label, each
// exported (1 for the current one, 0 for the others) so that a query
// need not know which exist.
var states = []warmup.State{warmup.StateRunning, warmup.StateRetrying, warmup.StateWaiting, warmup.StateStopping, warmup.StateDone}

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src Source

	items, itemsTotal, rejectedByCause, attempts *prometheus.Desc
	fetchSeconds, writeSeconds                   *prometheus.Desc
	redisWaiting, redisWaited                    *prometheus.Desc
	state, elapsed                               *prometheus.Desc
}

// NewCollector returns a Collector reading src at each scrape.
func NewCollector(src Source) *Collector {
	loader := []string{"loader"}
	return &Collector{
		src: src,
		items: prometheus.NewDesc("cachewarm_items",
			"Items by loader and state now: fulfilled, rejected (rejected and not retried since), in_flight (read, not settled), not_started (a stopped source's rest, when known).",
			[]string{"loader", "state"}, nil),
		itemsTotal: prometheus.NewDesc("cachewarm_items_total",
			"Items settled by loader and outcome; a rejected item that a retry settles again counts again.",
			[]string{"loader", "outcome"}, nil),
		rejectedByCause: prometheus.NewDesc("cachewarm_rejected_items",
			"Items rejected now, by loader, cause and stage (the 10 most frequent causes of each loader).",
			[]string{"loader", "cause", "stage"}, nil),
		attempts: prometheus.NewDesc("cachewarm_attempts_total",
			"Attempts started (fetches, or writes of items that fetch nothing), retries included.", loader, nil),
		fetchSeconds: prometheus.NewDesc("cachewarm_fetch_duration_seconds",
			"Duration of each fetch, whatever its outcome.", loader, nil),
		writeSeconds: prometheus.NewDesc("cachewarm_write_duration_seconds",
			"Duration of each write's pipeline, from sending it to its reply.", loader, nil),
		redisWaiting: prometheus.NewDesc("cachewarm_redis_waiting_seconds",
			"How long Redis has been unavailable, 0 while it answers.", nil, nil),
		redisWaited: prometheus.NewDesc("cachewarm_redis_waited_seconds_total",
			"How long the run has waited for an unavailable Redis, in all.", nil, nil),
		state: prometheus.NewDesc("cachewarm_run_state",
			"1 for the state the run is in, 0 for the others.", []string{"state"}, nil),
		elapsed: prometheus.NewDesc("cachewarm_run_elapsed_seconds",
			"Time the run has been working (idle time between a finished run and a retry not counted).", nil, nil),
	}
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.items, c.itemsTotal, c.rejectedByCause, c.attempts, c.fetchSeconds, c.writeSeconds, c.redisWaiting, c.redisWaited, c.state, c.elapsed} {
		ch <- d
	}
}

// Collect reads the source once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.src.Snapshot()
	counters := c.src.Counters()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, l := range snap.Loaders {
		gauge(c.items, float64(l.Fulfilled), l.Name, "fulfilled")
		gauge(c.items, float64(l.Rejected), l.Name, "rejected")
		// Read and not settled, as documented: the items waiting for
		// the loader's rate (Queued) with those whose attempt started.
		gauge(c.items, float64(l.InFlight+l.Queued), l.Name, "in_flight")
		if l.NotStarted >= 0 {
			gauge(c.items, float64(l.NotStarted), l.Name, "not_started")
		}
		for _, cc := range l.Causes {
			gauge(c.rejectedByCause, float64(cc.Count), l.Name, cc.Cause, string(cc.Stage))
		}
	}
	for _, l := range counters.Loaders {
		counter(c.itemsTotal, float64(l.Fulfilments), l.Name, "fulfilled")
		counter(c.itemsTotal, float64(l.Rejections), l.Name, "rejected")
		counter(c.attempts, float64(l.Attempts), l.Name)
		ch <- histogram(c.fetchSeconds, l.Fetch, l.Name)
		ch <- histogram(c.writeSeconds, l.Write, l.Name)
	}
	gauge(c.redisWaiting, snap.RedisDown.Seconds())
	counter(c.redisWaited, counters.RedisWaited.Seconds())
	for _, s := range states {
		v := 0.0
		if s == snap.State {
			v = 1
		}
		gauge(c.state, v, stateLabel(s))
	}
	gauge(c.elapsed, snap.Elapsed.Seconds())
}

func histogram(d *prometheus.Desc, h warmup.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.UpperBounds))
	for i, b := range h.UpperBounds {
		buckets[b] = h.Cumulative[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets, labels...)
}

// stateLabel is a State as a label value: "waiting for Redis" reads
// waiting_for_redis.
func stateLabel(s warmup.State) string {
	return strings.ReplaceAll(strings.ToLower(string(s)), " ", "_")
}

// Registry is a registry holding only a Collector over src: what is
// pushed at the end of a run (a batch job's figures, not the process's).
func Registry(src Source) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src))
	return reg
}
