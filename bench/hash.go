package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// hashGoal is the hash target's goal: cachewarm with type = "hash" ≤ this
// × redis-cli --pipe of HSET + EXPIRE carrying the same fields.
const hashGoal = 1.3

// hashTarget loads the bulk JSONL file, at the largest bulk size ≤ 1M, as
// hashes (type = "hash": each line's members are the hash's fields)
// against redis-cli --pipe of HSET key fields… + EXPIRE key 3600 per line,
// in interleaved pairs. The pipe's HSET and EXPIRE are not atomic and do
// not drop an older hash's fields: it is the least Redis can do for the
// same data, not an equivalent of cachewarm's replace.
func (b *bench) hashTarget(ctx context.Context) error {
	n := b.largestUpTo(bulkTargetSize)
	if n == 0 {
		return nil
	}
	jsonl, err := b.jsonlFor(n)
	if err != nil {
		return err
	}
	resp := filepath.Join(b.dir, fmt.Sprintf("hash-%d.resp", n))
	if err := writeHashResp(resp, n); err != nil {
		return err
	}
	config := filepath.Join(b.dir, fmt.Sprintf("hash-%d.toml", n))
	if err := os.WriteFile(config, fmt.Appendf(nil, "[redis]\nurl = %q\n\n[[loader]]\nname = \"items\"\nitems = { file = %q }\nkey = \"item:{{.id}}\"\nttl = \"1h\"\ntype = \"hash\"\n",
		b.srv.url("", ""), filepath.Base(jsonl)), 0o644); err != nil {
		return err
	}
	var base, cw []time.Duration
	var baseCPU, cwCPU cpuRuns
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		var pipe, run procResult
		err := baseCPU.measureOne(ctx, b, func() (time.Duration, error) {
			if err := b.flush(ctx); err != nil {
				return 0, err
			}
			f, err := os.Open(resp)
			if err != nil {
				return 0, err
			}
			defer f.Close()
			pipe, err = b.runProc(ctx, fmt.Sprintf("hash-pipe-%d-%d", n, r), f, nil, "redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(b.srv.port), "--pipe")
			if err != nil {
				return 0, err
			}
			out, _ := os.ReadFile(pipe.outPath)
			if want := fmt.Sprintf("errors: 0, replies: %d", 2*n); pipe.code != 0 || !bytes.Contains(out, []byte(want)) {
				return 0, fmt.Errorf("redis-cli --pipe (hashes): want %q, got %s", want, pipe.describe())
			}
			return pipe.cpu, b.checkHashes(ctx, n, uint64(600+r))
		})
		if err != nil {
			return err
		}
		err = cwCPU.measureOne(ctx, b, func() (time.Duration, error) {
			if err := b.flush(ctx); err != nil {
				return 0, err
			}
			var err error
			run, err = b.runProc(ctx, fmt.Sprintf("hash-%d-%d", n, r), nil, nil, b.bin, "--plain", "--config", config)
			if err != nil {
				return 0, err
			}
			if run.code != 0 {
				return 0, fmt.Errorf("cachewarm (hashes): want exit 0, got %s", run.describe())
			}
			return run.cpu, b.checkHashes(ctx, n, uint64(700+r))
		})
		if err != nil {
			return err
		}
		base, cw = append(base, pipe.wall), append(cw, run.wall)
		rss = max(rss, run.rssKB)
		b.logf("hash %d run %d/%d: HSET+EXPIRE pipe %.3fs (CPU: redis %.2fs, redis-cli %.2fs), cachewarm %.3fs (CPU: redis %.2fs, cachewarm %.2fs)",
			n, r, b.opt.runs, pipe.wall.Seconds(), baseCPU.masters[r-1].Seconds(), pipe.cpu.Seconds(),
			run.wall.Seconds(), cwCPU.masters[r-1].Seconds(), run.cpu.Seconds())
	}
	ratio := pairedRatio(base, cw)
	rw := row{target: `hash (type = "hash")`, items: n, baseline: best(base), cachewarm: best(cw), rssKB: rss,
		ratio: ratio, goal: fmt.Sprintf("≤ %.2f× HSET+EXPIRE pipe", hashGoal), ok: okOrMissed(ratio <= hashGoal)}
	if n < bulkTargetSize {
		rw.goal, rw.ok = "(target is at 1M)", "–"
	}
	b.rows = append(b.rows, rw)
	b.notes = append(b.notes, fmt.Sprintf("hash %d: ratio of each run %s; CPU seconds per run (medians; redis-server's main thread + the client): HSET+EXPIRE pipe %s, cachewarm %s.",
		n, ratios(base, cw), baseCPU, cwCPU))
	return nil
}

// jsonlFor is the bulk target's JSONL file of n items, written now when
// the bulk target did not run (-bulk=false).
func (b *bench) jsonlFor(n int) (string, error) {
	if res := b.bulk[n]; res != nil && res.jsonl != "" {
		return res.jsonl, nil
	}
	jsonl := filepath.Join(b.dir, fmt.Sprintf("data-%d.jsonl", n))
	if _, err := os.Stat(jsonl); err == nil {
		return jsonl, nil
	}
	jsonl, _, err := writeData(b.dir, n)
	return jsonl, err
}

// measureOne empties the database, runs f, which returns the client's
// CPU time, and records it with the CPU time redis-server's main thread
// spent meanwhile.
func (c *cpuRuns) measureOne(ctx context.Context, b *bench, f func() (time.Duration, error)) error {
	before, err := serverCPU(ctx, b.rdb)
	if err != nil {
		return err
	}
	client, err := f()
	if err != nil {
		return err
	}
	after, err := serverCPU(ctx, b.rdb)
	if err != nil {
		return err
	}
	c.masters, c.client = append(c.masters, after-before), append(c.client, client)
	return nil
}

// hashFieldsOf are the fields and values of item id's hash: its JSONL
// line's members, strings as they are and the others as their JSON.
func hashFieldsOf(id int) []string {
	line := lineOf(id)
	cents := 100 + (id*37)%99900
	pad := line[bytes.LastIndex(line, []byte(`"pad":"`))+7 : len(line)-2]
	return []string{"id", strconv.Itoa(id), "name", "item-" + strconv.Itoa(id),
		"price", fmt.Sprintf("%d.%02d", cents/100, cents%100), "tags", `["a","b"]`, "pad", string(pad)}
}

// writeHashResp writes the RESP of HSET item:N fields… and EXPIRE item:N
// 3600 for every item.
func writeHashResp(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var cmd []byte
	ttl := strconv.Itoa(ttlSeconds)
	for id := 1; id <= n; id++ {
		k := key(id)
		cmd = appendCommand(cmd[:0], append([]string{"HSET", k}, hashFieldsOf(id)...)...)
		cmd = appendCommand(cmd, "EXPIRE", k, ttl)
		w.Write(cmd)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// appendCommand appends the RESP of one command.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

// checkHashes checks that the database holds n keys, and for a sample
// that each is item id's hash with a TTL in (minTTL, ttlSeconds].
func (b *bench) checkHashes(ctx context.Context, n int, seed uint64) error {
	if err := b.wantDBSize(ctx, n); err != nil {
		return err
	}
	for _, id := range sampleIDs(n, seed) {
		k := key(id)
		got, err := b.rdb.HGetAll(ctx, k).Result()
		if err != nil {
			return fmt.Errorf("HGETALL %s: %w", k, err)
		}
		f := hashFieldsOf(id)
		want := map[string]string{}
		for i := 0; i < len(f); i += 2 {
			want[f[i]] = f[i+1]
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("HGETALL %s = %v, want %v", k, got, want)
		}
		if ttl := b.rdb.TTL(ctx, k).Val(); ttl <= minTTL*time.Second || ttl > ttlSeconds*time.Second {
			return fmt.Errorf("TTL %s = %s, want in (%ds, %ds]", k, ttl, minTTL, ttlSeconds)
		}
	}
	return nil
}
