//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cachewarm/cachewarm/internal/pgtest"
)

// The value targets (-values) measure what a value template costs, at the
// largest -sizes up to 1M, in interleaved runs (one of each variant, then
// the next round), medians over -runs (at least 3):
//
//   - "JSONL value": the bulk JSONL file with value = "{{.item.name}}"
//     against the same config without value. Goal ≤ valueGoal.
//   - "postgres" and "sqlite", with and without value = "{{.item.payload}}":
//     SELECT id, payload from a table of n rows, against the database's
//     own CLI (psql COPY, sqlite3) piped through awk into redis-cli
//     --pipe, writing SET item:N payload EX 3600. Goal ≤ sqlValueGoal and
//     peak RSS ≤ bulkRSSGoalMB.
const (
	valueGoal    = 1.2
	sqlValueGoal = 1.3
	// payloadPad is the filler of a row's payload: the row is about as
	// long as a bulk JSONL line.
	payloadPad = 80
	// minValueRuns is the fewest interleaved rounds a value target runs.
	minValueRuns = 3
)

// payload is row id's payload column.
func payload(id int) []byte {
	return []byte("payload-" + strconv.Itoa(id) + "-" + strings.Repeat("x", payloadPad))
}

// payloadRow is the JSON cachewarm writes for row id without a value
// template.
func payloadRow(id int) []byte {
	return []byte(`{"id":` + strconv.Itoa(id) + `,"payload":"` + string(payload(id)) + `"}`)
}

// pipeAwk turns tab-separated id, payload lines into RESP SETs with the
// harness's TTL.
const pipeAwk = `BEGIN { ORS = "" }
{ k = "item:" $1; v = $2
  printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$4\r\n3600\r\n", length(k), k, length(v), v }`

// valuesTargets runs the value targets.
func (b *bench) valuesTargets(ctx context.Context) {
	n := b.largestUpTo(bulkTargetSize)
	b.check(ctx, "jsonl value", func() error { return b.jsonlValueTarget(ctx, n) })
	b.check(ctx, "postgres value", func() error { return b.postgresValueTarget(ctx, n) })
	b.check(ctx, "sqlite value", func() error { return b.sqliteValueTarget(ctx, n) })
}

// variant is one program a value target times: run makes one run and
// checks what it wrote.
type variant struct {
	name string
	run  func(label string) (procResult, error)
	res  []procResult
}

// interleave runs every variant once a round, in order, for max(-runs,
// minValueRuns) rounds.
func (b *bench) interleave(ctx context.Context, target string, vs []*variant) error {
	rounds := max(b.opt.runs, minValueRuns)
	for r := 1; r <= rounds; r++ {
		var parts []string
		for _, v := range vs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			res, err := v.run(fmt.Sprintf("%s-%s-%d", target, strings.ReplaceAll(v.name, " ", "-"), r))
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			v.res = append(v.res, res)
			parts = append(parts, fmt.Sprintf("%s %.3fs (CPU %.3fs, RSS %.1f MB)", v.name, res.wall.Seconds(), res.cpu.Seconds(), mb(res.rssKB)))
		}
		b.logf("%s run %d/%d: %s", target, r, rounds, strings.Join(parts, ", "))
	}
	return nil
}

func walls(rs []procResult) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.wall
	}
	return out
}

func cpus(rs []procResult) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.cpu
	}
	return out
}

func peakRSS(rs []procResult) int64 {
	var kb int64
	for _, r := range rs {
		kb = max(kb, r.rssKB)
	}
	return kb
}

// valueRow is the table row of cachewarm variant cw against base: median
// times, the median of the rounds' ratios, and the goal met when that
// ratio is at most goal (and, with rssGoal, peak RSS at most that).
func (b *bench) valueRow(target string, n int, base, cw *variant, goal float64, rssGoal bool) {
	ratio := pairedRatio(walls(base.res), walls(cw.res))
	rss := peakRSS(cw.res)
	met := ratio <= goal
	goalText := fmt.Sprintf("≤ %.1f× %s", goal, base.name)
	if rssGoal {
		met = met && mb(rss) <= bulkRSSGoalMB
		goalText += fmt.Sprintf(", ≤ %d MB", bulkRSSGoalMB)
	}
	b.rows = append(b.rows, row{target: target, items: n, baseline: median(walls(base.res)), cachewarm: median(walls(cw.res)),
		rssKB: rss, ratio: ratio, goal: goalText, ok: metOrMissed(met)})
	baseCPU, cwCPU := median(cpus(base.res)), median(cpus(cw.res))
	b.notes = append(b.notes, fmt.Sprintf("%s %d: medians of %d interleaved rounds; wall ratios %s; CPU (user+sys, a pipeline's processes together) %s %.3fs, cachewarm %.3fs (%.2f×); load average at the end %s.",
		target, n, len(cw.res), ratios(walls(base.res), walls(cw.res)), base.name, baseCPU.Seconds(), cwCPU.Seconds(),
		cwCPU.Seconds()/baseCPU.Seconds(), loadAverage()))
}

// loadAverage is the first three fields of /proc/loadavg: the wall
// figures of a loaded machine say less than its CPU figures.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// metOrMissed is the ok column the goals ask for.
func metOrMissed(met bool) string {
	if met {
		return "MET"
	}
	return "MISSED"
}

// valueConfig writes a config of one loader reading items, with key
// "item:{{.id}}", ttl "1h" and value when it is not "".
func valueConfig(path, redisURL, items, value string) error {
	text := fmt.Sprintf("# written by go run ./bench\n[redis]\nurl = %q\n\n[[loader]]\nname = \"items\"\nitems = %s\nkey = \"item:{{.id}}\"\nttl = \"1h\"\n",
		redisURL, items)
	if value != "" {
		text += fmt.Sprintf("value = %q\n", value)
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// cachewarmVariant is a variant running cachewarm --plain with config into
// an empty database, then checking DBSIZE and sampled values.
func (b *bench) cachewarmVariant(ctx context.Context, name, config string, n int, want func(int) []byte) *variant {
	seed := uint64(0)
	return &variant{name: name, run: func(label string) (procResult, error) {
		if err := b.flush(ctx); err != nil {
			return procResult{}, err
		}
		p, err := b.runProc(ctx, label, nil, nil, b.bin, "--plain", "--config", config)
		if err != nil {
			return p, err
		}
		if p.code != 0 {
			return p, fmt.Errorf("cachewarm --plain: want exit 0, got %s", p.describe())
		}
		if err := b.wantDBSize(ctx, n); err != nil {
			return p, err
		}
		seed++
		return p, b.checkKeysTTL(ctx, sampleIDs(n, seed), key, want, minTTL*time.Second)
	}}
}

// pipeVariant is a variant running script (sh -c) whose last stage is
// redis-cli --pipe into an empty database, then checking it as
// cachewarmVariant does.
func (b *bench) pipeVariant(ctx context.Context, name, script string, env []string, n int, want func(int) []byte) *variant {
	seed := uint64(100)
	return &variant{name: name, run: func(label string) (procResult, error) {
		if err := b.flush(ctx); err != nil {
			return procResult{}, err
		}
		env := append(slices.Clone(env), "AWK_PROG="+pipeAwk, "REDIS_PORT="+strconv.Itoa(b.srv.port), "LC_ALL=C")
		p, err := b.runProc(ctx, label, nil, env, "bash", "-o", "pipefail", "-c", script+` | awk "$AWK_PROG" | redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --pipe`)
		if err != nil {
			return p, err
		}
		if p.code != 0 {
			return p, fmt.Errorf("%s: want exit 0, got %s", name, p.describe())
		}
		out, _ := os.ReadFile(p.outPath)
		if !strings.Contains(string(out), "errors: 0, replies: "+strconv.Itoa(n)) {
			return p, fmt.Errorf("%s: redis-cli --pipe said %q", name, tail(out, 300))
		}
		if err := b.wantDBSize(ctx, n); err != nil {
			return p, err
		}
		seed++
		return p, b.checkKeysTTL(ctx, sampleIDs(n, seed), key, want, minTTL*time.Second)
	}}
}

// jsonlValueTarget: the bulk JSONL file with and without a value template.
func (b *bench) jsonlValueTarget(ctx context.Context, n int) error {
	jsonl := ""
	if r := b.bulk[n]; r != nil {
		jsonl = r.jsonl
	} else {
		var err error
		if jsonl, _, err = writeData(b.dir, n); err != nil {
			return err
		}
	}
	items := fmt.Sprintf("{ file = %q }", filepath.Base(jsonl))
	plain := filepath.Join(b.dir, fmt.Sprintf("jsonl-novalue-%d.toml", n))
	valued := filepath.Join(b.dir, fmt.Sprintf("jsonl-value-%d.toml", n))
	if err := valueConfig(plain, b.srv.url("", ""), items, ""); err != nil {
		return err
	}
	if err := valueConfig(valued, b.srv.url("", ""), items, "{{.item.name}}"); err != nil {
		return err
	}
	base := b.cachewarmVariant(ctx, "without value", plain, n, lineOf)
	cw := b.cachewarmVariant(ctx, "value", valued, n, func(id int) []byte { return []byte("item-" + strconv.Itoa(id)) })
	if err := b.interleave(ctx, "jsonl value", []*variant{base, cw}); err != nil {
		return err
	}
	b.valueRow(`JSONL value = "{{.item.name}}" vs without`, n, base, cw, valueGoal, false)
	return nil
}

// sqlValueRows are the rows of an SQL value target: cachewarm with and
// without value = "{{.item.payload}}" against the database's CLI pipeline.
func (b *bench) sqlValueRows(ctx context.Context, target string, n int, items string, pipe *variant) error {
	plain := filepath.Join(b.dir, fmt.Sprintf("%s-novalue-%d.toml", target, n))
	valued := filepath.Join(b.dir, fmt.Sprintf("%s-value-%d.toml", target, n))
	if err := valueConfig(plain, b.srv.url("", ""), items, ""); err != nil {
		return err
	}
	if err := valueConfig(valued, b.srv.url("", ""), items, "{{.item.payload}}"); err != nil {
		return err
	}
	without := b.cachewarmVariant(ctx, "cachewarm without value", plain, n, payloadRow)
	with := b.cachewarmVariant(ctx, "cachewarm with value", valued, n, payload)
	if err := b.interleave(ctx, target, []*variant{pipe, without, with}); err != nil {
		return err
	}
	b.valueRow(target+" with value vs "+pipe.name, n, pipe, with, sqlValueGoal, true)
	b.valueRow(target+" without value vs "+pipe.name, n, pipe, without, sqlValueGoal, true)
	return nil
}

// postgresValueTarget: n rows of (id, payload) from PostgreSQL on
// loopback.
func (b *bench) postgresValueTarget(ctx context.Context, n int) error {
	if !pgtest.Installed() {
		return errors.New("PostgreSQL not found (initdb): install the Debian package postgresql")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	b.logf("postgres value %d: starting PostgreSQL on port %d", n, port)
	pg, err := pgtest.Run(ctx, port)
	if err != nil {
		return err
	}
	defer pg.Stop()
	if err := pg.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE payloads AS SELECT g::int8 AS id, 'payload-' || g || '-' || repeat('x', %d) AS payload
		FROM generate_series(1, %d) g; ALTER TABLE payloads ADD PRIMARY KEY (id)`, payloadPad, n)); err != nil {
		return err
	}
	if err := pg.ExecContext(ctx, "VACUUM ANALYZE payloads"); err != nil {
		return err
	}
	const query = "SELECT id, payload FROM payloads ORDER BY id"
	dsn := pg.DSN("postgres")
	pipe := b.pipeVariant(ctx, "psql COPY → awk → redis-cli --pipe",
		`psql -X -q -d "$PG_DSN" -c "COPY (`+query+`) TO STDOUT"`, []string{"PG_DSN=" + dsn}, n, payload)
	return b.sqlValueRows(ctx, "postgres", n, fmt.Sprintf("{ sql = %q, dsn = %q }", query, dsn), pipe)
}
