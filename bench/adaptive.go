//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Target 14, adaptive (-adaptive): an origin that buckles under the
// warm-up. It answers in adaptiveBase while at most adaptiveKnee
// requests are in flight, ten times slower while more are, and 503 at
// once while more than twice as many are. adaptiveItems items are warmed
// from it at fixed concurrencies (cachewarm's default 32, the knee 50
// that only someone who knows the origin would pick, and 200, a config
// sized for a fast origin) and with fetch.adaptive at concurrency 200,
// with cachewarm's default retries (2) and backoff. Each run is checked:
// its report adds up to the items, and Redis holds the fulfilled ones.
// Goal: adaptive has no more rejections than the best fixed run (the
// fewest rejections, then the fastest) and takes at most
// adaptiveTimeGoal × its time; and far better than c=200: at most a tenth
// of its rejections and faster.
const (
	adaptiveItems    = 20000
	adaptiveKnee     = 50
	adaptiveBase     = 10 * time.Millisecond
	adaptiveMax      = 200
	adaptiveTimeGoal = 1.10
)

// kneeOrigin is target 14's origin.
type kneeOrigin struct {
	url                        string
	srv                        *http.Server
	inflight, served, rejected atomic.Int64
	peak                       atomic.Int64
}

func startKneeOrigin() (*kneeOrigin, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &kneeOrigin{url: "http://" + l.Addr().String()}
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(l)
	return o, nil
}

func (o *kneeOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := o.inflight.Add(1)
	defer o.inflight.Add(-1)
	for p := o.peak.Load(); n > p && !o.peak.CompareAndSwap(p, n); p = o.peak.Load() {
	}
	switch {
	case n > 2*adaptiveKnee:
		o.rejected.Add(1)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
		return
	case n > adaptiveKnee:
		time.Sleep(10 * adaptiveBase)
	default:
		time.Sleep(adaptiveBase)
	}
	id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/item/"))
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	o.served.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Write(body(id))
}

// adaptiveRun is one configuration's outcome.
type adaptiveRun struct {
	label               string
	wall                time.Duration
	cpu                 time.Duration
	fulfilled, rejected int64
	origin503           int64
	peak                int64
	limit               string
}

// adaptiveTarget is target 14.
func (b *bench) adaptiveTarget(ctx context.Context) error {
	o, err := startKneeOrigin()
	if err != nil {
		return err
	}
	defer o.srv.Close()
	configs := []struct {
		label       string
		concurrency int
		adaptive    bool
	}{
		{"fixed c=32 (default)", 32, false},
		{fmt.Sprintf("fixed c=%d (the knee)", adaptiveKnee), adaptiveKnee, false},
		{fmt.Sprintf("fixed c=%d", adaptiveMax), adaptiveMax, false},
		{fmt.Sprintf("adaptive c=%d", adaptiveMax), adaptiveMax, true},
	}
	runs := map[string]adaptiveRun{}
	for _, c := range configs {
		var best adaptiveRun
		for r := 1; r <= b.opt.runs; r++ {
			run, err := b.adaptiveRun(ctx, o, c.label, c.concurrency, c.adaptive, r)
			if err != nil {
				return err
			}
			b.logf("adaptive %s run %d/%d: %.3fs (cpu %.3fs), %d fulfilled, %d rejected; origin: %d answered 503, peak %d in flight%s",
				c.label, r, b.opt.runs, run.wall.Seconds(), run.cpu.Seconds(), run.fulfilled, run.rejected, run.origin503, run.peak, run.limit)
			if r == 1 || run.wall < best.wall {
				best = run
			}
		}
		runs[c.label] = best
	}
	fixed := []adaptiveRun{runs[configs[0].label], runs[configs[1].label], runs[configs[2].label]}
	bestFixed := fixed[0]
	for _, f := range fixed[1:] {
		if f.rejected < bestFixed.rejected || f.rejected == bestFixed.rejected && f.wall < bestFixed.wall {
			bestFixed = f
		}
	}
	ad, wide := runs[configs[3].label], runs[configs[2].label]
	ratio := ad.wall.Seconds() / bestFixed.wall.Seconds()
	b.rows = append(b.rows,
		row{target: "adaptive vs best fixed (" + bestFixed.label + ")", items: adaptiveItems, baseline: bestFixed.wall, cachewarm: ad.wall, ratio: ratio,
			goal: fmt.Sprintf("rejected ≤ %d, ≤ %.2f× time", bestFixed.rejected, adaptiveTimeGoal),
			ok:   okOrMissed(ad.rejected <= bestFixed.rejected && ratio <= adaptiveTimeGoal)},
		row{target: "adaptive vs " + wide.label, items: adaptiveItems, baseline: wide.wall, cachewarm: ad.wall, ratio: ad.wall.Seconds() / wide.wall.Seconds(),
			goal: fmt.Sprintf("rejected ≤ %d, faster", wide.rejected/10),
			ok:   okOrMissed(ad.rejected <= wide.rejected/10 && ad.wall < wide.wall)})
	var parts []string
	for _, c := range configs {
		r := runs[c.label]
		parts = append(parts, fmt.Sprintf("%s %.2fs, %d rejected, %d answered 503, peak %d in flight%s", r.label, r.wall.Seconds(), r.rejected, r.origin503, r.peak, r.limit))
	}
	b.notes = append(b.notes, fmt.Sprintf("adaptive: %d items from an origin answering in %s up to %d requests in flight, 10× slower above, 503 above %d; default retries and backoff. %s.",
		adaptiveItems, adaptiveBase, adaptiveKnee, 2*adaptiveKnee, strings.Join(parts, "; ")))
	return nil
}

// adaptiveRun warms the items once with the given concurrency.
func (b *bench) adaptiveRun(ctx context.Context, o *kneeOrigin, label string, concurrency int, adaptive bool, r int) (adaptiveRun, error) {
	if err := b.flush(ctx); err != nil {
		return adaptiveRun{}, err
	}
	o.served.Store(0)
	o.rejected.Store(0)
	o.peak.Store(0)
	name := fmt.Sprintf("adaptive-%d-%v-%d", concurrency, adaptive, r)
	config := filepath.Join(b.dir, name+".toml")
	text := fmt.Sprintf("# written by go run ./bench\n[redis]\nurl = %q\n\n[run]\nconcurrency = %d\n\n[[loader]]\nname = \"items\"\nitems = { range = [1, %d] }\nkey = \"item:{{.}}\"\nttl = \"1h\"\nfetch = { url = %q, adaptive = %v }\n",
		b.srv.url("", ""), concurrency, adaptiveItems, o.url+"/item/{{.}}", adaptive)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		return adaptiveRun{}, err
	}
	reportPath := filepath.Join(b.dir, name+".json")
	p, err := b.runProc(ctx, name, nil, nil, b.bin, "--plain", "--config", config, "--report", reportPath)
	if err != nil {
		return adaptiveRun{}, err
	}
	data, err := os.ReadFile(reportPath)
	if err != nil {
		return adaptiveRun{}, fmt.Errorf("%s: %w (%s)", label, err, p.describe())
	}
	var rep struct {
		Fulfilled  int64 `json:"fulfilled"`
		Rejected   int64 `json:"rejected"`
		NotStarted int64 `json:"not_started"`
		Loaders    []struct {
			Concurrency *struct{ Limit, Max, Cuts int } `json:"concurrency"`
		} `json:"loaders"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return adaptiveRun{}, fmt.Errorf("%s: %w", reportPath, err)
	}
	want := 0
	if rep.Rejected > 0 {
		want = 1
	}
	if p.code != want || rep.Fulfilled+rep.Rejected != adaptiveItems || rep.NotStarted != 0 {
		return adaptiveRun{}, fmt.Errorf("%s: report %d fulfilled + %d rejected, %d not started, exit %d: want %d items settled, exit %d (%s)",
			label, rep.Fulfilled, rep.Rejected, rep.NotStarted, p.code, adaptiveItems, want, p.describe())
	}
	if err := b.wantDBSize(ctx, int(rep.Fulfilled)); err != nil {
		return adaptiveRun{}, fmt.Errorf("%s: %w", label, err)
	}
	run := adaptiveRun{label: label, wall: p.wall, cpu: p.cpu, fulfilled: rep.Fulfilled, rejected: rep.Rejected, origin503: o.rejected.Load(), peak: o.peak.Load()}
	if len(rep.Loaders) == 1 && rep.Loaders[0].Concurrency != nil {
		c := rep.Loaders[0].Concurrency
		run.limit = fmt.Sprintf(", limit %d/%d at the end after %d backoffs", c.Limit, c.Max, c.Cuts)
	}
	return run, nil
}
