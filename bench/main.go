//go:build linux

// Command bench is cachewarm's benchmark harness: it measures the cachewarm
// binary of this checkout against a real redis-server on this machine and
// prints one markdown table, ready to paste into the README.
//
// Run it from anywhere inside the repository:
//
//	go run ./bench                                  # 10k, 100k and 1M items, every target
//	go run ./bench -sizes 10000,100000 -runs 3      # quicker, best of 3
//	go run ./bench -sizes 100000 -fetch=false -tui=false -retry=false -memory=false
//
// It runs on Linux only (rusage, /proc, pseudo-terminals) and needs
// redis-server and redis-cli on PATH. It builds the binary (go build -o
// TMP/cachewarm . at the module root), generates its data in a temporary directory (streamed to disk, never held
// in memory), starts its own redis-server on a free loopback port (--save ""
// --appendonly no, its own --dir) and stops it at the end, on error and on
// Ctrl-C. The targets:
//
//  1. bulk, per -sizes: redis-cli --pipe of the equivalent RESP file
//     (*5 SET item:N <line> EX 3600) is the baseline; then cachewarm --plain
//     loads the JSONL file (one ~100-byte object a line, key "item:{{.id}}",
//     ttl "1h") with a config that has no [run] table and no [redis]
//     pipeline: cachewarm's default settings. Both are timed wall-clock,
//     the peak RSS of cachewarm is read from its rusage, and each run is
//     checked: DBSIZE == N, and for 200 random ids GET equals the JSONL
//     line and TTL is in (3500, 3600]. Goal, at 1M items: at most
//     -bulk-goal times the baseline (1.2; the project aims at 1.1, and the
//     ok column says when a met goal missed that aim), and peak RSS at
//     most 64 MB.
//  2. fetch: 20,000 items (range [1, 20000]) each fetched from an in-process
//     HTTP origin answering after 20 ms, at concurrency 200. In every run a
//     plain net/http client in the harness first fetches the same items at
//     the same concurrency, writing nothing; it is the baseline, and the
//     goal is at most 1.05 × that. The ideal (20,000 × 20 ms ÷ 200 = 2.0 s)
//     is in the notes.
//  3. tui: the bulk run at the largest size ≤ 1,000,000 on a
//     pseudo-terminal (120×40, TERM=xterm-256color; opened by the harness
//     itself, so no wrapper such as script(1) or tmux is timed with it)
//     without --plain but with --exit-when-done, against a headless run made
//     just before it. Goal: at most 1.05 × headless. Every item must be in
//     Redis and the exit code must be 0. Then the same run without
//     --exit-when-done, left open once done: over 10 s its threads may be
//     woken at most 5 times a second and use under 0.2% of a core (the
//     row says MET or MISSED).
//  4. retry, at the largest size: an ACL user that may only SET keys
//     matching ~item:*[1-9] and ~item:*[1-9]0 makes exactly 1% of the keys
//     (those ending in "00") fail with NOPERM. The first run must exit 1 with
//     N/100 rejected in its --report, and the extra peak RSS over the
//     all-fulfilled bulk run of the same size must stay under 1 KiB per
//     rejected item (rejections must be cheap; fulfilled items cost
//     nothing). Then the user gets ~* and --retry-from the report must exit
//     0 with N/100 fulfilled, 0 rejected and DBSIZE == N; goal: the retry
//     takes at most 0.10 × the first run.
//  5. scaling: the bulk rows show items/s and µs/item at every size; a
//     scaling row compares µs/item with the next smaller size (goal ≤ 1.20:
//     the cost of an item must not grow with the run).
//
// With -memory (the default), five memory targets follow (6, 7, 8, 12, 13); they do not
// depend on -sizes. Their cachewarm runs are watched: one passing 1024 MB
// of RSS is killed and the target fails.
//
//  6. 50 loaders: 50 fetch loaders of 20,000 items each (1,000,000 in
//     all) at [run] concurrency = 2000 against the harness's origin
//     holding answers 5 ms. Exit 0, the origin served 1,000,000 requests,
//     DBSIZE == 1,000,000, sampled values, and a report with every loader
//     at 20,000 fulfilled, 0 rejected, 0 not started. Goal: peak RSS at most
//     256 MB; the time is recorded.
//
//  7. retry memory: the 1M-line JSONL file with default settings and an
//     ACL user that may only SET keys matching ~item:*[1-9], so the keys
//     ending in 0 (100,000) fail with NOPERM: exit 1 and a report listing
//     exactly them. Then the user gets ~* and --retry-from that report
//     must exit 0 with 100,000 fulfilled and every key in place. Goal: the
//     retry's peak RSS at most the first run's, in every run.
//
//  8. big body: one fetched item whose origin streams 2 GB, chunked, in
//     flushed 64 KiB writes (never held in memory), with the default
//     run.max_body (64 MiB). Exit 1, the item rejected at the fetch stage
//     with "body larger than 64 MiB", DBSIZE == 0. Goal: peak RSS at most
//     100 MB.
//
//  12. sitemap: a local sitemap of two URLs with 600 MiB (-sitemap-mib)
//     of whitespace between them, no fetch. Exit 0, both keys written, a
//     report with both fulfilled. Goal: peak RSS at most 64 MB.
//
//  9. cluster, at the largest size ≤ 1M: the bulk JSONL file into a
//     Redis Cluster of 3 masters on loopback, cachewarm pointed at one
//     node (it finds the others), against three redis-cli --pipe
//     processes started together, each fed exactly the SETs of the keys
//     its master owns (split by the keys' hash slots), and against a bare
//     go-redis ClusterClient pipeline program in the harness (bench/cluster.go).
//     Every key checked on the cluster (count, sampled values and TTLs).
//     Goals: at most 1.1 × go-redis alone's wall time, and client CPU at
//     most 1.3 × its CPU, in the same run; the three pipes' wall time is
//     in the table for information.
//
//  10. postgres, at the largest size ≤ 1M: that many rows of a PostgreSQL
//     table (started by the harness on loopback, as internal/pgtest does)
//     read by a SQL loader, against the same items from a JSONL file (each
//     row's JSON is its line). Both checked (DBSIZE, sampled values). Goal:
//     peak RSS at most 64 MB; the times are recorded.
//
//  11. verify, at the largest size ≤ 1M: the bulk run with --verify
//     --report. The report's verify.seconds (the pass that reads every key
//     back) is set against the rest of the run's seconds (writing them), in
//     the same run. Exit 0, every key checked, none found wrong, DBSIZE ==
//     N and sampled values. Goal: verify ≤ 0.5 × write.
//
//  14. adaptive: an origin that buckles above 50 requests in flight, warmed at
//     fixed concurrencies and with fetch.adaptive; see bench/adaptive.go.
//
//  14. hash (bench/hash.go) and fetch+write (bench/fetchclient.go): see
//     their files.
//
// The goals of targets 1, 2, 3, 6, 7, 8, 9, 10, 11 and 12 come from the project; those
// of targets 4 and 5 are this harness's own readings of "small" and
// "linear".
//
// Times in the table are the best of -runs runs (the machine is shared;
// the best run is the least disturbed one); the medians are printed under
// the table when -runs > 1. Peak RSS is the largest seen over the runs.
// A child's rusage peak on Linux includes its parent's at the moment it
// starts, so before every run the harness resets its own peak to what it
// holds (see resetPeakRSS).
//
// -concurrency C writes [run] concurrency = C into the bulk, tui and
// retry configs (the bulk row is then named "bulk (c=C)"), for trials;
// by default they have no [run] table.
//
// The exit status is 1 when a check fails (wrong exit code, DBSIZE, value,
// TTL or report) or a step cannot run, 2 on bad flags, and 0 otherwise: a
// missed speed or memory goal is not a failure, its ok column says MISSED.
//
// Flags:
//
//	-sizes 10000,100000,1000000  bulk sizes; retry runs at the largest, tui at the largest ≤ 1M
//	-runs 1                      runs of every measurement (best time, max RSS)
//	-concurrency 0               [run] concurrency of the bulk, tui and retry runs; 0: no [run] table
//	-bulk-goal 1.2               bulk goal: cachewarm ≤ this × redis-cli --pipe
//	-fetch=true                  run the fetch-bound target
//	-tui=true                    run the TUI overhead target
//	-retry=true                  run the retry target
//	-memory=true                 run the memory targets (6, 7, 8, 12 and 13)
//	-memory-targets loaders,retry,body,sitemap,sqlrow   which of them (6, 7, 8, 12, 13)
//	-sitemap-mib 600             MiB of whitespace in target 12's sitemap
//	-cluster=true                run the cluster target (9)
//	-postgres=true               run the PostgreSQL target (10)
//	-verify=true                 run the --verify target (11)
//	-values=true                 run the value targets (bench/values.go)
//	-bulk=true                   run the bulk target (false: only the others)
//	-adaptive=true               run the adaptive target (14)
//	-keep=false                  keep the temporary directory (data, configs, logs, reports)
//	-cpuprofile-size N           after the bulk runs of size N, run once more (untimed) with
//	                             --cpuprofile; the profile is written to $TMPDIR and kept
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fixed parameters of the data and of the targets.
const (
	// lineLen is the length of a JSONL line without its newline.
	lineLen = 100
	// ttlSeconds is the TTL every key gets ("1h").
	ttlSeconds = 3600
	// minTTL is the exclusive lower bound a checked key's TTL must exceed.
	minTTL = 3500
	// sampleSize is how many random keys a check reads back.
	sampleSize = 200

	// bulkTargetSize is the size target 1 is set at; bulkAim is the ratio
	// the project aims at below its -bulk-goal, and bulkRSSGoalMB the
	// peak RSS allowed.
	bulkTargetSize   = 1000000
	bulkAim          = 1.10
	bulkRSSGoalMB    = 64
	fetchItems       = 20000
	fetchConcurrency = 200
	fetchLatency     = 20 * time.Millisecond
	fetchGoal        = 1.05
	tuiGoal          = 1.05
	tuiMaxSize       = 1000000
	tuiCols, tuiRows = 120, 40
	retryBytesGoal   = 1024
	retryTimeGoal    = 0.10
	scalingGoal      = 1.20

	aclUser = "cachewarm-bench"
	aclPass = "bench-secret"
)

func main() {
	if code, ok := minimalFetchMain(os.Args[1:]); ok {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command-line flags.
type options struct {
	sizes          []int
	runs           int
	concurrency    int
	bulkGoal       float64
	fetch          bool
	tui            bool
	retry          bool
	memory         bool
	memoryTargets  map[string]bool
	sitemapMiB     int
	cluster        bool
	postgres       bool
	verify         bool
	values         bool
	bulkRuns       bool
	adaptive       bool
	hash           bool
	fetchWrite     bool
	keep           bool
	cpuprofileSize int
}

// parseOptions reads the flags in args.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "10000,100000,1000000", "comma-separated bulk `sizes` (items); retry runs at the largest, tui at the largest ≤ 1000000")
	fs.IntVar(&o.runs, "runs", 1, "runs of every measurement; the table shows the best time and the largest RSS")
	fs.IntVar(&o.concurrency, "concurrency", 0, "[run] concurrency of the bulk, tui and retry runs; 0 writes no [run] table (cachewarm's defaults)")
	fs.Float64Var(&o.bulkGoal, "bulk-goal", 1.2, "bulk goal: cachewarm wall time ≤ this × redis-cli --pipe")
	fs.BoolVar(&o.fetch, "fetch", true, "run the fetch-bound target (20,000 items, 20 ms origin, concurrency 200)")
	fs.BoolVar(&o.tui, "tui", true, "run the TUI overhead target under a pseudo-terminal")
	fs.BoolVar(&o.retry, "retry", true, "run the retry target (1% NOPERM, then --retry-from)")
	fs.BoolVar(&o.memory, "memory", true, "run the memory targets (50 loaders at concurrency 2000, --retry-from 100k rejections, a 2 GB body)")
	memTargets := fs.String("memory-targets", strings.Join(memoryTargetNames, ","), "comma-separated memory `targets` -memory runs: "+strings.Join(memoryTargetNames, ", "))
	fs.IntVar(&o.sitemapMiB, "sitemap-mib", 600, "MiB of whitespace between the two URLs of the sitemap memory target")
	fs.BoolVar(&o.cluster, "cluster", true, "run the cluster target (3 masters against three redis-cli --pipe, one per master)")
	fs.BoolVar(&o.postgres, "postgres", true, "run the PostgreSQL target (1M rows from a query against the same items from a JSONL file)")
	fs.BoolVar(&o.verify, "verify", true, "run the --verify target (reading every key back ≤ 0.5× the time of writing them)")
	fs.BoolVar(&o.values, "values", true, "run the value targets (a value template against none; PostgreSQL and SQLite with and without one against their CLIs | awk | redis-cli --pipe)")
	fs.BoolVar(&o.bulkRuns, "bulk", true, "run the bulk target at every -sizes (false: the other targets only)")
	fs.BoolVar(&o.adaptive, "adaptive", true, "run the adaptive target (an origin that buckles above 50 requests in flight, fixed concurrencies against fetch.adaptive)")
	fs.BoolVar(&o.hash, "hash", true, "run the hash target (type = \"hash\" against a pipe of HSET + EXPIRE)")
	fs.BoolVar(&o.fetchWrite, "fetch-write", true, "run the fetch-and-write targets (50,000 items, 5 ms and fast origins, against a minimal net/http + go-redis client)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory and print its path")
	fs.IntVar(&o.cpuprofileSize, "cpuprofile-size", 0, "at this bulk `size`, run cachewarm once more with --cpuprofile and print the profile's path")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench [flags]\n\nMeasures cachewarm against redis-cli --pipe and prints a markdown table.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(*sizes, ",") {
		s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return o, fmt.Errorf("-sizes: %q is not a positive number of items", s)
		}
		o.sizes = append(o.sizes, n)
	}
	if len(o.sizes) == 0 {
		return o, errors.New("-sizes: no size given")
	}
	slices.Sort(o.sizes)
	o.sizes = slices.Compact(o.sizes)
	o.memoryTargets = map[string]bool{}
	for _, t := range strings.Split(*memTargets, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !slices.Contains(memoryTargetNames, t) {
			return o, fmt.Errorf("-memory-targets: unknown target %q (use %s)", t, strings.Join(memoryTargetNames, ", "))
		}
		o.memoryTargets[t] = true
	}
	if o.sitemapMiB < 1 {
		return o, errors.New("-sitemap-mib must be at least 1")
	}
	if o.runs < 1 {
		return o, errors.New("-runs must be at least 1")
	}
	if o.concurrency < 0 {
		return o, errors.New("-concurrency must be 0 (no [run] table) or more")
	}
	if o.cpuprofileSize != 0 && !slices.Contains(o.sizes, o.cpuprofileSize) {
		return o, fmt.Errorf("-cpuprofile-size %d is not one of -sizes", o.cpuprofileSize)
	}
	return o, nil
}

// run is the whole harness; it returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	opt, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	b := &bench{opt: opt, log: stderr, bulk: map[int]*bulkResult{}}
	err = b.main(ctx)
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "bench: interrupted\n")
		return 130
	}
	if err != nil {
		b.failures = append(b.failures, err.Error())
	}
	if b.machine != "" {
		fmt.Fprintln(stdout, b.machine)
		fmt.Fprintln(stdout)
	}
	if len(b.rows) > 0 {
		printTable(stdout, b.rows)
	}
	if len(b.notes) > 0 {
		fmt.Fprintln(stdout)
		for _, n := range b.notes {
			fmt.Fprintln(stdout, n)
		}
	}
	fmt.Fprintf(stderr, "bench: took %s\n", time.Since(started).Round(100*time.Millisecond))
	if len(b.failures) > 0 {
		fmt.Fprintf(stderr, "bench: %d check(s) failed:\n", len(b.failures))
		for _, f := range b.failures {
			fmt.Fprintf(stderr, "  - %s\n", f)
		}
		return 1
	}
	return 0
}

// bench holds one harness run: its directory, its Redis and its results.
type bench struct {
	opt options
	log io.Writer

	root string // module root
	dir  string // temporary directory
	bin  string // the cachewarm binary
	srv  *redisServer
	rdb  *redis.Client

	machine  string
	rows     []row
	notes    []string
	failures []string
	bulk     map[int]*bulkResult
}

// bulkResult is what the bulk target measured at one size.
type bulkResult struct {
	jsonl, resp, config string
	baseline, cachewarm []time.Duration
	// busy are redis-server's CPU time ÷ wall time of each run.
	baseBusy, cwBusy []float64
	// cpu is cachewarm's CPU time of each run.
	cpu   []time.Duration
	rssKB int64
	ok    bool
}

// row is one line of the result table. Zero items, durations, RSS and
// ratios are shown as "–".
type row struct {
	target    string
	items     int
	baseline  time.Duration
	cachewarm time.Duration
	rssKB     int64
	ratio     float64
	goal      string
	ok        string
}

// main runs every selected target; the returned error is one that stops
// the harness (a build or start-up failure), while a failed check is
// recorded and the next target runs.
func (b *bench) main(ctx context.Context) (err error) {
	if b.root, err = moduleRoot(); err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "cachewarm-bench-*"); err != nil {
		return err
	}
	defer func() {
		if b.opt.keep {
			fmt.Fprintf(b.log, "bench: kept %s\n", b.dir)
			b.notes = append(b.notes, "Kept the temporary directory "+b.dir+".")
		} else {
			os.RemoveAll(b.dir)
		}
	}()
	b.machine = machineLine(ctx)
	b.logf("%s", b.machine)

	b.bin = filepath.Join(b.dir, "cachewarm")
	b.logf("building %s", b.bin)
	build := exec.CommandContext(ctx, "go", "build", "-o", b.bin, ".")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	if b.srv, err = startRedis(ctx, filepath.Join(b.dir, "redis")); err != nil {
		return err
	}
	defer b.srv.stop()
	b.rdb = redis.NewClient(&redis.Options{Addr: b.srv.addr(), DisableIdentity: true, ReadTimeout: time.Minute})
	defer b.rdb.Close()
	b.logf("redis-server on %s", b.srv.addr())

	for _, n := range b.opt.sizes {
		if !b.opt.bulkRuns {
			break
		}
		b.check(ctx, fmt.Sprintf("bulk %d", n), func() error { return b.bulkTarget(ctx, n) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	b.scalingRows()
	if b.opt.fetch {
		b.check(ctx, "fetch", func() error { return b.fetchTarget(ctx) })
	}
	if b.opt.tui {
		b.check(ctx, "tui", func() error { return b.tuiTarget(ctx) })
	}
	if b.opt.verify {
		b.check(ctx, "verify", func() error { return b.verifyTarget(ctx) })
	}
	if b.opt.hash {
		b.check(ctx, "hash", func() error { return b.hashTarget(ctx) })
	}
	if b.opt.fetchWrite {
		b.check(ctx, "fetch+write", func() error { return b.fetchWriteTargets(ctx) })
	}
	if b.opt.retry {
		b.check(ctx, "retry", func() error { return b.retryTarget(ctx) })
	}
	if b.opt.memory {
		b.memoryTargets(ctx)
	}
	if b.opt.cluster {
		b.check(ctx, "cluster", func() error { return b.clusterTarget(ctx) })
	}
	if b.opt.postgres {
		n := b.largestUpTo(bulkTargetSize)
		b.check(ctx, "postgres", func() error { return b.postgresTarget(ctx, n) })
	}
	if b.opt.values {
		b.valuesTargets(ctx)
	}
	if b.opt.adaptive {
		b.check(ctx, "adaptive", func() error { return b.adaptiveTarget(ctx) })
	}
	return ctx.Err()
}

// check runs one target and records its error as a failure.
func (b *bench) check(ctx context.Context, name string, target func() error) {
	if ctx.Err() != nil {
		return
	}
	if err := target(); err != nil && ctx.Err() == nil {
		b.logf("FAIL %s: %v", name, err)
		b.failures = append(b.failures, name+": "+err.Error())
		b.rows = append(b.rows, row{target: name, goal: "checks (see stderr)", ok: "FAIL"})
	}
}

// logf prints a progress line on the log.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod here or above: run the harness inside the cachewarm repository")
		}
		dir = parent
	}
}

// machineLine describes the machine: CPUs, CPU model, Redis, Go and load.
func machineLine(ctx context.Context) string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	nproc := strconv.Itoa(runtime.NumCPU())
	if out, err := exec.CommandContext(ctx, "nproc").Output(); err == nil {
		nproc = strings.TrimSpace(string(out))
	}
	redisVersion := "redis-server: not found"
	if out, err := exec.CommandContext(ctx, "redis-server", "--version").Output(); err == nil {
		redisVersion = strings.TrimSpace(string(out))
	}
	goVersion := runtime.Version()
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		goVersion = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	load := ""
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			load = ", load average " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("Machine: nproc %s, %s; %s; go %s%s", nproc, model, redisVersion, goVersion, load)
}

// verifyBulk checks a completed n-item load.
func (b *bench) verifyBulk(ctx context.Context, n int, seed uint64) error {
	if err := b.wantDBSize(ctx, n); err != nil {
		return err
	}
	return b.checkKeys(ctx, sampleIDs(n, seed), key, lineOf)
}

// bulkTarget is target 1 at size n.
func (b *bench) bulkTarget(ctx context.Context, n int) error {
	res := &bulkResult{}
	b.bulk[n] = res
	b.logf("bulk %d: writing data", n)
	var err error
	if res.jsonl, res.resp, err = writeData(b.dir, n); err != nil {
		return err
	}
	res.config = filepath.Join(b.dir, fmt.Sprintf("bulk-%d.toml", n))
	if err := writeConfig(res.config, b.srv.url("", ""), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ file = %q }", filepath.Base(res.jsonl)), key: "item:{{.id}}",
	}); err != nil {
		return err
	}
	for r := 1; r <= b.opt.runs; r++ {
		base, baseBusy, err := b.busy(ctx, func() (time.Duration, error) {
			return b.baselineRun(ctx, n, res.resp, fmt.Sprintf("pipe-%d-%d", n, r))
		})
		if err != nil {
			return err
		}
		var cw procResult
		_, cwBusy, err := b.busy(ctx, func() (time.Duration, error) {
			var err error
			cw, err = b.bulkRun(ctx, n, res.config, fmt.Sprintf("bulk-%d-%d", n, r), uint64(r))
			return cw.wall, err
		})
		if err != nil {
			return err
		}
		res.baseline = append(res.baseline, base)
		res.cachewarm = append(res.cachewarm, cw.wall)
		res.baseBusy = append(res.baseBusy, baseBusy)
		res.cwBusy = append(res.cwBusy, cwBusy)
		res.cpu = append(res.cpu, cw.cpu)
		res.rssKB = max(res.rssKB, cw.rssKB)
		b.logf("bulk %d run %d/%d: redis-cli --pipe %.3fs (Redis busy %.0f%%), cachewarm %.3fs (Redis busy %.0f%%), peak RSS %.1f MB",
			n, r, b.opt.runs, base.Seconds(), 100*baseBusy, cw.wall.Seconds(), 100*cwBusy, mb(cw.rssKB))
	}
	res.ok = true
	bestBase, bestCW := best(res.baseline), best(res.cachewarm)
	// Each run times redis-cli --pipe and cachewarm back to back against
	// the same Redis; its ratio is "in the same run". Redis's own speed
	// drifts between runs on a shared VM, so the best times of the two
	// sides may come from different periods: the row's ratio is the
	// median of the runs' ratios, and the best-of ratio is in the notes.
	ratio := pairedRatio(res.baseline, res.cachewarm)
	met := ratio <= b.opt.bulkGoal && mb(res.rssKB) <= bulkRSSGoalMB
	rw := row{
		target: b.bulkName(), items: n, baseline: bestBase, cachewarm: bestCW, rssKB: res.rssKB,
		ratio: ratio, goal: fmt.Sprintf("≤ %.2f× pipe (aim %.2f×), ≤ %d MB", b.opt.bulkGoal, bulkAim, bulkRSSGoalMB),
		ok: okOrMissed(met),
	}
	if met && ratio > bulkAim {
		rw.ok = fmt.Sprintf("ok (aim %.2f× not reached)", bulkAim)
	}
	if n < bulkTargetSize {
		// Target 1 is set at 1M items; smaller sizes feed the scaling
		// rows, and at 10k process start-up is most of the time.
		rw.goal, rw.ok = "(target is at 1M)", "–"
	}
	b.rows = append(b.rows, rw)
	b.bulkCPURow(n, res)
	b.notes = append(b.notes, fmt.Sprintf("bulk %d: redis-server's main thread was busy (its CPU time ÷ wall time) %s of the redis-cli --pipe runs and %s of cachewarm's.",
		n, pctRange(res.baseBusy), pctRange(res.cwBusy)))
	if b.opt.runs > 1 {
		b.notes = append(b.notes, fmt.Sprintf("bulk %d: medians of %d runs: redis-cli --pipe %.3fs, cachewarm %.3fs; ratio of each run %s (the row shows their median); best of each side %.2f×.",
			n, b.opt.runs, median(res.baseline).Seconds(), median(res.cachewarm).Seconds(), ratios(res.baseline, res.cachewarm), bestCW.Seconds()/bestBase.Seconds()))
	}
	if n == b.opt.cpuprofileSize {
		prof, err := os.CreateTemp("", fmt.Sprintf("cachewarm-cpu-%d-*.prof", n))
		if err != nil {
			return err
		}
		prof.Close()
		if _, err := b.bulkRun(ctx, n, res.config, fmt.Sprintf("bulk-%d-cpuprofile", n), 99, "--cpuprofile", prof.Name()); err != nil {
			return fmt.Errorf("cpuprofile run: %w", err)
		}
		b.logf("CPU profile of cachewarm at %d items: %s", n, prof.Name())
		b.notes = append(b.notes, fmt.Sprintf("CPU profile of cachewarm at %d items (an extra, untimed run): %s (go tool pprof -http=: %s)",
			n, prof.Name(), prof.Name()))
	}
	return nil
}

// bulkName is the bulk rows' target: "bulk (defaults)" when the config has
// no [run] table, as target 1 asks.
func (b *bench) bulkName() string {
	if b.opt.concurrency == 0 {
		return "bulk (defaults)"
	}
	return fmt.Sprintf("bulk (c=%d)", b.opt.concurrency)
}

// baselineRun loads the RESP file with redis-cli --pipe into an empty
// database and checks the result.
func (b *bench) baselineRun(ctx context.Context, n int, respPath, label string) (time.Duration, error) {
	if err := b.flush(ctx); err != nil {
		return 0, err
	}
	f, err := os.Open(respPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	p, err := b.runProc(ctx, label, f, nil, "redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(b.srv.port), "--pipe")
	if err != nil {
		return 0, err
	}
	out, _ := os.ReadFile(p.outPath)
	if want := fmt.Sprintf("errors: 0, replies: %d", n); p.code != 0 || !bytes.Contains(out, []byte(want)) {
		return 0, fmt.Errorf("redis-cli --pipe: want %q, got %s", want, p.describe())
	}
	if err := b.wantDBSize(ctx, n); err != nil {
		return 0, fmt.Errorf("after redis-cli --pipe: %w", err)
	}
	return p.wall, nil
}

// bulkRun loads the JSONL file with cachewarm --plain into an empty
// database and checks the result.
func (b *bench) bulkRun(ctx context.Context, n int, config, label string, seed uint64, extra ...string) (procResult, error) {
	if err := b.flush(ctx); err != nil {
		return procResult{}, err
	}
	args := append([]string{"--plain", "--config", config}, extra...)
	p, err := b.runProc(ctx, label, nil, nil, b.bin, args...)
	if err != nil {
		return p, err
	}
	if p.code != 0 {
		return p, fmt.Errorf("cachewarm --plain: want exit 0, got %s", p.describe())
	}
	if err := b.verifyBulk(ctx, n, seed); err != nil {
		return p, fmt.Errorf("after cachewarm: %w", err)
	}
	return p, nil
}

// scalingRows adds target 5: µs/item at each size against the next
// smaller size.
func (b *bench) scalingRows() {
	var prevN int
	var prev time.Duration
	for _, n := range b.opt.sizes {
		res := b.bulk[n]
		if res == nil || !res.ok {
			prevN = 0
			continue
		}
		cur := best(res.cachewarm)
		if prevN > 0 {
			ratio := perItem(cur, n) / perItem(prev, prevN)
			b.rows = append(b.rows, row{
				target: fmt.Sprintf("scaling %s→%s", short(prevN), short(n)), items: n, cachewarm: cur, rssKB: res.rssKB,
				ratio: ratio, goal: fmt.Sprintf("µs/item ≤ %.2f×", scalingGoal), ok: okOrMissed(ratio <= scalingGoal),
			})
		}
		prevN, prev = n, cur
	}
}

// origin is the in-process HTTP origin of the fetch target: every GET is
// answered after fetchLatency with a small body naming the path.
//
// Go's timers on Linux wake up to a millisecond late (the netpoller waits
// in whole milliseconds), so a plain time.Sleep(20ms) holds an answer
// about 20.8 ms here: 4% of the target's budget spent by the origin, not
// by the client. The origin corrects for it: it sleeps fetchLatency less
// an adjustment that an integral controller moves until the mean hold,
// measured on every request, is fetchLatency. The harness prints the
// measured mean so the correction can be checked.
type origin struct {
	srv     *http.Server
	url     string
	latency time.Duration
	served  atomic.Int64
	// bigSent counts the bytes /big/ answers wrote before they stopped,
	// bigRequests the requests for /big/, bigActive those still writing.
	bigSent, bigRequests, bigActive atomic.Int64
	// heldNs sums how long answers were held since the last reset.
	heldNs atomic.Int64
	// adjustNs is how much shorter than latency the origin sleeps.
	adjustNs atomic.Int64
}

// body is what the origin answers for item id.
func body(id int) []byte { return []byte(`{"id":` + strconv.Itoa(id) + `,"origin":"bench"}`) }

// pctRange formats shares as "97%" or "95–99%".
func pctRange(xs []float64) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if math.Round(100*lo) == math.Round(100*hi) {
		return fmt.Sprintf("%.0f%%", 100*lo)
	}
	return fmt.Sprintf("%.0f–%.0f%%", 100*lo, 100*hi)
}

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// maxAdjust bounds the origin's correction.
const maxAdjust = 2 * time.Millisecond

// hold keeps a request for o.latency on average.
func (o *origin) hold() {
	adj := time.Duration(o.adjustNs.Load())
	start := time.Now()
	time.Sleep(o.latency - adj)
	held := time.Since(start)
	o.heldNs.Add(int64(held))
	// Integral control: every request moves the adjustment by 1/64 of
	// its error, so the mean settles on o.latency within a few
	// hundred requests.
	next := adj + (held-o.latency)/64
	o.adjustNs.Store(int64(min(max(next, 0), maxAdjust, o.latency/2)))
}

// reset zeroes the counts of served requests, held time and big bytes.
func (o *origin) reset() {
	o.served.Store(0)
	o.heldNs.Store(0)
	o.bigSent.Store(0)
}

// meanHold is the mean time an answer was held since the last reset.
func (o *origin) meanHold() time.Duration {
	n := o.served.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(o.heldNs.Load() / n)
}

// startOrigin starts the origin on 127.0.0.1:0; it holds every
// /item/ answer for latency on average.
func startOrigin(latency time.Duration) (*origin, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &origin{url: "http://" + l.Addr().String(), latency: latency}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /item/{id}", func(w http.ResponseWriter, r *http.Request) {
		o.hold()
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		o.served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body(id))
	})
	mux.HandleFunc("GET /big/{id}", o.serveBig)
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(l)
	return o, nil
}

// plainFetch GETs every item of the fetch target with a plain net/http
// client at fetchConcurrency, writing nothing: the fetch target's baseline.
func (o *origin) plainFetch(ctx context.Context) (time.Duration, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = fetchConcurrency
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	var next atomic.Int64
	errs := make(chan error, fetchConcurrency)
	start := time.Now()
	for range fetchConcurrency {
		go func() {
			for {
				id := next.Add(1)
				if id > fetchItems {
					errs <- nil
					return
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url+"/item/"+strconv.FormatInt(id, 10), nil)
				if err != nil {
					errs <- err
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("GET %s: %s", req.URL, resp.Status)
					return
				}
			}
		}()
	}
	var first error
	for range fetchConcurrency {
		if err := <-errs; err != nil && first == nil {
			first = err
			next.Store(fetchItems) // the others stop after their current request
		}
	}
	return time.Since(start), first
}

// fetchTarget is target 2: every run fetches the items twice, first with
// the harness's plain net/http client (no Redis), then with cachewarm,
// and the goal is set against the plain client of the same runs.
func (b *bench) fetchTarget(ctx context.Context) error {
	o, err := startOrigin(fetchLatency)
	if err != nil {
		return err
	}
	defer o.srv.Close()
	config := filepath.Join(b.dir, "fetch.toml")
	if err := writeConfig(config, b.srv.url("", ""), fetchConcurrency, loaderConfig{
		name: "fetch", items: fmt.Sprintf("{ range = [1, %d] }", fetchItems), key: "fetch:{{.}}", fetch: o.url + "/item/{{.}}",
	}); err != nil {
		return err
	}
	var walls, plains, ideals []time.Duration
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		o.reset()
		plain, err := o.plainFetch(ctx)
		if err != nil {
			return fmt.Errorf("plain net/http client: %w", err)
		}
		plainHold := o.meanHold()
		if err := b.flush(ctx); err != nil {
			return err
		}
		o.reset()
		p, err := b.runProc(ctx, fmt.Sprintf("fetch-%d", r), nil, nil, b.bin, "--plain", "--config", config)
		if err != nil {
			return err
		}
		if p.code != 0 {
			return fmt.Errorf("cachewarm (fetch): want exit 0, got %s", p.describe())
		}
		if got := o.served.Load(); got != fetchItems {
			return fmt.Errorf("origin served %d requests, want %d", got, fetchItems)
		}
		if err := b.wantDBSize(ctx, fetchItems); err != nil {
			return err
		}
		if err := b.checkKeys(ctx, sampleIDs(fetchItems, uint64(r)), fetchKey("fetch"), body); err != nil {
			return err
		}
		// The ideal is for the notes only: an origin that held answers
		// less than fetchLatency on average would flatter cachewarm, so
		// it uses the shorter hold.
		hold := o.meanHold()
		ideals = append(ideals, time.Duration(fetchItems)*min(hold, fetchLatency)/fetchConcurrency)
		walls = append(walls, p.wall)
		plains = append(plains, plain)
		rss = max(rss, p.rssKB)
		b.logf("fetch run %d/%d: net/http %.3fs (mean hold %s), cachewarm %.3fs (mean hold %s), ratio %.3f, peak RSS %.1f MB",
			r, b.opt.runs, plain.Seconds(), ms(plainHold), p.wall.Seconds(), ms(hold), p.wall.Seconds()/plain.Seconds(), mb(p.rssKB))
	}
	// As for bulk: the median of the runs' ratios, each run timing both
	// back to back.
	ratio := pairedRatio(plains, walls)
	b.rows = append(b.rows, row{
		target: fmt.Sprintf("fetch 20ms c=%d", fetchConcurrency), items: fetchItems, baseline: best(plains), cachewarm: best(walls), rssKB: rss,
		ratio: ratio, goal: fmt.Sprintf("≤ %.2f× net/http", fetchGoal), ok: okOrMissed(ratio <= fetchGoal),
	})
	ideal := best(ideals)
	b.notes = append(b.notes, fmt.Sprintf("fetch: the baseline is a plain net/http client in the harness (same origin, items and concurrency, no Redis), run just before cachewarm in every run. "+
		"Against the ideal of %.3fs (items × mean hold ÷ concurrency) the plain client took %.2f× and cachewarm %.2f×.",
		ideal.Seconds(), best(plains).Seconds()/ideal.Seconds(), best(walls).Seconds()/ideal.Seconds()))
	if len(walls) > 1 {
		b.notes = append(b.notes, fmt.Sprintf("fetch: medians of %d runs: net/http %.3fs, cachewarm %.3fs; ratio of each run %s (the row shows their median); best of each side %.2f×.",
			len(walls), median(plains).Seconds(), median(walls).Seconds(), ratios(plains, walls), best(walls).Seconds()/best(plains).Seconds()))
	}
	return nil
}

// fetchKey is the key template "loader:{{.}}" of a fetch loader, as a
// function of the item.
func fetchKey(loader string) func(int) string {
	return func(id int) string { return loader + ":" + strconv.Itoa(id) }
}

// report is the part of cachewarm's --report the harness checks.
type report struct {
	Fulfilled   int64   `json:"fulfilled"`
	Rejected    int64   `json:"rejected"`
	NotStarted  int64   `json:"not_started"`
	Interrupted bool    `json:"interrupted"`
	Seconds     float64 `json:"seconds"`
	Verify      *struct {
		Checked  int64   `json:"checked"`
		Failed   int64   `json:"failed"`
		Complete bool    `json:"complete"`
		Seconds  float64 `json:"seconds"`
	} `json:"verify"`
	Loaders []struct {
		Name          string `json:"name"`
		Fulfilled     int64  `json:"fulfilled"`
		Rejected      int64  `json:"rejected"`
		NotStarted    int64  `json:"not_started"`
		RejectedItems []struct {
			Key    string `json:"key"`
			Reason string `json:"reason"`
			Stage  string `json:"stage"`
		} `json:"rejected_items"`
	} `json:"loaders"`
}

// verifyGoal is target 11's: the verify pass takes at most this share of
// the time writing the keys took.
const verifyGoal = 0.5

// verifyTarget is target 11, at the largest bulk size ≤ 1M.
func (b *bench) verifyTarget(ctx context.Context) error {
	n := b.largestBulkOK()
	if n == 0 {
		b.notes = append(b.notes, "verify: skipped (no successful bulk size ≤ 1,000,000).")
		return nil
	}
	var writes, verifies []time.Duration
	for r := 1; r <= b.opt.runs; r++ {
		path := filepath.Join(b.dir, fmt.Sprintf("verify-%d-%d.json", n, r))
		p, err := b.bulkRun(ctx, n, b.bulk[n].config, fmt.Sprintf("verify-%d-%d", n, r), uint64(300+r), "--verify", "--report", path)
		if err != nil {
			return err
		}
		rep, err := readReport(path)
		if err != nil {
			return err
		}
		v := rep.Verify
		if v == nil || v.Checked != int64(n) || v.Failed != 0 || !v.Complete {
			return fmt.Errorf("report's verify %+v: want %d checked, 0 failed, complete (%s)", v, n, p.describe())
		}
		verify := time.Duration(v.Seconds * float64(time.Second))
		write := time.Duration(rep.Seconds*float64(time.Second)) - verify
		writes, verifies = append(writes, write), append(verifies, verify)
		b.logf("verify %d run %d/%d: write %.3fs, verify %.3fs (%.2f×)", n, r, b.opt.runs, write.Seconds(), verify.Seconds(), verify.Seconds()/write.Seconds())
	}
	ratio := pairedRatio(writes, verifies)
	b.rows = append(b.rows, row{target: "verify (--verify pass ÷ writing)", items: n, baseline: best(writes), cachewarm: best(verifies),
		ratio: ratio, goal: fmt.Sprintf("≤ %.2f× writing", verifyGoal), ok: okOrMissed(ratio <= verifyGoal)})
	return nil
}

// readReport decodes a --report file.
func readReport(path string) (*report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
