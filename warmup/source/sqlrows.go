package source

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	// The pure-Go SQLite driver: go build needs no C toolchain.
	"modernc.org/sqlite"
)

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
}

func openPostgres(ctx context.Context, dsn, query string) (rowCursor, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid PostgreSQL DSN: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("begin a read-only transaction: %w", err)
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
	buf = append(buf, '{')
	for i, v := range c.rr.Values() {
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
	return appendJSONKeepingBytes(buf, string(v))
}

// jsonNumber reports whether b is a JSON number (not NaN, Infinity).
func jsonNumber(b []byte) bool {
	return len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) && validJSON(b)
}

func (c *pgCursor) err() error { return c.failed }

func (c *pgCursor) close() error {
	// Closing must work after the run's context ended: a fresh one,
	// bounded, rolls back and says goodbye.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.rr == nil && c.tx != nil {
		c.tx.Rollback(ctx)
	}
	// Rows still to come are not read: closing the connection ends the
	// query and its transaction on the server.
	return c.conn.Close(ctx)
}

// sqliteCursor reads rows from a SQLite file opened read-only.
type sqliteCursor struct {
	db     *sql.DB
	tx     *sql.Tx
	rows   *sql.Rows
	names  []string
	keys   [][]byte
	vals   []any
	ptrs   []any
	failed error
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
	if err := refuseAttach(ctx, db); err != nil {
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
		return nil, err
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
	c.vals = make([]any, len(c.names))
	c.ptrs = make([]any, len(c.names))
	for i := range c.vals {
		c.ptrs[i] = &c.vals[i]
	}
	return c, nil
}

// sqliteLimitAttached is SQLite's SQLITE_LIMIT_ATTACHED.
const sqliteLimitAttached = 7

// refuseAttach sets the pool's one connection to attach no database:
// read-only mode and query_only cover the file the DSN names, but ATTACH
// would create any other path the query names, as an empty file.
func refuseAttach(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = sqlite.Limit(conn, sqliteLimitAttached, 0)
	return err
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
	buf = append(buf, '{')
	for i, v := range c.vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, c.keys[i]...)
		buf = appendGoValue(buf, v)
	}
	return append(buf, '}'), true
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
		return appendJSONKeepingBytes(buf, x)
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
