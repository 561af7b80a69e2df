package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The fetch-and-write targets: fetchWriteItems items fetched at
// fetchConcurrency from the harness's origin and written to Redis, by
// cachewarm and by the least program that does the same with net/http
// and go-redis (minimalFetchClient), in interleaved pairs, once with the
// origin holding answers fetchWriteLatency and once answering at once.
const (
	fetchWriteItems   = 50000
	fetchWriteLatency = 5 * time.Millisecond
	// fetchWriteGoal bounds cachewarm's wall time, fetchCPUGoal its CPU
	// time, each against the minimal client's in the same run.
	fetchWriteGoal = 1.10
	fetchCPUGoal   = 1.15
	// fetchClientArg, as the harness's first argument, runs the minimal
	// client (in a process of its own, so that its CPU time is its own
	// and not the origin's) and nothing else.
	fetchClientArg = "-minimal-fetch-client"
)

// minimalFetchMain runs the minimal client when args ask for it: it
// returns the exit status and true, or false when they do not.
func minimalFetchMain(args []string) (int, bool) {
	if len(args) == 0 || args[0] != fetchClientArg {
		return 0, false
	}
	fs := flag.NewFlagSet(fetchClientArg, flag.ContinueOnError)
	url := fs.String("url", "", "origin URL")
	addr := fs.String("redis", "", "Redis address")
	n := fs.Int("n", fetchWriteItems, "items")
	c := fs.Int("c", fetchConcurrency, "concurrency")
	if err := fs.Parse(args[1:]); err != nil {
		return 2, true
	}
	if err := minimalFetchClient(context.Background(), *url, *addr, *n, *c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1, true
	}
	return 0, true
}

// minimalFetchClient is the baseline of the fetch-and-write targets: c
// goroutines, each taking the next of n items, GETting url/item/N with
// one net/http client (an idle connection kept per goroutine) and writing
// SET fetch:N body EX 3600 with one go-redis client (a connection per goroutine), one
// command per item. No retries, no report, no accounting: what a user
// would write in an afternoon.
func minimalFetchClient(ctx context.Context, url, addr string, n, c int) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: c})
	defer rdb.Close()
	var next atomic.Int64
	errs := make(chan error, c)
	for range c {
		go func() {
			for {
				id := next.Add(1)
				if id > int64(n) {
					errs <- nil
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/item/"+strconv.FormatInt(id, 10), nil)
				if err != nil {
					errs <- err
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("GET %s: %s", req.URL, resp.Status)
				}
				if err == nil {
					err = rdb.Set(ctx, "fetch:"+strconv.FormatInt(id, 10), body, time.Hour).Err()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var first error
	for range c {
		if err := <-errs; err != nil && first == nil {
			first = err
			next.Store(int64(n))
		}
	}
	return first
}

// fetchWriteTargets runs the fetch-and-write target with a 5 ms origin
// and with a fast one.
func (b *bench) fetchWriteTargets(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, latency := range []time.Duration{fetchWriteLatency, 0} {
		if err := b.fetchWriteTarget(ctx, self, latency); err != nil {
			return err
		}
	}
	return nil
}

// fetchWriteTarget is one fetch-and-write target: the minimal client then
// cachewarm, each into an empty database, -runs times; the rows compare
// wall and CPU time, the run's pairs' median ratios.
func (b *bench) fetchWriteTarget(ctx context.Context, self string, latency time.Duration) error {
	o, err := startOrigin(latency)
	if err != nil {
		return err
	}
	defer o.srv.Close()
	name := "fast"
	if latency > 0 {
		name = fmt.Sprintf("%dms", latency.Milliseconds())
	}
	config := filepath.Join(b.dir, "fetchwrite-"+name+".toml")
	if err := writeConfig(config, b.srv.url("", ""), fetchConcurrency, loaderConfig{
		name: "fetch", items: fmt.Sprintf("{ range = [1, %d] }", fetchWriteItems), key: "fetch:{{.}}", fetch: o.url + "/item/{{.}}",
	}); err != nil {
		return err
	}
	var walls, cpus, baseWalls, baseCPUs []time.Duration
	var rss int64
	check := func(who string, p procResult) error {
		if p.code != 0 {
			return fmt.Errorf("%s (fetch %s): want exit 0, got %s", who, name, p.describe())
		}
		if got := o.served.Load(); got != fetchWriteItems {
			return fmt.Errorf("%s (fetch %s): origin served %d requests, want %d", who, name, got, fetchWriteItems)
		}
		if err := b.wantDBSize(ctx, fetchWriteItems); err != nil {
			return fmt.Errorf("%s (fetch %s): %w", who, name, err)
		}
		return b.checkKeys(ctx, sampleIDs(fetchWriteItems, uint64(len(walls))), fetchKey("fetch"), body)
	}
	for r := 1; r <= b.opt.runs; r++ {
		if err := b.flush(ctx); err != nil {
			return err
		}
		o.reset()
		base, err := b.runProc(ctx, fmt.Sprintf("fetchwrite-%s-minimal-%d", name, r), nil, nil, self, fetchClientArg,
			"-url", o.url, "-redis", b.srv.addr(), "-n", strconv.Itoa(fetchWriteItems), "-c", strconv.Itoa(fetchConcurrency))
		if err != nil {
			return err
		}
		if err := check("minimal net/http + go-redis client", base); err != nil {
			return err
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		o.reset()
		p, err := b.runProc(ctx, fmt.Sprintf("fetchwrite-%s-%d", name, r), nil, nil, b.bin, "--plain", "--config", config)
		if err != nil {
			return err
		}
		if err := check("cachewarm", p); err != nil {
			return err
		}
		walls, cpus = append(walls, p.wall), append(cpus, p.cpu)
		baseWalls, baseCPUs = append(baseWalls, base.wall), append(baseCPUs, base.cpu)
		rss = max(rss, p.rssKB)
		b.logf("fetch %s run %d/%d: minimal client %.3fs (CPU %.2fs), cachewarm %.3fs (CPU %.2fs)",
			name, r, b.opt.runs, base.wall.Seconds(), base.cpu.Seconds(), p.wall.Seconds(), p.cpu.Seconds())
	}
	wall, cpu := pairedRatio(baseWalls, walls), pairedRatio(baseCPUs, cpus)
	b.rows = append(b.rows,
		row{target: fmt.Sprintf("fetch+write %s c=%d", name, fetchConcurrency), items: fetchWriteItems, baseline: best(baseWalls), cachewarm: best(walls), rssKB: rss,
			ratio: wall, goal: fmt.Sprintf("≤ %.2f× minimal client", fetchWriteGoal), ok: okOrMissed(wall <= fetchWriteGoal)},
		row{target: fmt.Sprintf("fetch+write %s c=%d, CPU s", name, fetchConcurrency), baseline: best(baseCPUs), cachewarm: best(cpus),
			ratio: cpu, goal: fmt.Sprintf("CPU ≤ %.2f× minimal client", fetchCPUGoal), ok: okOrMissed(cpu <= fetchCPUGoal)})
	b.notes = append(b.notes, fmt.Sprintf("fetch+write %s: the baseline is a minimal net/http + go-redis program (one SET per item, a connection per goroutine) run by the harness as a process of its own; ratios of each run: wall %s, CPU %s.",
		name, ratios(baseWalls, walls), ratios(baseCPUs, cpus)))
	return nil
}
