//go:build linux

// Target 4, retry: a run whose writes an ACL user refuses in part, then
// its --retry-from.

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// retryTarget is target 4, at the largest size.
func (b *bench) retryTarget(ctx context.Context) error {
	n := b.opt.sizes[len(b.opt.sizes)-1]
	res := b.bulk[n]
	if res == nil || !res.ok {
		return fmt.Errorf("needs a successful bulk run of %d items", n)
	}
	rejected := n / 100
	config := filepath.Join(b.dir, fmt.Sprintf("retry-%d.toml", n))
	if err := writeConfig(config, b.srv.url(aclUser, aclPass), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ file = %q }", filepath.Base(res.jsonl)), key: "item:{{.id}}",
	}); err != nil {
		return err
	}
	defer b.rdb.Do(context.WithoutCancel(ctx), "ACL", "DELUSER", aclUser)
	var firstWalls, retryWalls []time.Duration
	var firstRSS, retryRSS int64
	for r := 1; r <= b.opt.runs; r++ {
		if err := b.flush(ctx); err != nil {
			return err
		}
		if err := b.rdb.Do(ctx, "ACL", "SETUSER", aclUser, "reset", "on", ">"+aclPass,
			"~item:*[1-9]", "~item:*[1-9]0", "+ping", "+config|get", "+set").Err(); err != nil {
			return fmt.Errorf("ACL SETUSER: %w", err)
		}
		rep1 := filepath.Join(b.dir, fmt.Sprintf("retry-%d-%d-r.json", n, r))
		p1, err := b.runProc(ctx, fmt.Sprintf("retry-%d-%d-first", n, r), nil, nil, b.bin, "--plain", "--config", config, "--report", rep1)
		if err != nil {
			return err
		}
		if p1.code != 1 {
			return fmt.Errorf("first run (1%% NOPERM): want exit 1, got %s", p1.describe())
		}
		rep, err := readReport(rep1)
		if err != nil {
			return err
		}
		if rep.Rejected != int64(rejected) || rep.Fulfilled != int64(n-rejected) || rep.Interrupted {
			return fmt.Errorf("first run report: fulfilled %d, rejected %d, interrupted %v; want %d, %d, false",
				rep.Fulfilled, rep.Rejected, rep.Interrupted, n-rejected, rejected)
		}
		for _, l := range rep.Loaders {
			for _, it := range l.RejectedItems {
				if !strings.HasSuffix(it.Key, "00") || it.Stage != "redis" || !strings.Contains(it.Reason, "NOPERM") {
					return fmt.Errorf("first run report: unexpected rejection %+v", it)
				}
			}
		}
		if err := b.wantDBSize(ctx, n-rejected); err != nil {
			return fmt.Errorf("after the first run: %w", err)
		}
		if err := b.rdb.Do(ctx, "ACL", "SETUSER", aclUser, "~*").Err(); err != nil {
			return fmt.Errorf("ACL SETUSER ~*: %w", err)
		}
		rep2 := filepath.Join(b.dir, fmt.Sprintf("retry-%d-%d-r2.json", n, r))
		p2, err := b.runProc(ctx, fmt.Sprintf("retry-%d-%d-retry", n, r), nil, nil, b.bin,
			"--plain", "--config", config, "--retry-from", rep1, "--report", rep2)
		if err != nil {
			return err
		}
		if p2.code != 0 {
			return fmt.Errorf("--retry-from: want exit 0, got %s", p2.describe())
		}
		if rep, err = readReport(rep2); err != nil {
			return err
		}
		if rep.Fulfilled != int64(rejected) || rep.Rejected != 0 || rep.Interrupted {
			return fmt.Errorf("--retry-from report: fulfilled %d, rejected %d, interrupted %v; want %d, 0, false",
				rep.Fulfilled, rep.Rejected, rep.Interrupted, rejected)
		}
		if err := b.verifyBulk(ctx, n, uint64(300+r)); err != nil {
			return fmt.Errorf("after --retry-from: %w", err)
		}
		hundreds := sampleIDs(rejected, uint64(400+r))
		for i := range hundreds {
			hundreds[i] *= 100
		}
		if err := b.checkKeys(ctx, hundreds, key, lineOf); err != nil {
			return fmt.Errorf("after --retry-from: %w", err)
		}
		firstWalls = append(firstWalls, p1.wall)
		retryWalls = append(retryWalls, p2.wall)
		firstRSS = max(firstRSS, p1.rssKB)
		retryRSS = max(retryRSS, p2.rssKB)
		b.logf("retry %d run %d/%d: first run %.3fs (%d rejected) peak RSS %.1f MB; --retry-from %.3fs peak RSS %.1f MB",
			n, r, b.opt.runs, p1.wall.Seconds(), rejected, mb(p1.rssKB), p2.wall.Seconds(), mb(p2.rssKB))
	}
	rssRatio := float64(firstRSS) / float64(res.rssKB)
	// What holding one rejected item costs: the extra peak RSS over the
	// all-fulfilled run of the same size, per rejection.
	perRejection := float64(max(firstRSS-res.rssKB, 0)) * 1024 / float64(max(rejected, 1))
	b.rows = append(b.rows, row{
		target: "retry: 1% NOPERM", items: n, baseline: best(res.cachewarm), cachewarm: best(firstWalls), rssKB: firstRSS,
		ratio: rssRatio, goal: fmt.Sprintf("≤ %d B RSS/rejection", retryBytesGoal), ok: okOrMissed(perRejection <= retryBytesGoal),
	})
	b.notes = append(b.notes, fmt.Sprintf("retry: %d rejections held cost %.0f bytes of peak RSS each (%.1f MB over the all-fulfilled run).",
		rejected, perRejection, mb(firstRSS)-mb(res.rssKB)))
	timeRatio := best(retryWalls).Seconds() / best(firstWalls).Seconds()
	b.rows = append(b.rows, row{
		target: "retry: --retry-from", items: rejected, baseline: best(firstWalls), cachewarm: best(retryWalls), rssKB: retryRSS,
		ratio: timeRatio, goal: fmt.Sprintf("≤ %.2f× first run", retryTimeGoal), ok: okOrMissed(timeRatio <= retryTimeGoal),
	})
	if b.opt.runs > 1 {
		b.notes = append(b.notes, fmt.Sprintf("retry: medians of %d runs: first run %.3fs, --retry-from %.3fs.",
			b.opt.runs, median(firstWalls).Seconds(), median(retryWalls).Seconds()))
	}
	return nil
}
