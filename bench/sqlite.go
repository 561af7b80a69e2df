//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
)

// sqliteValueTarget: n rows of (id, payload) from a SQLite file, which the
// sqlite3 CLI writes and, in the baseline, reads.
func (b *bench) sqliteValueTarget(ctx context.Context, n int) error {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		return errors.New("sqlite3 not found: install the Debian package sqlite3")
	}
	db := filepath.Join(b.dir, fmt.Sprintf("payloads-%d.db", n))
	b.logf("sqlite value %d: writing %s", n, db)
	// replace(hex(zeroblob(k)), '00', …) repeats a string k times: SQLite
	// has no repeat().
	create := fmt.Sprintf(`CREATE TABLE payloads(id INTEGER PRIMARY KEY, payload TEXT);
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < %d)
INSERT INTO payloads SELECT x, 'payload-' || x || '-' || replace(hex(zeroblob(%d)), '00', 'x') FROM g;`, n, payloadPad)
	if out, err := exec.CommandContext(ctx, "sqlite3", db, create).CombinedOutput(); err != nil {
		return fmt.Errorf("sqlite3: %v: %s", err, out)
	}
	const query = "SELECT id, payload FROM payloads ORDER BY id"
	pipe := b.pipeVariant(ctx, "sqlite3 → awk → redis-cli --pipe", `sqlite3 -tabs "$SQLITE_DB" "`+query+`"`,
		[]string{"SQLITE_DB=" + db}, n, payload)
	return b.sqlValueRows(ctx, "sqlite", n, fmt.Sprintf("{ sql = %q, dsn = %q }", query, "sqlite:"+db), pipe)
}
