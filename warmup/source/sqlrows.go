package source

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	// The pure-Go SQLite driver: go build needs no C toolchain.
	"modernc.org/sqlite"
)

// cancelWait is how long a stopped query's connection waits for the
// server to confirm the cancel before it gives up on the socket.
const cancelWait = 2 * time.Second

// connectTimeout bounds connecting to PostgreSQL when the DSN sets no
// connect_timeout: a server that does not answer is an error, not a hang.
const connectTimeout = 10 * time.Second

// PostgreSQL type OIDs whose text form is already JSON of the right kind.
const (
	oidBool    = 16
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidOID     = 26
	oidJSON    = 114
	oidFloat4  = 700
	oidFloat8  = 701
	oidNumeric = 1700
	oidJSONB   = 3802
)

// pgCursor reads rows from PostgreSQL in text form, as the server
// streams them: the protocol's backpressure, not a buffer of the whole
// result, bounds what is held.
type pgCursor struct {
	conn   *pgx.Conn
	tx     pgx.Tx
	rr     *pgconn.ResultReader
	fields []pgconn.FieldDescription
	names  []string
	// keys are the columns' names as JSON object keys, with the colon.
	keys   [][]byte
	failed error
	// long says the last row read is longer than MaxLine as JSON: next
	// gave only its start.
	long bool
}

// beginPostgres connects to dsn and begins a read-only transaction.
func beginPostgres(ctx context.Context, dsn string) (*pgx.Conn, pgx.Tx, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid PostgreSQL DSN: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	// A stop cancels the query on the server: by default pgx only gives
	// up on the socket, and a backend still working on its first row goes
	// on for as long as the query takes.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelWait}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, nil, fmt.Errorf("begin a read-only transaction: %w", err)
	}
	return conn, tx, nil
}

// describePostgres is the query's column names, as the server parses and
// plans it without running it: the statement prepared for its shape, and
// EXPLAINed (which runs nothing) to refuse one that would write.
func describePostgres(ctx context.Context, dsn, query string) ([]string, error) {
	conn, tx, err := beginPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer (&pgCursor{conn: conn, tx: tx}).close()
	sd, err := tx.Conn().PgConn().Prepare(ctx, "", query, nil)
	if err != nil {
		return nil, err
	}
	if len(sd.Fields) == 0 {
		return nil, errors.New("the statement returns no rows: use a SELECT")
	}
	var plan string
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+query).Scan(&plan); err != nil {
		return nil, err
	}
	if strings.Contains(plan, `"ModifyTable"`) {
		return nil, errors.New("the query writes: cachewarm only reads (a read-only transaction)")
	}
	names := make([]string, len(sd.Fields))
	for i, f := range sd.Fields {
		names[i] = f.Name
	}
	return names, nil
}

func openPostgres(ctx context.Context, dsn, query string) (rowCursor, error) {
	conn, tx, err := beginPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	c := &pgCursor{conn: conn, tx: tx}
	// The extended protocol runs one statement only: a query cannot end
	// the read-only transaction and write after it.
	c.rr = tx.Conn().PgConn().ExecParams(ctx, query, nil, nil, nil, nil)
	c.fields = c.rr.FieldDescriptions()
	if c.fields == nil {
		_, err := c.rr.Close()
		c.close()
		if err == nil {
			err = errors.New("the statement returns no rows: use a SELECT")
		}
		return nil, err
	}
	c.names = make([]string, len(c.fields))
	for i, f := range c.fields {
		c.names[i] = f.Name
	}
	c.keys = objectKeys(c.names)
	return c, nil
}

func (c *pgCursor) columns() []string { return c.names }

func (c *pgCursor) next(buf []byte) ([]byte, bool) {
	if c.rr == nil {
		return nil, false
	}
	if !c.rr.NextRow() {
		_, c.failed = c.rr.Close()
		c.rr = nil
		return nil, false
	}
	vals := c.rr.Values()
	n := jsonAtLeast(vals)
	if c.long = n > MaxLine; c.long {
		return rowStart(buf, c.keys, vals), true
	}
	buf = slices.Grow(buf, rowSize(n, c.keys))
	buf = append(buf, '{')
	for i, v := range vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, c.keys[i]...)
		buf = appendPGValue(buf, c.fields[i].DataTypeOID, v)
	}
	return append(buf, '}'), true
}

// appendPGValue appends a column's text form as JSON: integers stay
// integers, finite floats and numerics numbers, booleans booleans, json
// and jsonb their JSON, NULL null, and anything else (times, uuids,
// bytea as \x hex) the string psql prints.
func appendPGValue(buf []byte, oid uint32, v []byte) []byte {
	if v == nil {
		return append(buf, "null"...)
	}
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return append(buf, v...)
	case oidFloat4, oidFloat8, oidNumeric:
		if jsonNumber(v) {
			return append(buf, v...)
		}
	case oidBool:
		if string(v) == "t" {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case oidJSON, oidJSONB:
		if validJSON(v) {
			return append(buf, v...)
		}
	}
	return appendJSONText(buf, v)
}

// jsonNumber reports whether b is a JSON number (not NaN, Infinity).
func jsonNumber(b []byte) bool {
	return len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) && validJSON(b)
}

func (c *pgCursor) err() error { return c.failed }

func (c *pgCursor) tooLong() bool { return c.long }

// jsonAtLeast is the least length of a row's JSON: its values' own.
func jsonAtLeast(vals [][]byte) int {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	return n
}

// rowSize is the length of a row's JSON when nothing in it is escaped:
// its values' least length n, its keys, quotes and commas, and a number's
// digits or a null's letters beyond that (which n counts only for text).
// The row is made in one allocation, not grown into.
func rowSize(n int, keys [][]byte) int {
	for _, k := range keys {
		n += len(k) + 24
	}
	return n + 2
}

// rowStart is the start of a row too long to make JSON of, enough to say
// which row it was: the first column's key and its value's first bytes,
// whatever they are. Nothing the size of the row is made.
func rowStart(buf []byte, keys [][]byte, vals [][]byte) []byte {
	buf = append(buf, '{')
	if len(vals) == 0 {
		return buf
	}
	buf = append(buf, keys[0]...)
	return append(buf, vals[0][:min(len(vals[0]), 64)]...)
}

func (c *pgCursor) close() error {
	// Closing must work after the run's context ended: a fresh one,
	// bounded, rolls back and says goodbye.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.rr == nil && c.tx != nil {
		c.tx.Rollback(ctx)
	}
	if c.rr != nil {
		// Rows still to come are not read: the server is told to stop
		// the query, which closing the socket alone does not do while it
		// computes.
		c.conn.PgConn().CancelRequest(ctx)
	}
	return c.conn.Close(ctx)
}

// sqliteCursor reads rows from a SQLite file opened read-only.
type sqliteCursor struct {
	db    *sql.DB
	tx    *sql.Tx
	rows  *sql.Rows
	names []string
	keys  [][]byte
	// vals take the driver's values as they are, not copied: a 100 MB
	// TEXT or BLOB is held once.
	vals   []driverValue
	ptrs   []any
	failed error
	// long says the last row read is longer than MaxLine as JSON: next
	// gave only its start.
	long bool
}

// driverValue is a scan destination that keeps the driver's value
// itself: database/sql copies a []byte into an any, and a row's values
// are read before the next row is.
type driverValue struct{ v any }

// Scan keeps src.
func (d *driverValue) Scan(src any) error {
	d.v = src
	return nil
}

// sqliteDSN is the driver's DSN for a sqlite: or file: DSN: the file,
// opened read-only with writes refused, and the DSN's own parameters.
func sqliteDSN(dsn string) string {
	params := url.Values{}
	if i := strings.IndexByte(dsn, '?'); i >= 0 {
		params, _ = url.ParseQuery(dsn[i+1:])
	}
	params.Set("mode", "ro")
	params.Add("_pragma", "query_only(1)")
	return "file:" + SQLitePath(dsn) + "?" + params.Encode()
}

func openSQLite(ctx context.Context, dsn, query string) (rowCursor, error) {
	db, err := sql.Open("sqlite", sqliteDSN(dsn))
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	db.SetMaxOpenConns(1)
	guard, err := readOnlyConn(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", SQLitePath(dsn), err)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", SQLitePath(dsn), err)
	}
	c := &sqliteCursor{db: db, tx: tx}
	c.rows, err = tx.QueryContext(ctx, query)
	if err != nil {
		c.close()
		return nil, guard.explain(err)
	}
	if c.names, err = c.rows.Columns(); err != nil {
		c.close()
		return nil, err
	}
	if len(c.names) == 0 {
		c.close()
		return nil, errors.New("the statement returns no rows: use a SELECT")
	}
	c.keys = objectKeys(c.names)
	c.vals = make([]driverValue, len(c.names))
	c.ptrs = make([]any, len(c.names))
	for i := range c.vals {
		c.ptrs[i] = &c.vals[i]
	}
	return c, nil
}

// sqliteLimitAttached is SQLite's SQLITE_LIMIT_ATTACHED.
const sqliteLimitAttached = 7

// readGuard is the authorizer readOnlyConn installs: it remembers the
// first operation it refused, to say why a query was.
type readGuard struct {
	mu      sync.Mutex
	refused string
}

// readOnlyConn sets the pool's one connection to attach no database and
// to compile only statements that read: read-only mode and query_only
// cover the file the DSN names, but ATTACH would create any other path
// the query names, as an empty file, and a PRAGMA could switch
// query_only off.
func readOnlyConn(ctx context.Context, db *sql.DB) (*readGuard, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err = sqlite.Limit(conn, sqliteLimitAttached, 0); err != nil {
		return nil, err
	}
	g := &readGuard{}
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("the SQLite driver takes no authorizer")
		}
		return r.RegisterAuthorizer(g.authorize)
	})
	return g, err
}

// authorize lets a statement read, call functions and begin or end its
// transaction; anything else (a write, a PRAGMA, ATTACH) is refused as
// it is compiled.
func (g *readGuard) authorize(action sqlite.AuthorizerActionCode, arg1, _, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthFunction, sqlite.AuthRecursive, sqlite.AuthTransaction:
		return sqlite.AuthorizerOK
	}
	g.mu.Lock()
	if g.refused == "" {
		g.refused = authorizerAction(action, arg1)
	}
	g.mu.Unlock()
	return sqlite.AuthorizerDeny
}

// explain says why err happened when the guard refused the query.
func (g *readGuard) explain(err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refused == "" {
		return err
	}
	return fmt.Errorf("the query may only read (it would %s): %w", g.refused, err)
}

// authorizerAction names a refused operation for people.
func authorizerAction(action sqlite.AuthorizerActionCode, arg string) string {
	switch action {
	case sqlite.AuthPragma:
		return "set PRAGMA " + arg
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete:
		return "write to " + arg
	case sqlite.AuthAttach, sqlite.AuthDetach:
		return "attach a database"
	}
	return "change the database"
}

// describeSQLite is the query's column names, found without running it:
// the query is compiled (refused if it would write), then wrapped in a
// SELECT whose WHERE 0 SQLite decides before reading a row.
func describeSQLite(ctx context.Context, dsn, query string) ([]string, error) {
	db, err := sql.Open("sqlite", sqliteDSN(dsn))
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	guard, err := readOnlyConn(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", SQLitePath(dsn), err)
	}
	stmt, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, guard.explain(err)
	}
	stmt.Close()
	rows, err := db.QueryContext(ctx, "SELECT * FROM (\n"+trailing.ReplaceAllString(query, "")+"\n) WHERE 0")
	if err != nil {
		return nil, guard.explain(err)
	}
	names, err := rows.Columns()
	rows.Close()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("the statement returns no rows: use a SELECT")
	}
	return unwrappedNames(names), nil
}

// unwrappedNames undoes SQLite's renaming of a subquery's repeated
// column names ("id", "id:1"), so that duplicateColumn sees them.
func unwrappedNames(names []string) []string {
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if base, num, ok := strings.Cut(n, ":"); ok && seen[base] && num != "" && strings.Trim(num, "0123456789") == "" {
			names[i] = base
		}
		seen[names[i]] = true
	}
	return names
}

func (c *sqliteCursor) columns() []string { return c.names }

func (c *sqliteCursor) next(buf []byte) ([]byte, bool) {
	if c.rows == nil {
		return nil, false
	}
	if !c.rows.Next() {
		c.failed = c.rows.Err()
		c.rows.Close()
		c.rows = nil
		return nil, false
	}
	if err := c.rows.Scan(c.ptrs...); err != nil {
		c.failed = err
		c.rows.Close()
		c.rows = nil
		return nil, false
	}
	n := c.jsonAtLeast()
	if c.long = n > MaxLine; c.long {
		var start [][]byte
		if len(c.vals) > 0 {
			start = [][]byte{valueStart(c.vals[0].v)}
		}
		return rowStart(buf, c.keys, start), true
	}
	buf = slices.Grow(buf, rowSize(n, c.keys))
	buf = append(buf, '{')
	for i, v := range c.vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, c.keys[i]...)
		buf = appendGoValue(buf, v.v)
	}
	return append(buf, '}'), true
}

func (c *sqliteCursor) tooLong() bool { return c.long }

// jsonAtLeast is the least length of the row's JSON: its strings', and
// twice its blobs' (hex).
func (c *sqliteCursor) jsonAtLeast() int {
	n := 0
	for _, v := range c.vals {
		switch x := v.v.(type) {
		case string:
			n += len(x)
		case []byte:
			n += 2 * len(x)
		}
	}
	return n
}

// valueStart is the first bytes of a value, to name a row too long.
func valueStart(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x[:min(len(x), 64)])
	case []byte:
		return x[:min(len(x), 64)]
	}
	return nil
}

// appendGoValue appends a value database/sql scanned as JSON, in the
// same forms as appendPGValue.
func appendGoValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return appendJSONString(buf, strconv.FormatFloat(x, 'g', -1, 64))
		}
		return strconv.AppendFloat(buf, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(buf, x)
	case string:
		return appendJSONText(buf, x)
	case []byte:
		return appendJSONString(buf, `\x`+hex.EncodeToString(x))
	case time.Time:
		return appendJSONString(buf, x.Format(time.RFC3339Nano))
	}
	return appendJSONString(buf, fmt.Sprint(v))
}

func (c *sqliteCursor) err() error { return c.failed }

func (c *sqliteCursor) close() error {
	if c.rows != nil {
		c.rows.Close()
	}
	if c.tx != nil {
		c.tx.Rollback()
	}
	return c.db.Close()
}

// appendJSONText appends a text column's value as a JSON string, exactly
// as appendJSONKeepingBytes does. Most text is printable ASCII with
// nothing to escape, written as it is: encoding/json, which escapes the
// rest, was a tenth of a SQL loader's CPU.
func appendJSONText[T string | []byte](buf []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSONKeepingBytes(buf, string(s))
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

func appendJSONString(buf []byte, s string) []byte {
	return append(buf, jsonString(s)...)
}

// objectKeys are names as JSON object keys, each with its colon.
func objectKeys(names []string) [][]byte {
	keys := make([][]byte, len(names))
	for i, n := range names {
		keys[i] = append(jsonString(n), ':')
	}
	return keys
}
