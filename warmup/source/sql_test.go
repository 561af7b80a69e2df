package source_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/pgtest"
	"github.com/cachewarm/cachewarm/warmup/source"
	"github.com/jackc/pgx/v5"
)

// sqliteDB creates a SQLite file holding the statements' tables and
// returns its sqlite: DSN.
func sqliteDB(t *testing.T, stmts string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range strings.Split(stmts, ";\n") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return "sqlite:" + path
}

// readRows reads up to n rows (all when n < 0) of src as JSON.
func readRows(src source.Source, n int) []string {
	var rows []string
	for n < 0 || len(rows) < n {
		it, ok := src.Next()
		if !ok {
			break
		}
		rows = append(rows, string(it.Raw))
	}
	return rows
}

const tenRows = `CREATE TABLE t (id INTEGER PRIMARY KEY, slug TEXT);
INSERT INTO t (id, slug) VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e'),(6,'f'),(7,'g'),(8,'h'),(9,'i'),(10,'j')`

// database is a driver to run the shared SQL tests on: a DSN holding
// tenRows's table, and the JSON of a row of typed values.
type database struct {
	name  string
	dsn   string
	typed string
	want  string
	// failsWhenRun is a query that compiles but fails once a row is
	// computed.
	failsWhenRun string
	// longRow is a query whose first row has 2 MB of text, its second
	// row a small one.
	longRow string
}

func sqliteDatabase(t *testing.T) database {
	return database{
		name: "sqlite",
		dsn:  sqliteDB(t, tenRows),
		typed: `SELECT 42 AS n, -7 AS neg, 1.5 AS f, 'x"<y>' AS s, NULL AS z, X'00ff' AS b,
			9223372036854775807 AS big`,
		want:         `{"n":42,"neg":-7,"f":1.5,"s":"x\"\u003cy\u003e","z":null,"b":"\\x00ff","big":9223372036854775807}`,
		failsWhenRun: "SELECT json_extract('not json', '$') AS x FROM t",
		longRow:      "SELECT 1 AS id, replace(hex(zeroblob(1000000)), '00', 'xx') AS v UNION ALL SELECT 2, 'small'",
	}
}

func postgresDatabase(t *testing.T, srv *pgtest.Server) database {
	srv.Exec(t, "DROP TABLE IF EXISTS t; "+tenRows)
	return database{
		name: "postgres",
		dsn:  srv.DSN("postgres"),
		typed: `SELECT 42 AS n, -7::int2 AS neg, 1.5::float8 AS f, 'x"<y>'::text AS s, NULL::text AS z, '\x00ff'::bytea AS b,
			9223372036854775807::int8 AS big, 12.50::numeric AS price, 'NaN'::float8 AS nan, true AS yes,
			'{"a":[1,2]}'::jsonb AS doc, '2024-01-02 03:04:05+00'::timestamptz AS at,
			'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u`,
		want: `{"n":42,"neg":-7,"f":1.5,"s":"x\"\u003cy\u003e","z":null,"b":"\\x00ff","big":9223372036854775807,` +
			`"price":12.50,"nan":"NaN","yes":true,"doc":{"a": [1, 2]},"at":"2024-01-02 03:04:05+00",` +
			`"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}`,
		failsWhenRun: "SELECT 1 / (id - id) AS x FROM t",
		longRow:      "SELECT 1 AS id, repeat('x', 2000000) AS v UNION ALL SELECT 2, 'small'",
	}
}

func TestSQLite(t *testing.T) {
	testSQL(t, sqliteDatabase(t))
}

// A statement that would switch off what keeps SQLite read-only, or that
// writes, is refused as it is compiled, before it runs.
func TestSQLiteOnlyReads(t *testing.T) {
	dsn := sqliteDB(t, tenRows)
	for _, c := range []struct{ query, want string }{
		{"SELECT id FROM t; PRAGMA query_only=0; PRAGMA journal_mode=DELETE", "more than one statement"},
		{"PRAGMA journal_mode=DELETE", "may only read (it would set PRAGMA journal_mode)"},
		{"PRAGMA query_only=0", "may only read (it would set PRAGMA query_only)"},
		{"INSERT INTO t (id) VALUES (99) RETURNING id", "may only read (it would write to t)"},
	} {
		spec := source.SQLSpec{SQL: c.query, DSN: dsn}
		if err := source.Check(spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("check %q: err = %v, want %q", c.query, err, c.want)
		}
		src, _ := source.Open(spec, nil)
		if rows := readRows(src, -1); len(rows) > 0 || src.Err() == nil || !strings.Contains(src.Err().Error(), c.want) {
			t.Errorf("run %q: rows %v, err %v, want %q", c.query, rows, src.Err(), c.want)
		}
		src.Close()
	}
}

func TestSQLiteQueryCreatesNoFile(t *testing.T) {
	dir := t.TempDir()
	for _, q := range []string{
		"ATTACH '" + filepath.Join(dir, "a.db") + "' AS a",
		"SELECT id FROM t; ATTACH 'file:" + filepath.Join(dir, "b.db") + "?mode=rwc' AS b",
	} {
		spec := source.SQLSpec{SQL: q, DSN: sqliteDB(t, tenRows)}
		if err := source.Check(spec); err == nil {
			t.Errorf("%q: accepted", q)
		}
		if src, err := source.Open(spec, nil); err == nil {
			readRows(src, -1)
			src.Close()
		}
	}
	if made, _ := filepath.Glob(filepath.Join(dir, "*")); len(made) > 0 {
		t.Fatalf("the queries created %v", made)
	}
}

func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	db := postgresDatabase(t, srv)
	testSQL(t, db)
	t.Run("a refused password is an error before any row", func(t *testing.T) {
		bad := strings.Replace(db.dsn, pgtest.Password, "wrong-password", 1)
		err := source.Check(source.SQLSpec{SQL: "SELECT 1", DSN: bad})
		if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a server that is not there is an error before any row", func(t *testing.T) {
		gone := strings.Replace(db.dsn, srv.Addr(), "127.0.0.1:1", 1)
		if err := source.Check(source.SQLSpec{SQL: "SELECT 1", DSN: gone}); err == nil || !strings.Contains(err.Error(), "connect") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a stop cancels a query still waiting for its first row, on the server", func(t *testing.T) {
		const q = "SELECT 1 AS id FROM pg_sleep(60)"
		ctx, cancel := context.WithCancel(context.Background())
		src, err := source.OpenContext(ctx, source.SQLSpec{SQL: q, DSN: db.dsn}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		// The connection that watches is open before the stop, so that
		// what it sees right after is the state then.
		watch := monitor(t, db.dsn)
		done := make(chan []string)
		go func() { done <- readRows(src, -1) }()
		waitActive(t, watch, q)
		cancel()
		if rows := <-done; len(rows) > 0 {
			t.Errorf("rows %v after the stop", rows)
		}
		src.Close()
		// At once, not eventually: cachewarm exits right after its
		// sources stop, and a cancel still on its way then never lands.
		if n := activeCount(t, watch, q); n != 0 {
			t.Errorf("the server still runs the query after the source stopped")
		}
		if at := src.Resume(); src.Err() != nil || at.Done || at.Next != 0 {
			t.Errorf("err %v, resume %+v: want stopped before the first row", src.Err(), at)
		}
	})
	t.Run("a stop cancels the query, and the resume point counts the rows read", func(t *testing.T) {
		srv.Exec(t, "CREATE TABLE many AS SELECT g AS id FROM generate_series(1, 300000) g")
		ctx, cancel := context.WithCancel(context.Background())
		src, err := source.OpenContext(ctx, source.SQLSpec{SQL: "SELECT id FROM many", DSN: db.dsn}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		n := len(readRows(src, 1000))
		cancel()
		if more := readRows(src, -1); len(more) > 0 {
			t.Errorf("%d rows read after the stop", len(more))
		}
		at := src.Resume()
		if src.Err() != nil || at.Done || at.Kind != source.KindSQL || at.Next != int64(n) || n != 1000 {
			t.Fatalf("after %d rows: err %v, resume %+v", n, src.Err(), at)
		}
	})
}

func testSQL(t *testing.T, db database) {
	spec := func(query string) source.Spec { return source.SQLSpec{SQL: query, DSN: db.dsn} }
	t.Run("rows are JSON objects with typed values", func(t *testing.T) {
		src, err := source.Open(spec(db.typed), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		rows := readRows(src, -1)
		if len(rows) != 1 || rows[0] != db.want {
			t.Fatalf("rows = %s\nwant   %s", rows, db.want)
		}
		if src.Err() != nil || !src.Resume().Done {
			t.Fatalf("err %v, resume %+v", src.Err(), src.Resume())
		}
	})
	t.Run("templates see integers as integers", func(t *testing.T) {
		src, _ := source.Open(spec("SELECT id, slug FROM t WHERE id = 3"), nil)
		defer src.Close()
		it, ok := src.Next()
		if !ok {
			t.Fatal(src.Err())
		}
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		m := v.(map[string]any)
		if m["id"] != json.Number("3") || m["slug"] != "c" || it.Where() != "row 1" {
			t.Fatalf("value %#v at %q", v, it.Where())
		}
	})
	t.Run("a resume point re-runs the query from the next row", func(t *testing.T) {
		for _, q := range []string{"SELECT id FROM t ORDER BY id", "SELECT id FROM t ORDER BY id ;\n", "SELECT id FROM t ORDER BY id -- hot ones"} {
			src, err := source.Open(spec(q), nil)
			if err != nil {
				t.Fatal(err)
			}
			first := readRows(src, 4)
			at := src.Resume()
			src.Close()
			if at.Done || at.Kind != source.KindSQL || at.Next != 4 || at.Remaining != -1 {
				t.Fatalf("%q: resume after 4 rows: %+v", q, at)
			}
			rest, err := source.Open(spec(q), &at)
			if err != nil {
				t.Fatal(err)
			}
			got := append(first, readRows(rest, -1)...)
			if rest.Err() != nil || fmt.Sprint(got) != `[{"id":1} {"id":2} {"id":3} {"id":4} {"id":5} {"id":6} {"id":7} {"id":8} {"id":9} {"id":10}]` {
				t.Fatalf("%q: rows %v, err %v", q, got, rest.Err())
			}
			if it := rest.Resume(); !it.Done {
				t.Fatalf("%q: not done: %+v", q, it)
			}
			rest.Close()
		}
	})
	t.Run("a resume point of another kind of source is refused", func(t *testing.T) {
		for _, at := range []source.Resume{{Next: 3, Remaining: 2}, {Offset: 10, Line: 2, Remaining: -1}} {
			if _, err := source.Open(spec("SELECT id FROM t"), &at); err == nil {
				t.Errorf("resume %+v accepted", at)
			}
		}
		if _, err := source.Open(source.RangeSpec{First: 1, Last: 9}, &source.Resume{Kind: source.KindSQL, Next: 3}); err == nil {
			t.Error("a query's resume point accepted for a range")
		}
	})
	t.Run("errors before the first row", func(t *testing.T) {
		for _, c := range []struct{ query, want string }{
			{"SELEC id FROM t", "syntax error"},
			{"SELECT id FROM missing", "missing"},
			{"SELECT id, slug AS id FROM t", `duplicate column "id"`},
			{"DELETE FROM t RETURNING id", "read"},
			{"CREATE TABLE u (x int)", ""},
		} {
			err := source.Check(spec(c.query))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: err = %v, want one saying %q", c.query, err, c.want)
			}
		}
		// Nothing was written: the query ran read-only.
		src, _ := source.Open(spec("SELECT count(*) AS n FROM t"), nil)
		defer src.Close()
		if rows := readRows(src, -1); fmt.Sprint(rows) != `[{"n":10}]` {
			t.Fatalf("rows after the refused writes: %v", rows)
		}
	})
	t.Run("one statement only", func(t *testing.T) {
		for _, q := range []string{
			"SELECT id FROM t; SELECT 2 AS id",
			"SELECT id FROM t /* ; */; -- a comment\nSELECT 2 AS id",
		} {
			if err := source.Check(spec(q)); err == nil || !strings.Contains(err.Error(), "more than one statement") {
				t.Errorf("check %q: err = %v, want more than one statement", q, err)
			}
			src, _ := source.Open(spec(q), nil)
			if rows := readRows(src, -1); len(rows) > 0 || src.Err() == nil || !strings.Contains(src.Err().Error(), "more than one statement") {
				t.Errorf("run %q: rows %v, err %v", q, rows, src.Err())
			}
			src.Close()
		}
		for _, q := range []string{"SELECT id FROM t;", "SELECT ';' AS id -- ; x\n;  ", `SELECT id AS "a;b" FROM t`} {
			if err := source.Check(spec(q)); err != nil {
				t.Errorf("check %q: %v", q, err)
			}
		}
	})
	t.Run("the check does not run the query", func(t *testing.T) {
		// The query fails only once a row is computed: a check that
		// ran it would say so.
		q := db.failsWhenRun
		if err := source.Check(spec(q)); err != nil {
			t.Fatalf("check %q ran it: %v", q, err)
		}
		src, _ := source.Open(spec(q), nil)
		defer src.Close()
		if rows := readRows(src, -1); len(rows) > 0 || src.Err() == nil {
			t.Fatalf("run %q: rows %v, err %v, want it to fail", q, rows, src.Err())
		}
	})
	t.Run("a row longer than the limit is rejected, and the rows after it read", func(t *testing.T) {
		src, _ := source.Open(spec(db.longRow), nil)
		defer src.Close()
		it, ok := src.Next()
		if !ok || it.Err == nil || !strings.Contains(it.Err.Error(), "row 1: longer than") || len(it.Raw) > 200 {
			t.Fatalf("first row: ok %v, err %v, %d bytes kept", ok, it.Err, len(it.Raw))
		}
		if rows := readRows(src, -1); fmt.Sprint(rows) != `[{"id":2,"v":"small"}]` || src.Err() != nil {
			t.Fatalf("rows after it: %v, err %v", rows, src.Err())
		}
	})
	t.Run("an empty result is done at once", func(t *testing.T) {
		if err := source.Check(spec("SELECT id FROM t WHERE id < 0")); err != nil {
			t.Fatal(err)
		}
		src, _ := source.Open(spec("SELECT id FROM t WHERE id < 0"), nil)
		defer src.Close()
		if rows := readRows(src, -1); len(rows) != 0 || !src.Resume().Done {
			t.Fatalf("rows %v, resume %+v", rows, src.Resume())
		}
	})
}

// monitor is a connection to read pg_stat_activity with.
func monitor(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitActive waits until PostgreSQL runs query (active): the server's
// own view, not the client's.
func waitActive(t *testing.T, conn *pgx.Conn, query string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for activeCount(t, conn, query) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the query did not start within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// activeCount is the number of backends running query now.
func activeCount(t *testing.T, conn *pgx.Conn, query string) int {
	t.Helper()
	var n int
	// pg_stat_activity is a snapshot per transaction: a fresh one each
	// time, outside any.
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = $1", query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
