//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	// SQLite, to write target 13's database.
	_ "modernc.org/sqlite"
)

// Parameters of the memory targets (-memory).
const (
	// Target 6: manyLoaders loaders of manyItems fetched items each, at
	// manyConcurrency against an origin holding answers manyLatency.
	manyLoaders     = 50
	manyItems       = 20000
	manyConcurrency = 2000
	manyLatency     = 5 * time.Millisecond
	manyRSSGoalMB   = 256

	// Target 7: a rejectRunItems-line JSONL load whose keys ending in 0
	// (one in ten) are refused with NOPERM, then --retry-from its report.
	rejectRunItems = 1000000
	rejectedItems  = rejectRunItems / 10

	// Target 8: one item whose origin streams bigBodyBytes, chunked, in
	// writes of bigChunk; the default run.max_body must reject it.
	bigBodyBytes  = 2 << 30
	bigChunk      = 64 << 10
	bigRSSGoalMB  = 100
	bigBodyReason = "body larger than 64 MiB"

	// Target 12: a local sitemap of two URLs with sitemapGapMiB (the
	// -sitemap-mib flag, 600 by default) of whitespace between them.
	sitemapRSSGoalMB = 64

	// Target 13: a SQLite table whose first row holds sqlRowMB of text,
	// over the value limit, and whose second row is small. The big row
	// is rejected, the small one written. Goal: the row held once by
	// cachewarm on top of SQLite's own copy of it, so at most twice its
	// size and a margin.
	sqlRowMB        = 100
	sqlRowRSSGoalMB = 2*sqlRowMB + 64

	// capMB is where the harness kills a cachewarm run of these targets:
	// far above every goal, low enough that a runaway run cannot take the
	// machine with it.
	capMB = 1024
)

// bigChunkData is what the big-body origin writes, bigChunk at a time.
var bigChunkData = bytes.Repeat([]byte("x"), bigChunk)

// serveBig streams bigBodyBytes in chunks of bigChunk, flushing each (no
// Content-Length, so the response is chunked), and stops as soon as a
// write fails because the client has gone. The body is never held.
func (o *origin) serveBig(w http.ResponseWriter, r *http.Request) {
	o.bigActive.Add(1)
	defer o.bigActive.Add(-1)
	o.bigRequests.Add(1)
	w.Header().Set("Content-Type", "application/octet-stream")
	rc := http.NewResponseController(w)
	for sent := 0; sent < bigBodyBytes; sent += bigChunk {
		if _, err := w.Write(bigChunkData); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		o.bigSent.Add(bigChunk)
	}
}

// waitBigDone waits up to 5 s for every /big/ answer to stop writing.
func (o *origin) waitBigDone() {
	for deadline := time.Now().Add(5 * time.Second); o.bigActive.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// memoryTargets runs targets 6, 7, 8 and 12, those -memory-targets names.
func (b *bench) memoryTargets(ctx context.Context) {
	if b.opt.memoryTargets["loaders"] {
		b.check(ctx, "memory: 50 loaders", func() error { return b.manyLoadersTarget(ctx) })
	}
	if b.opt.memoryTargets["retry"] {
		b.check(ctx, "memory: retry", func() error { return b.retryMemoryTarget(ctx) })
	}
	if b.opt.memoryTargets["body"] {
		b.check(ctx, "memory: big body", func() error { return b.bigBodyTarget(ctx) })
	}
	if b.opt.memoryTargets["sitemap"] {
		b.check(ctx, "memory: sitemap", func() error { return b.sitemapTarget(ctx) })
	}
	if b.opt.memoryTargets["sqlrow"] {
		b.check(ctx, "memory: SQL row", func() error { return b.sqlRowTarget(ctx) })
	}
	if b.opt.memoryTargets["rejections"] {
		b.check(ctx, "memory: 1M rejections", func() error { return b.rejectionsTarget(ctx) })
	}
}

// memoryTargetNames are the values -memory-targets accepts.
var memoryTargetNames = []string{"loaders", "retry", "body", "sitemap", "sqlrow", "rejections"}

// rejectionsGoalMB is the peak RSS of a run whose 1M items are all
// rejected: the rejections go to the journal, not to memory (issue #22).
const rejectionsGoalMB = 100

// rejectionsTarget runs the 1M-line JSONL file with a key template that
// fails for every item, and checks that the run's peak RSS stays within
// rejectionsGoalMB and that its report lists every rejection.
func (b *bench) rejectionsTarget(ctx context.Context) error {
	jsonl, err := b.rejectJSONL()
	if err != nil {
		return err
	}
	config := filepath.Join(b.dir, "rejections.toml")
	if err := writeConfig(config, b.srv.url("", ""), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ file = %q }", filepath.Base(jsonl)), key: "item:{{.no_such_field}}",
	}); err != nil {
		return err
	}
	var walls []time.Duration
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		report := filepath.Join(b.dir, fmt.Sprintf("rejections-%d.json", r))
		p, err := b.cappedRun(ctx, fmt.Sprintf("rejections-%d", r), "--plain", "--config", config, "--report", report,
			"--journal", filepath.Join(b.dir, "rejections.journal"))
		if err != nil {
			return err
		}
		if err := countListed(report, rejectRunItems); err != nil {
			return err
		}
		walls = append(walls, p.wall)
		rss = max(rss, p.rssKB)
		b.logf("memory: 1M rejections run %d/%d: %.3fs, peak RSS %.1f MB", r, b.opt.runs, p.wall.Seconds(), mb(p.rssKB))
	}
	b.rows = append(b.rows, row{
		target: "memory: 1M rejections (key template)", items: rejectRunItems, cachewarm: best(walls), rssKB: rss,
		ratio: mb(rss) / rejectionsGoalMB, goal: fmt.Sprintf("≤ %d MB peak RSS (ratio: of that)", rejectionsGoalMB), ok: okOrMissed(mb(rss) <= rejectionsGoalMB),
	})
	return nil
}

// countListed checks that the report at path counts and lists want
// rejected items.
func countListed(path string, want int) error {
	rep, err := readReport(path)
	if err != nil {
		return err
	}
	listed := 0
	for _, l := range rep.Loaders {
		listed += len(l.RejectedItems)
	}
	if rep.Rejected != int64(want) || rep.Fulfilled != 0 || listed != want {
		return fmt.Errorf("report: fulfilled %d, rejected %d, %d listed; want 0, %d, %d", rep.Fulfilled, rep.Rejected, listed, want, want)
	}
	return nil
}

// cappedRun is runCapped for a run whose process must not be killed: a
// kill is an error naming the peak.
func (b *bench) cappedRun(ctx context.Context, label string, args ...string) (procResult, error) {
	p, killed, err := b.runCapped(ctx, label, capMB*1024, args...)
	if err == nil && killed {
		err = fmt.Errorf("%s: killed by the harness at %.1f MB of RSS (cap %d MB); %s", label, mb(p.rssKB), capMB, p.describe())
	}
	if err == nil && p.rssKB <= p.floorKB+1024 {
		b.logf("warning: %s: peak RSS %.1f MB is within 1 MB of the harness's own RSS when it started (%.1f MB): it may be the harness's",
			label, mb(p.rssKB), mb(p.floorKB))
	}
	return p, err
}

// manyKey is the key of item id in the 50-loader target: each sampled id
// is read from loader id mod manyLoaders.
func manyKey(id int) string { return fmt.Sprintf("l%02d:%d", id%manyLoaders, id) }

// manyLoadersTarget is target 6.
func (b *bench) manyLoadersTarget(ctx context.Context) error {
	o, err := startOrigin(manyLatency)
	if err != nil {
		return err
	}
	defer o.srv.Close()
	loaders := make([]loaderConfig, manyLoaders)
	for i := range loaders {
		name := fmt.Sprintf("l%02d", i)
		loaders[i] = loaderConfig{
			name: name, items: fmt.Sprintf("{ range = [1, %d] }", manyItems), key: name + ":{{.}}", fetch: o.url + "/item/{{.}}",
		}
	}
	config := filepath.Join(b.dir, "many.toml")
	if err := writeConfig(config, b.srv.url("", ""), manyConcurrency, loaders...); err != nil {
		return err
	}
	total := manyLoaders * manyItems
	var walls []time.Duration
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		if err := b.flush(ctx); err != nil {
			return err
		}
		o.reset()
		repPath := filepath.Join(b.dir, fmt.Sprintf("many-%d-r.json", r))
		p, err := b.cappedRun(ctx, fmt.Sprintf("many-%d", r), "--plain", "--config", config, "--report", repPath)
		if err != nil {
			return err
		}
		if p.code != 0 {
			return fmt.Errorf("cachewarm (50 loaders): want exit 0, got %s", p.describe())
		}
		if got := o.served.Load(); got != int64(total) {
			return fmt.Errorf("origin served %d requests, want %d", got, total)
		}
		if err := b.wantDBSize(ctx, total); err != nil {
			return err
		}
		// The first keys were written up to the whole run ago.
		lo := ttlSeconds*time.Second - p.wall - 10*time.Second
		if err := b.checkKeysTTL(ctx, sampleIDs(manyItems, uint64(500+r)), manyKey, body, lo); err != nil {
			return err
		}
		if err := checkAllFulfilled(repPath, manyLoaders, manyItems); err != nil {
			return err
		}
		walls = append(walls, p.wall)
		rss = max(rss, p.rssKB)
		b.logf("memory: 50 loaders run %d/%d: %.3fs, origin's mean hold %s, peak RSS %.1f MB",
			r, b.opt.runs, p.wall.Seconds(), ms(o.meanHold()), mb(p.rssKB))
	}
	b.rows = append(b.rows, row{
		target: fmt.Sprintf("memory: 50 loaders, %s c=%d", manyLatency.String(), manyConcurrency), items: total, cachewarm: best(walls), rssKB: rss,
		ratio: mb(rss) / manyRSSGoalMB, goal: fmt.Sprintf("≤ %d MB (ratio: of that)", manyRSSGoalMB), ok: okOrMissed(mb(rss) <= manyRSSGoalMB),
	})
	ideal := time.Duration(total) * manyLatency / manyConcurrency
	b.notes = append(b.notes, fmt.Sprintf("memory: 50 loaders × %d items fetched from the harness's origin (answers held %s) at concurrency %d; the latency-bound ideal would be %.3fs, and the origin runs in the harness on the same CPUs.",
		manyItems, manyLatency.String(), manyConcurrency, ideal.Seconds()))
	if len(walls) > 1 {
		b.notes = append(b.notes, fmt.Sprintf("memory: 50 loaders: median of %d runs %.3fs.", len(walls), median(walls).Seconds()))
	}
	return nil
}

// checkAllFulfilled checks a report in which every one of loaders loaders
// fulfilled all its items.
func checkAllFulfilled(path string, loaders, items int) error {
	rep, err := readReport(path)
	if err != nil {
		return err
	}
	total := int64(loaders * items)
	if rep.Fulfilled != total || rep.Rejected != 0 || rep.NotStarted != 0 || rep.Interrupted {
		return fmt.Errorf("report: fulfilled %d, rejected %d, not started %d, interrupted %v; want %d, 0, 0, false",
			rep.Fulfilled, rep.Rejected, rep.NotStarted, rep.Interrupted, total)
	}
	if len(rep.Loaders) != loaders {
		return fmt.Errorf("report: %d loaders, want %d", len(rep.Loaders), loaders)
	}
	for _, l := range rep.Loaders {
		if l.Fulfilled != int64(items) || l.Rejected != 0 || l.NotStarted != 0 || len(l.RejectedItems) != 0 {
			return fmt.Errorf("report: loader %s: fulfilled %d, rejected %d, not started %d, %d rejected items; want %d, 0, 0, 0",
				l.Name, l.Fulfilled, l.Rejected, l.NotStarted, len(l.RejectedItems), items)
		}
	}
	return nil
}

// rejectJSONL is the JSONL file of rejectRunItems lines: the bulk target's
// when it ran at that size, written now otherwise.
func (b *bench) rejectJSONL() (string, error) {
	if res := b.bulk[rejectRunItems]; res != nil && res.jsonl != "" {
		return res.jsonl, nil
	}
	b.logf("memory: retry: writing data")
	jsonl, _, err := writeData(b.dir, rejectRunItems)
	return jsonl, err
}

// retryMemoryTarget is target 7.
func (b *bench) retryMemoryTarget(ctx context.Context) error {
	jsonl, err := b.rejectJSONL()
	if err != nil {
		return err
	}
	config := filepath.Join(b.dir, "reject.toml")
	if err := writeConfig(config, b.srv.url(aclUser, aclPass), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ file = %q }", filepath.Base(jsonl)), key: "item:{{.id}}",
	}); err != nil {
		return err
	}
	defer b.rdb.Do(context.WithoutCancel(ctx), "ACL", "DELUSER", aclUser)
	var firstWalls, retryWalls []time.Duration
	var firstRSS, retryRSS int64
	met := true
	for r := 1; r <= b.opt.runs; r++ {
		p1, p2, err := b.retryMemoryRun(ctx, config, r)
		if err != nil {
			return err
		}
		met = met && p2.rssKB <= p1.rssKB
		firstWalls = append(firstWalls, p1.wall)
		retryWalls = append(retryWalls, p2.wall)
		firstRSS = max(firstRSS, p1.rssKB)
		retryRSS = max(retryRSS, p2.rssKB)
		b.logf("memory: retry run %d/%d: first run %.3fs (%d rejected) peak RSS %.1f MB; --retry-from %.3fs peak RSS %.1f MB",
			r, b.opt.runs, p1.wall.Seconds(), rejectedItems, mb(p1.rssKB), p2.wall.Seconds(), mb(p2.rssKB))
	}
	b.rows = append(b.rows, row{
		target: "memory: 100k NOPERM, first run", items: rejectRunItems, cachewarm: best(firstWalls), rssKB: firstRSS,
		goal: "(writes the report)", ok: "–",
	}, row{
		target: "memory: --retry-from 100k", items: rejectedItems, baseline: best(firstWalls), cachewarm: best(retryWalls), rssKB: retryRSS,
		ratio: float64(retryRSS) / float64(firstRSS), goal: "peak RSS ≤ first run's (ratio: of it)", ok: okOrMissed(met),
	})
	return nil
}

// retryMemoryRun is one run of target 7: the first run, where the ACL
// user may only SET keys ending in 1-9, then --retry-from its report once
// the user may SET every key.
func (b *bench) retryMemoryRun(ctx context.Context, config string, r int) (first, retry procResult, err error) {
	if err := b.flush(ctx); err != nil {
		return first, retry, err
	}
	if err := b.rdb.Do(ctx, "ACL", "SETUSER", aclUser, "reset", "on", ">"+aclPass,
		"~item:*[1-9]", "+ping", "+config|get", "+set").Err(); err != nil {
		return first, retry, fmt.Errorf("ACL SETUSER: %w", err)
	}
	rep1 := filepath.Join(b.dir, fmt.Sprintf("reject-%d-r.json", r))
	first, err = b.cappedRun(ctx, fmt.Sprintf("reject-%d-first", r), "--plain", "--config", config, "--report", rep1)
	if err != nil {
		return first, retry, err
	}
	if first.code != 1 {
		return first, retry, fmt.Errorf("first run (10%% NOPERM): want exit 1, got %s", first.describe())
	}
	if err := checkNOPERMReport(rep1); err != nil {
		return first, retry, err
	}
	if err := b.wantDBSize(ctx, rejectRunItems-rejectedItems); err != nil {
		return first, retry, fmt.Errorf("after the first run: %w", err)
	}
	if err := b.rdb.Do(ctx, "ACL", "SETUSER", aclUser, "~*").Err(); err != nil {
		return first, retry, fmt.Errorf("ACL SETUSER ~*: %w", err)
	}
	rep2 := filepath.Join(b.dir, fmt.Sprintf("reject-%d-r2.json", r))
	retry, err = b.cappedRun(ctx, fmt.Sprintf("reject-%d-retry", r), "--plain", "--config", config, "--retry-from", rep1, "--report", rep2)
	if err != nil {
		return first, retry, err
	}
	if retry.code != 0 {
		return first, retry, fmt.Errorf("--retry-from: want exit 0, got %s", retry.describe())
	}
	rep, err := readReport(rep2)
	if err != nil {
		return first, retry, err
	}
	if rep.Fulfilled != rejectedItems || rep.Rejected != 0 || rep.NotStarted != 0 || rep.Interrupted {
		return first, retry, fmt.Errorf("--retry-from report: fulfilled %d, rejected %d, not started %d, interrupted %v; want %d, 0, 0, false",
			rep.Fulfilled, rep.Rejected, rep.NotStarted, rep.Interrupted, rejectedItems)
	}
	if err := b.verifyBulk(ctx, rejectRunItems, uint64(600+r)); err != nil {
		return first, retry, fmt.Errorf("after --retry-from: %w", err)
	}
	tens := sampleIDs(rejectedItems, uint64(700+r))
	for i := range tens {
		tens[i] *= 10
	}
	if err := b.checkKeys(ctx, tens, key, lineOf); err != nil {
		return first, retry, fmt.Errorf("after --retry-from: %w", err)
	}
	return first, retry, nil
}

// checkNOPERMReport checks the first run's report of target 7: every key
// ending in 0 rejected by Redis with NOPERM, every other one fulfilled.
func checkNOPERMReport(path string) error {
	rep, err := readReport(path)
	if err != nil {
		return err
	}
	if rep.Rejected != rejectedItems || rep.Fulfilled != rejectRunItems-rejectedItems || rep.NotStarted != 0 || rep.Interrupted {
		return fmt.Errorf("first run report: fulfilled %d, rejected %d, not started %d, interrupted %v; want %d, %d, 0, false",
			rep.Fulfilled, rep.Rejected, rep.NotStarted, rep.Interrupted, rejectRunItems-rejectedItems, rejectedItems)
	}
	listed := 0
	for _, l := range rep.Loaders {
		for _, it := range l.RejectedItems {
			if !strings.HasSuffix(it.Key, "0") || it.Stage != "redis" || !strings.Contains(it.Reason, "NOPERM") {
				return fmt.Errorf("first run report: unexpected rejection %+v", it)
			}
			listed++
		}
	}
	if listed != rejectedItems {
		return fmt.Errorf("first run report: %d rejected items listed, want %d", listed, rejectedItems)
	}
	return nil
}

// bigBodyTarget is target 8.
func (b *bench) bigBodyTarget(ctx context.Context) error {
	o, err := startOrigin(fetchLatency)
	if err != nil {
		return err
	}
	defer o.srv.Close()
	config := filepath.Join(b.dir, "big.toml")
	if err := writeConfig(config, b.srv.url("", ""), 0, loaderConfig{
		name: "big", items: "{ list = [1] }", key: "big:{{.}}", fetch: o.url + "/big/{{.}}",
	}); err != nil {
		return err
	}
	var walls []time.Duration
	var rss, sent, requests int64
	for r := 1; r <= b.opt.runs; r++ {
		if err := b.flush(ctx); err != nil {
			return err
		}
		o.reset()
		o.bigRequests.Store(0)
		repPath := filepath.Join(b.dir, fmt.Sprintf("big-%d-r.json", r))
		p, err := b.cappedRun(ctx, fmt.Sprintf("big-%d", r), "--plain", "--config", config, "--report", repPath)
		if err != nil {
			return err
		}
		o.waitBigDone()
		if p.code != 1 {
			return fmt.Errorf("cachewarm (2 GB body): want exit 1, got %s", p.describe())
		}
		if err := checkBigReport(repPath); err != nil {
			return err
		}
		if err := b.wantDBSize(ctx, 0); err != nil {
			return err
		}
		walls = append(walls, p.wall)
		rss = max(rss, p.rssKB)
		sent = max(sent, o.bigSent.Load())
		requests = max(requests, o.bigRequests.Load())
		b.logf("memory: big body run %d/%d: %.3fs, peak RSS %.1f MB, the origin sent %.1f MB in %d request(s) before the client went",
			r, b.opt.runs, p.wall.Seconds(), mb(p.rssKB), mb(o.bigSent.Load()/1024), o.bigRequests.Load())
	}
	b.rows = append(b.rows, row{
		target: "memory: 2 GB chunked body", items: 1, cachewarm: best(walls), rssKB: rss,
		ratio: mb(rss) / bigRSSGoalMB, goal: fmt.Sprintf("rejected, ≤ %d MB (ratio: of that)", bigRSSGoalMB), ok: okOrMissed(mb(rss) <= bigRSSGoalMB),
	})
	b.notes = append(b.notes, fmt.Sprintf("memory: big body: the origin had written at most %.1f MB of its 2048 MB, in at most %d request(s), when cachewarm closed the connection.",
		mb(sent/1024), requests))
	return nil
}

// checkBigReport checks the report of target 8: its one item rejected at
// the fetch for its size.
func checkBigReport(path string) error {
	rep, err := readReport(path)
	if err != nil {
		return err
	}
	if rep.Fulfilled != 0 || rep.Rejected != 1 || rep.NotStarted != 0 || rep.Interrupted {
		return fmt.Errorf("report: fulfilled %d, rejected %d, not started %d, interrupted %v; want 0, 1, 0, false",
			rep.Fulfilled, rep.Rejected, rep.NotStarted, rep.Interrupted)
	}
	for _, l := range rep.Loaders {
		for _, it := range l.RejectedItems {
			if it.Stage != "fetch" || !strings.Contains(it.Reason, bigBodyReason) {
				return fmt.Errorf("report: rejection %+v, want stage fetch and a reason with %q", it, bigBodyReason)
			}
		}
	}
	return nil
}

// sitemapTarget is target 12: a local sitemap of two URLs with
// -sitemap-mib MiB of whitespace (lines of 63 spaces) between them, read
// without fetching. Exit 0, both URLs written. Goal: peak RSS at most
// 64 MB, whatever the file's size.
func (b *bench) sitemapTarget(ctx context.Context) error {
	path := filepath.Join(b.dir, "padded-sitemap.xml")
	b.logf("memory: sitemap: writing %d MiB", b.opt.sitemapMiB)
	if err := writePaddedSitemap(path, int64(b.opt.sitemapMiB)<<20); err != nil {
		return err
	}
	defer os.Remove(path)
	config := filepath.Join(b.dir, "sitemap.toml")
	if err := writeConfig(config, b.srv.url("", ""), 0, loaderConfig{
		name: "sitemap", items: fmt.Sprintf("{ sitemap = %q }", filepath.Base(path)), key: "sm:{{.loc}}",
	}); err != nil {
		return err
	}
	var walls []time.Duration
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		if err := b.flush(ctx); err != nil {
			return err
		}
		repPath := filepath.Join(b.dir, fmt.Sprintf("sitemap-%d-r.json", r))
		p, err := b.cappedRun(ctx, fmt.Sprintf("sitemap-%d", r), "--plain", "--config", config, "--report", repPath)
		if err != nil {
			return err
		}
		if p.code != 0 {
			return fmt.Errorf("cachewarm (%d MiB sitemap): want exit 0, got %s", b.opt.sitemapMiB, p.describe())
		}
		if err := checkAllFulfilled(repPath, 1, 2); err != nil {
			return err
		}
		if err := b.wantDBSize(ctx, 2); err != nil {
			return err
		}
		for _, k := range []string{"sm:https://shop.test/first", "sm:https://shop.test/last"} {
			if n, err := b.rdb.Exists(ctx, k).Result(); err != nil || n != 1 {
				return fmt.Errorf("key %s: exists %d (%v)", k, n, err)
			}
		}
		walls = append(walls, p.wall)
		rss = max(rss, p.rssKB)
		b.logf("memory: sitemap run %d/%d: %.3fs, peak RSS %.1f MB", r, b.opt.runs, p.wall.Seconds(), mb(p.rssKB))
	}
	b.rows = append(b.rows, row{
		target: fmt.Sprintf("memory: %d MiB sitemap, 2 URLs", b.opt.sitemapMiB), items: 2, cachewarm: best(walls), rssKB: rss,
		ratio: mb(rss) / sitemapRSSGoalMB, goal: fmt.Sprintf("≤ %d MB (ratio: of that)", sitemapRSSGoalMB), ok: okOrMissed(mb(rss) <= sitemapRSSGoalMB),
	})
	return nil
}

// writePaddedSitemap writes a sitemap of two URLs with gap bytes of
// whitespace between them, streamed to disk.
func writePaddedSitemap(path string, gap int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n<url><loc>https://shop.test/first</loc></url>\n")
	line := strings.Repeat(" ", 63) + "\n"
	for n := int64(0); n < gap; n += int64(len(line)) {
		w.WriteString(line)
	}
	w.WriteString("<url><loc>https://shop.test/last</loc></url>\n</urlset>\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// sqlRowTarget is target 13: one SQLite row of sqlRowMB MB, refused for
// its size, and a small row after it, written. Exit 1.
func (b *bench) sqlRowTarget(ctx context.Context) error {
	path := filepath.Join(b.dir, "bigrow.db")
	os.Remove(path)
	defer os.Remove(path)
	if err := writeBigRowDB(ctx, path, sqlRowMB<<20); err != nil {
		return err
	}
	config := filepath.Join(b.dir, "sqlrow.toml")
	if err := writeConfig(config, b.srv.url("", ""), 0, loaderConfig{
		name: "rows", items: fmt.Sprintf("{ sql = \"SELECT id, v FROM r\", dsn = \"sqlite:%s\" }", filepath.Base(path)), key: "row:{{.id}}",
	}); err != nil {
		return err
	}
	var walls []time.Duration
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		if err := b.flush(ctx); err != nil {
			return err
		}
		repPath := filepath.Join(b.dir, fmt.Sprintf("sqlrow-%d-r.json", r))
		p, err := b.cappedRun(ctx, fmt.Sprintf("sqlrow-%d", r), "--plain", "--config", config, "--report", repPath)
		if err != nil {
			return err
		}
		if p.code != 1 {
			return fmt.Errorf("cachewarm (a %d MB row): want exit 1, got %s", sqlRowMB, p.describe())
		}
		rep, err := readReport(repPath)
		if err != nil {
			return err
		}
		if rep.Fulfilled != 1 || rep.Rejected != 1 {
			return fmt.Errorf("report: fulfilled %d, rejected %d; want 1 and 1", rep.Fulfilled, rep.Rejected)
		}
		if err := b.wantDBSize(ctx, 1); err != nil {
			return err
		}
		walls = append(walls, p.wall)
		rss = max(rss, p.rssKB)
		b.logf("memory: SQL row run %d/%d: %.3fs, peak RSS %.1f MB", r, b.opt.runs, p.wall.Seconds(), mb(p.rssKB))
	}
	b.rows = append(b.rows, row{
		target: fmt.Sprintf("memory: one %d MB SQLite row", sqlRowMB), items: 2, cachewarm: best(walls), rssKB: rss,
		ratio: mb(rss) / sqlRowRSSGoalMB, goal: fmt.Sprintf("rejected, ≤ %d MB (ratio: of that)", sqlRowRSSGoalMB), ok: okOrMissed(mb(rss) <= sqlRowRSSGoalMB),
	})
	return nil
}

// writeBigRowDB writes a SQLite file with table r: row 1 of size bytes of
// text, row 2 small.
func writeBigRowDB(ctx context.Context, path string, size int) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE r (id INTEGER, v TEXT);
INSERT INTO r VALUES (1, replace(hex(zeroblob(%d)), '00', 'xx'));
INSERT INTO r VALUES (2, 'small')`, size/2))
	return err
}
