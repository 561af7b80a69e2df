//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cachewarm/cachewarm/internal/pgtest"
)

// sqlPadLen is the pad of the postgres target's rows: with it a row is
// about as long as a bulk JSONL line.
const sqlPadLen = 40

// sqlLine is the JSON cachewarm makes of row id of the postgres target's
// table, and the line of its JSONL twin.
func sqlLine(id int) []byte {
	cents := 100 + (id*37)%99900
	b := []byte(`{"id":`)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"name":"item-`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, fmt.Sprintf(`","price":%d.%02d,"pad":"`, cents/100, cents%100)...)
	for range sqlPadLen {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// postgresTarget is target 10: n rows from a PostgreSQL table on
// loopback against the same items from a JSONL file, each into an empty
// Redis, with time and peak RSS.
func (b *bench) postgresTarget(ctx context.Context, n int) error {
	if !pgtest.Installed() {
		return errors.New("PostgreSQL not found (initdb): install the Debian package postgresql")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	b.logf("postgres %d: starting PostgreSQL on port %d", n, port)
	pg, err := pgtest.Run(ctx, port)
	if err != nil {
		return err
	}
	defer pg.Stop()
	if err := pg.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE items AS SELECT g::int8 AS id, 'item-' || g AS name,
		((100 + (g::int8 * 37) %% 99900) / 100.0)::numeric(10,2) AS price, repeat('x', %d) AS pad
		FROM generate_series(1, %d) g; ALTER TABLE items ADD PRIMARY KEY (id)`, sqlPadLen, n)); err != nil {
		return err
	}
	if err := pg.ExecContext(ctx, "VACUUM ANALYZE items"); err != nil {
		return err
	}
	jsonl := filepath.Join(b.dir, fmt.Sprintf("sql-%d.jsonl", n))
	if err := writeLines(jsonl, n, sqlLine); err != nil {
		return err
	}
	fileCfg := filepath.Join(b.dir, fmt.Sprintf("sql-file-%d.toml", n))
	sqlCfg := filepath.Join(b.dir, fmt.Sprintf("sql-pg-%d.toml", n))
	if err := writeConfig(fileCfg, b.srv.url("", ""), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ file = %q }", filepath.Base(jsonl)), key: "item:{{.id}}",
	}); err != nil {
		return err
	}
	if err := writeConfig(sqlCfg, b.srv.url("", ""), b.opt.concurrency, loaderConfig{
		name: "items", items: fmt.Sprintf("{ sql = %q, dsn = %q }", "SELECT id, name, price, pad FROM items ORDER BY id", pg.DSN("postgres")),
		key: "item:{{.id}}",
	}); err != nil {
		return err
	}
	var fileRuns, sqlRuns []time.Duration
	var rssKB, fileRSS int64
	for r := 1; r <= b.opt.runs; r++ {
		f, err := b.sqlRun(ctx, n, fileCfg, fmt.Sprintf("sql-file-%d-%d", n, r), uint64(r))
		if err != nil {
			return fmt.Errorf("from JSONL: %w", err)
		}
		p, err := b.sqlRun(ctx, n, sqlCfg, fmt.Sprintf("sql-pg-%d-%d", n, r), uint64(r))
		if err != nil {
			return fmt.Errorf("from PostgreSQL: %w", err)
		}
		fileRuns, sqlRuns = append(fileRuns, f.wall), append(sqlRuns, p.wall)
		rssKB, fileRSS = max(rssKB, p.rssKB), max(fileRSS, f.rssKB)
		b.logf("postgres %d run %d/%d: JSONL %.3fs (peak RSS %.1f MB), PostgreSQL %.3fs (peak RSS %.1f MB)",
			n, r, b.opt.runs, f.wall.Seconds(), mb(f.rssKB), p.wall.Seconds(), mb(p.rssKB))
	}
	bestFile, bestSQL := best(fileRuns), best(sqlRuns)
	b.rows = append(b.rows, row{
		target: "postgres", items: n, baseline: bestFile, cachewarm: bestSQL, rssKB: rssKB,
		ratio: bestSQL.Seconds() / bestFile.Seconds(), goal: fmt.Sprintf("≤ %d MB", bulkRSSGoalMB),
		ok: okOrMissed(mb(rssKB) <= bulkRSSGoalMB),
	})
	b.notes = append(b.notes, fmt.Sprintf("postgres %d: the baseline column is cachewarm reading the same items from a JSONL file (peak RSS %.1f MB); PostgreSQL ran on loopback on this machine.",
		n, mb(fileRSS)))
	return nil
}

// sqlRun runs cachewarm --plain with config into an empty database and
// checks the result.
func (b *bench) sqlRun(ctx context.Context, n int, config, label string, seed uint64) (procResult, error) {
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
	return p, b.checkKeys(ctx, sampleIDs(n, seed), key, sqlLine)
}

// writeLines writes line(1) … line(n), one a line, to path.
func writeLines(path string, n int, line func(int) []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	for id := 1; id <= n; id++ {
		w.Write(line(id))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// largestBulkOK is the largest bulk size ≤ 1M whose bulk runs passed, or
// 0: the size the TUI, cluster and verify targets run at.
func (b *bench) largestBulkOK() int {
	n := 0
	for _, s := range b.opt.sizes {
		if s <= tuiMaxSize && b.bulk[s] != nil && b.bulk[s].ok {
			n = s
		}
	}
	return n
}

// largestUpTo is the largest of -sizes at most limit, or the smallest
// size when every one is larger.
func (b *bench) largestUpTo(limit int) int {
	n := b.opt.sizes[0]
	for _, s := range b.opt.sizes {
		if s <= limit {
			n = s
		}
	}
	return n
}
