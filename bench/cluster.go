package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachewarm/cachewarm/warmup/rediswrite"
)

// clusterMasters is the size of target 9's cluster.
const clusterMasters = 3

// clusterGoal and clusterCPUGoal are target 9's goals: cachewarm's wall
// time ≤ clusterGoal × that of go-redis alone (see goRedisAlone) in the
// same run, and its CPU time ≤ clusterCPUGoal × go-redis alone's. Three
// masters and a client share this machine's CPUs, so the wall time
// follows the CPU total: three redis-cli --pipe, which no go-redis client
// can match here, are in the table for information.
const (
	clusterGoal    = 1.1
	clusterCPUGoal = 1.3
)

// clusterTarget is target 9.
func (b *bench) clusterTarget(ctx context.Context) error {
	n := b.largestBulkOK()
	if n == 0 && !b.opt.bulkRuns {
		n = b.largestUpTo(bulkTargetSize)
	}
	if n == 0 {
		b.notes = append(b.notes, "cluster: skipped (no successful bulk size ≤ 1,000,000).")
		return nil
	}
	jsonl, err := b.jsonlFor(n)
	if err != nil {
		return err
	}
	nodes, cc, err := b.startCluster(ctx)
	for _, s := range nodes {
		defer s.stop()
	}
	if err != nil {
		return err
	}
	defer cc.Close()
	owner, err := slotOwners(ctx, cc, nodes)
	if err != nil {
		return err
	}
	b.logf("cluster %d: splitting the SETs by slot", n)
	resp, counts, err := writeClusterResp(b.dir, n, owner)
	if err != nil {
		return err
	}
	config := filepath.Join(b.dir, fmt.Sprintf("cluster-%d.toml", n))
	if err := writeConfig(config, "redis://"+nodes[0].addr(), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ file = %q }", filepath.Base(jsonl)), key: "item:{{.id}}",
	}); err != nil {
		return err
	}
	var base, cw, alone []time.Duration
	var cpu clusterCPU
	var rss int64
	for r := 1; r <= b.opt.runs; r++ {
		var t time.Duration
		var p procResult
		var a time.Duration
		err := cpu.pipes.measure(ctx, cc, func() (time.Duration, error) {
			var err error
			var client time.Duration
			t, client, err = b.pipes(ctx, nodes, resp, counts, fmt.Sprintf("cluster-pipe-%d-%d", n, r))
			return client, err
		})
		if err != nil {
			return err
		}
		if err := verifyCluster(ctx, cc, n, uint64(300+r)); err != nil {
			return fmt.Errorf("after the three redis-cli --pipe: %w", err)
		}
		err = cpu.cachewarm.measure(ctx, cc, func() (time.Duration, error) {
			var err error
			p, err = b.runProc(ctx, fmt.Sprintf("cluster-%d-%d", n, r), nil, nil, b.bin, "--plain", "--config", config)
			if err == nil && p.code != 0 {
				err = fmt.Errorf("cachewarm --plain into the cluster: want exit 0, got %s", p.describe())
			}
			return p.cpu, err
		})
		if err != nil {
			return err
		}
		if err := verifyCluster(ctx, cc, n, uint64(400+r)); err != nil {
			return fmt.Errorf("after cachewarm: %w", err)
		}
		err = cpu.alone.measure(ctx, cc, func() (time.Duration, error) {
			var err error
			var client time.Duration
			a, client, err = goRedisAlone(ctx, cc, n)
			return client, err
		})
		if err != nil {
			return fmt.Errorf("go-redis alone: %w", err)
		}
		if err := verifyCluster(ctx, cc, n, uint64(500+r)); err != nil {
			return fmt.Errorf("after go-redis alone: %w", err)
		}
		base, cw, alone = append(base, t), append(cw, p.wall), append(alone, a)
		rss = max(rss, p.rssKB)
		b.logf("cluster %d run %d/%d: 3 × redis-cli --pipe %.3fs, cachewarm %.3fs, go-redis alone %.3fs", n, r, b.opt.runs, t.Seconds(), p.wall.Seconds(), a.Seconds())
	}
	pipeRatio, ratio := pairedRatio(base, cw), pairedRatio(alone, cw)
	cpuRatio := pairedRatio(cpu.alone.client, cpu.cachewarm.client)
	rw := row{
		target: fmt.Sprintf("cluster (%d masters)", clusterMasters), items: n, baseline: best(alone), cachewarm: best(cw), rssKB: rss,
		ratio: ratio, goal: fmt.Sprintf("≤ %.2f× go-redis alone", clusterGoal), ok: okOrMissed(ratio <= clusterGoal),
	}
	cpuRow := row{
		target: fmt.Sprintf("cluster (%d masters), client CPU s", clusterMasters), baseline: median(cpu.alone.client), cachewarm: median(cpu.cachewarm.client),
		ratio: cpuRatio, goal: fmt.Sprintf("CPU ≤ %.2f× go-redis alone", clusterCPUGoal), ok: okOrMissed(cpuRatio <= clusterCPUGoal),
	}
	pipeRow := row{
		target: fmt.Sprintf("cluster (%d masters) vs %d pipes", clusterMasters, clusterMasters), items: n, baseline: best(base), cachewarm: best(cw),
		ratio: pipeRatio, goal: "(for information)", ok: "–",
	}
	if n < bulkTargetSize {
		// As for bulk: below 1M, process start-up is much of the time.
		rw.goal, rw.ok = "(target is at 1M)", "–"
		cpuRow.goal, cpuRow.ok = "(target is at 1M)", "–"
	}
	b.rows = append(b.rows, rw, cpuRow, pipeRow)
	b.notes = append(b.notes,
		fmt.Sprintf("cluster %d: the keys per master were %v; the baseline is three redis-cli --pipe started together, timed from the first start to the last end.", n, counts),
		fmt.Sprintf("cluster %d: go-redis alone (the same SETs built in memory, no JSON and no engine, through the cluster client's pipelines as cachewarm sizes them) ÷ the three pipes: %.2f, median of the runs; cachewarm ÷ go-redis alone: %.2f.", n, pairedRatio(base, alone), pairedRatio(alone, cw)),
		fmt.Sprintf("cluster %d: CPU seconds per run (medians; the masters' main threads + the client): three pipes %s, cachewarm %s, go-redis alone %s. With %d CPUs for %d masters and the client, the wall time follows the CPU total.", n, cpu.pipes, cpu.cachewarm, cpu.alone, runtime.NumCPU(), clusterMasters),
	)
	return nil
}

// clusterCPU collects the CPU time of each side of target 9: the
// masters' and the client's.
type clusterCPU struct{ pipes, cachewarm, alone cpuRuns }

// cpuRuns are the CPU times of one side's runs.
type cpuRuns struct{ masters, client []time.Duration }

// String is the medians, as "3.10 + 0.61".
func (c cpuRuns) String() string {
	return fmt.Sprintf("%.2f + %.2f", median(c.masters).Seconds(), median(c.client).Seconds())
}

// measure empties the cluster, runs f, which returns the client's CPU
// time, and records it with the CPU time the masters spent meanwhile.
func (c *cpuRuns) measure(ctx context.Context, cc *redis.ClusterClient, f func() (time.Duration, error)) error {
	if err := flushCluster(ctx, cc); err != nil {
		return err
	}
	before, err := mastersCPU(ctx, cc)
	if err != nil {
		return err
	}
	client, err := f()
	if err != nil {
		return err
	}
	after, err := mastersCPU(ctx, cc)
	if err != nil {
		return err
	}
	c.masters, c.client = append(c.masters, after-before), append(c.client, client)
	return nil
}

// mastersCPU is the CPU time the masters' main threads have used.
func mastersCPU(ctx context.Context, cc *redis.ClusterClient) (time.Duration, error) {
	var total atomic.Int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		t, err := serverCPU(ctx, c)
		total.Add(int64(t))
		return err
	})
	return time.Duration(total.Load()), err
}

// goRedisAlone writes the n bulk SETs through cc's pipelines as cachewarm
// sizes them (four in flight per master, 1,000 commands each), building
// each batch's keys and values as it goes: the least a client built on
// go-redis pays, and so a floor for cachewarm's ratio. It returns the
// wall time and the CPU time this process used meanwhile.
func goRedisAlone(ctx context.Context, cc *redis.ClusterClient, n int) (wall, cpu time.Duration, err error) {
	const batch = 1000
	starts := make(chan int)
	var failed atomic.Pointer[error]
	ttl := ttlSeconds * time.Second
	var wg sync.WaitGroup
	before := selfCPU()
	start := time.Now()
	for range 4 * clusterMasters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var line []byte
			for first := range starts {
				if failed.Load() != nil {
					continue
				}
				pipe := cc.Pipeline()
				for id := first; id < min(n+1, first+batch); id++ {
					line = appendLine(line[:0], id)
					pipe.Set(ctx, key(id), bytes.Clone(line), ttl)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	for first := 1; first <= n; first += batch {
		starts <- first
	}
	close(starts)
	wg.Wait()
	wall, cpu = time.Since(start), selfCPU()-before
	if p := failed.Load(); p != nil {
		err = *p
	}
	return wall, cpu, err
}

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCluster starts clusterMasters cluster-enabled servers and joins
// them with redis-cli --cluster create.
func (b *bench) startCluster(ctx context.Context) ([]*redisServer, *redis.ClusterClient, error) {
	var nodes []*redisServer
	args := []string{"--cluster", "create"}
	for i := range clusterMasters {
		s, err := startRedis(ctx, filepath.Join(b.dir, fmt.Sprintf("cluster-%d", i)), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
		if err != nil {
			return nodes, nil, err
		}
		nodes = append(nodes, s)
		args = append(args, s.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		return nodes, nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range nodes {
		c := redis.NewClient(&redis.Options{Addr: s.addr(), DisableIdentity: true})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				return nodes, nil, fmt.Errorf("cluster not ok after 30s: %s %v", info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	addrs := make([]string, len(nodes))
	for i, s := range nodes {
		addrs[i] = s.addr()
	}
	b.logf("redis cluster on %s", strings.Join(addrs, ","))
	return nodes, redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DisableIdentity: true, ReadTimeout: time.Minute}), nil
}

// slotOwners maps every slot to the index in nodes of its master.
func slotOwners(ctx context.Context, cc *redis.ClusterClient, nodes []*redisServer) ([]int, error) {
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("CLUSTER SHARDS: %w", err)
	}
	owner := make([]int, 16384)
	for i := range owner {
		owner[i] = -1
	}
	for _, sh := range shards {
		for _, n := range sh.Nodes {
			for i, s := range nodes {
				if n.Role != "master" || int(n.Port) != s.port {
					continue
				}
				for _, r := range sh.Slots {
					for slot := r.Start; slot <= r.End; slot++ {
						owner[slot] = i
					}
				}
			}
		}
	}
	for slot, o := range owner {
		if o < 0 {
			return nil, fmt.Errorf("slot %d has no master", slot)
		}
	}
	return owner, nil
}

// writeClusterResp writes, per master, the RESP of exactly the bulk SETs
// whose keys it owns.
func writeClusterResp(dir string, n int, owner []int) ([]string, []int, error) {
	paths := make([]string, clusterMasters)
	counts := make([]int, clusterMasters)
	files := make([]*os.File, clusterMasters)
	ws := make([]*bufio.Writer, clusterMasters)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("cluster-%d-node%d.resp", n, i))
		f, err := os.Create(paths[i])
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		files[i], ws[i] = f, bufio.NewWriterSize(f, 1<<20)
	}
	ttl := strconv.Itoa(ttlSeconds)
	var line, cmd []byte
	for id := 1; id <= n; id++ {
		k := key(id)
		i := owner[rediswrite.Slot(k)]
		line = appendLine(line[:0], id)
		cmd = appendSet(cmd[:0], k, line, ttl)
		ws[i].Write(cmd)
		counts[i]++
	}
	for i := range ws {
		if err := ws[i].Flush(); err != nil {
			return nil, nil, err
		}
		if err := files[i].Close(); err != nil {
			return nil, nil, err
		}
	}
	return paths, counts, nil
}

// pipes runs one redis-cli --pipe per master, all at once, and returns
// the time from the first start to the last end, and their CPU time.
func (b *bench) pipes(ctx context.Context, nodes []*redisServer, resp []string, counts []int, label string) (wall, cpu time.Duration, err error) {
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	outs := make([]bytes.Buffer, len(nodes))
	cmds := make([]*exec.Cmd, len(nodes))
	for i, s := range nodes {
		f, err := os.Open(resp[i])
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		cmds[i] = exec.CommandContext(ctx, "redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "--pipe")
		cmds[i].Stdin, cmds[i].Stdout, cmds[i].Stderr = f, &outs[i], &outs[i]
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			return 0, 0, fmt.Errorf("%s: start redis-cli: %w", label, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Wait()
		}()
	}
	wg.Wait()
	wall = time.Since(start)
	for i, c := range cmds {
		if want := fmt.Sprintf("errors: 0, replies: %d", counts[i]); errs[i] != nil || !bytes.Contains(outs[i].Bytes(), []byte(want)) {
			return 0, 0, fmt.Errorf("%s: redis-cli --pipe to %s: want %q, got %v\n%s", label, nodes[i].addr(), want, errs[i], outs[i].String())
		}
		cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	return wall, cpu, nil
}

// flushCluster empties every master.
func flushCluster(ctx context.Context, cc *redis.ClusterClient) error {
	return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() })
}

// verifyCluster checks that the masters hold n keys together, and a
// sample of values and TTLs.
func verifyCluster(ctx context.Context, cc *redis.ClusterClient, n int, seed uint64) error {
	var mu sync.Mutex
	var total int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		k, err := c.DBSize(ctx).Result()
		mu.Lock()
		total += k
		mu.Unlock()
		return err
	})
	if err != nil {
		return fmt.Errorf("DBSIZE: %w", err)
	}
	if total != int64(n) {
		return fmt.Errorf("the masters hold %d keys, want %d", total, n)
	}
	return checkKeysOn(ctx, cc, sampleIDs(n, seed), key, lineOf, minTTL*time.Second)
}
