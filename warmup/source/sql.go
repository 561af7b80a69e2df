package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cachewarm/cachewarm/internal/redact"
)

// KindSQL is a SQL source's resume point: Next counts the rows already
// yielded, which a later run skips by re-running the query with an
// OFFSET.
const KindSQL = "sql"

// SQL drivers a DSN can name (SQLDriver).
const (
	DriverPostgres = "postgres"
	DriverSQLite   = "sqlite"
)

// SQLDriver is the driver a DSN names: DriverPostgres for postgres:// and
// postgresql:// URLs and libpq keyword/value DSNs (host=db dbname=app),
// DriverSQLite for sqlite: and file: ones, else "".
func SQLDriver(dsn string) string {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"), pgKeywords.MatchString(dsn):
		return DriverPostgres
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		return DriverSQLite
	}
	return ""
}

// SQLitePath is the database file a sqlite: or file: DSN names, without
// its URI parameters: "sqlite:///var/db/app.db" and "file:app.db?cache=shared"
// name /var/db/app.db and app.db.
func SQLitePath(dsn string) string {
	rest := dsn
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// SQLSpec is items = { sql = "SELECT …", dsn = "…" }: a query whose rows
// are the items, run in a read-only transaction.
type SQLSpec struct {
	// SQL is the query: one read-only statement.
	SQL string
	// DSN is a postgres:// or postgresql:// URL, libpq keywords
	// (host=… dbname=…), or a sqlite: or file: DSN naming a SQLite file.
	DSN string
	// DSNShown is how DSN is shown: its credentials hidden.
	DSNShown string
	counted
}

type sqlKind struct{}

type sqlShape struct {
	SQL *string `toml:"sql"`
	DSN *string `toml:"dsn"`
}

func (sqlKind) Key() string { return "sql" }
func (sqlKind) Shape() any  { return &sqlShape{} }

// Decode validates a loader's query and DSN: a DSN of a known kind, its
// credentials secrets from here on. check then has the database describe
// the query (not run it), once nothing else is wrong, so that a syntax
// error, a missing table, a write or a refused connection is a config
// error, before anything is written.
func (sqlKind) Decode(shape any, d Decoder) Spec {
	raw := shape.(*sqlShape)
	if raw.SQL == nil {
		if raw.DSN != nil {
			d.Fail(d.Path("dsn"), "dsn goes with sql")
		}
		return nil
	}
	spec := SQLSpec{SQL: strings.TrimSpace(d.Expand(d.Path("sql"), *raw.SQL, false))}
	if spec.SQL == "" {
		d.Fail(d.Path("sql"), "the query is empty")
		return spec
	}
	if raw.DSN == nil || strings.TrimSpace(*raw.DSN) == "" {
		d.Fail(d.Path("dsn"), "sql needs a dsn: a postgres:// URL or host=… dbname=… keywords, or sqlite:FILE")
		return spec
	}
	// The DSN's credentials are secrets, not the whole of it: the rest
	// says where the rows come from. What ${VAR} brings in is a secret
	// whole, as in every field that may carry credentials.
	spec.DSN = d.Expand(d.Path("dsn"), strings.TrimSpace(*raw.DSN), true)
	d.Secrets().Add(redact.DSNSecrets(spec.DSN)...)
	spec.DSNShown = d.Secrets().DSN(spec.DSN)
	if strings.Contains(*raw.DSN, "${") {
		// Shown as written: the value is the environment's, and its host,
		// database and options are no less its own than its password.
		spec.DSNShown = strings.TrimSpace(*raw.DSN)
	}
	switch SQLDriver(spec.DSN) {
	case DriverPostgres:
	case DriverSQLite:
		spec.DSNShown = spec.DSN
		sqliteFile(d, &spec)
	default:
		what := "an unsupported DSN"
		if strings.Contains(spec.DSN, "://") {
			// Only a URL's credentials are known to be hidden: any other
			// form is not shown at all.
			what = fmt.Sprintf("unsupported DSN %q", d.Secrets().Redact(spec.DSNShown))
		}
		d.Fail(d.Path("dsn"), "%s (use postgres://, postgresql://, host=… dbname=…, sqlite:FILE or file:FILE)", what)
	}
	return spec
}

// sqliteFile anchors a SQLite DSN's relative file at the config's folder,
// as items files are, and checks that it exists: opened read-only, a
// missing file would otherwise say only "unable to open database file".
func sqliteFile(d Decoder, spec *SQLSpec) {
	path := d.Path("dsn")
	file := SQLitePath(spec.DSN)
	if file == "" {
		d.Fail(path, "the DSN names no SQLite file")
		return
	}
	abs := d.Resolve(file)
	if abs != file {
		scheme, rest, _ := strings.Cut(spec.DSN, ":")
		spec.DSN = scheme + ":" + strings.Replace(rest, file, abs, 1)
	}
	switch st, err := os.Stat(abs); {
	case err != nil:
		d.Fail(path, "%s", FileErr(err))
	case st.IsDir():
		d.Fail(path, "%s is a directory", abs)
	}
}

// Describe is the query on one line, then where it runs, its
// credentials hidden: "SELECT id FROM products (sqlite:shop.db)".
func (s SQLSpec) Describe() string {
	q := strings.Join(strings.Fields(s.SQL), " ")
	where := s.DSNShown
	if where == "" {
		where = SQLDriver(s.DSN)
	}
	return q + " (" + where + ")"
}

func (SQLSpec) describeResume(r Resume) string { return fmt.Sprintf("from row %d", r.Next+1) }
func (SQLSpec) family() string                 { return KindSQL }

// rowCursor streams a query's rows, each as a JSON object of its
// columns.
type rowCursor interface {
	// columns are the result's column names, in order.
	columns() []string
	// next appends the next row's JSON to buf, or returns false at the
	// end or on an error (err).
	next(buf []byte) ([]byte, bool)
	// tooLong says the row next gave is longer than MaxLine as JSON:
	// next gave only its start, to name it.
	tooLong() bool
	err() error
	close() error
}

// sqlSource streams the rows of a query in a read-only transaction. It
// connects at the first Next, so that opening it never waits for a
// server.
type sqlSource struct {
	ctx  context.Context
	spec SQLSpec
	cur  rowCursor
	// skip is where it started (a resume point's row count), and rows
	// the number of rows yielded since.
	skip, rows int64
	done       bool
	stopped    bool
	err        error
}

func (spec SQLSpec) open(ctx context.Context, from *Resume) (Source, error) {
	s := &sqlSource{ctx: ctx, spec: spec}
	if from != nil {
		if from.Next < 0 {
			return nil, fmt.Errorf("resume point row %d is not a row", from.Next)
		}
		s.skip = from.Next
	}
	return s, nil
}

// start runs the query; an error here is one before any row was read.
func (s *sqlSource) start() error {
	query := s.spec.SQL
	if s.skip > 0 {
		query = withOffset(query, s.skip, SQLDriver(s.spec.DSN))
	}
	cur, err := openCursor(s.ctx, s.spec.DSN, query)
	if err != nil {
		return err
	}
	if err := duplicateColumn(cur.columns()); err != nil {
		cur.close()
		return fmt.Errorf("the query's result: %w", err)
	}
	s.cur = cur
	return nil
}

func openCursor(ctx context.Context, dsn, query string) (rowCursor, error) {
	if err := oneStatement(query); err != nil {
		return nil, err
	}
	switch SQLDriver(dsn) {
	case DriverPostgres:
		return openPostgres(ctx, dsn, query)
	case DriverSQLite:
		return openSQLite(ctx, dsn, query)
	}
	return nil, errors.New("unsupported DSN (use postgres://, postgresql://, host=… dbname=…, sqlite: or file:)")
}

// pgKeywords matches the start of a libpq keyword/value DSN.
var pgKeywords = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|sslmode|connect_timeout|application_name|options|service)\s*=`)

// trailing matches what may end a query but cannot go inside a
// subquery: semicolons and the blanks around them.
var trailing = regexp.MustCompile(`[\s;]+$`)

// withOffset wraps query so that its first n rows are not sent. The
// newlines keep a trailing -- comment from swallowing the wrapper.
func withOffset(query string, n int64, driver string) string {
	q := trailing.ReplaceAllString(query, "")
	off := " OFFSET " + strconv.FormatInt(n, 10)
	if driver == DriverSQLite {
		// SQLite has OFFSET only after a LIMIT; -1 is none.
		off = " LIMIT -1" + off
	}
	return "SELECT * FROM (\n" + q + "\n) AS cachewarm_resume" + off
}

func (s *sqlSource) Next() (Item, bool) {
	if s.done || s.stopped || s.err != nil {
		return Item{}, false
	}
	if s.ctx.Err() != nil {
		// Rows the driver holds already are not items: the run stopped.
		s.stopped = true
		return Item{}, false
	}
	if s.cur == nil {
		if err := s.start(); err != nil {
			s.fail(err)
			return Item{}, false
		}
	}
	raw, ok := s.cur.next(nil)
	if !ok {
		if err := s.cur.err(); err != nil {
			s.fail(err)
		} else {
			s.done = true
		}
		return Item{}, false
	}
	s.rows++
	row := s.skip + s.rows
	it := Item{File: "row " + strconv.FormatInt(row, 10), jsonText: true}
	if len(raw) > MaxLine || s.cur.tooLong() {
		it.Raw = jsonString(string(raw[:min(len(raw), 64)]) + "…")
		it.Err = fmt.Errorf("%s: longer than %d bytes as JSON", it.File, MaxLine)
		return it, true
	}
	it.Raw = raw
	return it, true
}

// fail ends the stream: stopped when the run's stop cancelled the query,
// else with an error naming how far the rows got.
func (s *sqlSource) fail(err error) {
	if s.ctx.Err() != nil {
		s.stopped = true
		return
	}
	s.err = fmt.Errorf("query failed after %d rows: %w", s.skip+s.rows, err)
}

func (s *sqlSource) Err() error   { return s.err }
func (s *sqlSource) Total() int64 { return -1 }
func (s *sqlSource) Resume() Resume {
	if s.done {
		return Resume{Done: true}
	}
	return Resume{Kind: KindSQL, Next: s.skip + s.rows, Remaining: -1}
}

func (s *sqlSource) Close() error {
	if s.cur == nil {
		return nil
	}
	return s.cur.close()
}

// check checks the spec's query as a run starts, without running it:
// one statement, that compiles against the database as a read-only
// query, each of whose columns has a name of its own. A syntax error, a
// missing table, a write or a refused connection is found before anything
// is written, and a query that takes 20 s costs nothing here.
func (spec SQLSpec) check(ctx context.Context) error {
	if err := oneStatement(spec.SQL); err != nil {
		return err
	}
	var names []string
	var err error
	switch SQLDriver(spec.DSN) {
	case DriverPostgres:
		names, err = describePostgres(ctx, spec.DSN, spec.SQL)
	case DriverSQLite:
		names, err = describeSQLite(ctx, spec.DSN, spec.SQL)
	default:
		_, err = openCursor(ctx, spec.DSN, spec.SQL)
	}
	if err != nil {
		return err
	}
	if err := duplicateColumn(names); err != nil {
		return fmt.Errorf("the query's result: %w", err)
	}
	return nil
}

// oneStatement refuses a query of more than one statement: the drivers
// would run them all and give the last one's rows (SQLite), so
// "SELECT …; PRAGMA query_only=0" would switch off what keeps the run
// read-only. Quotes, bracketed names and comments are skipped; trailing
// semicolons are allowed.
func oneStatement(q string) error {
	ended := false
	for i := 0; i < len(q); {
		c := q[i]
		if c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			ended = ended || c == ';'
			i++
			continue
		}
		open, end := 1, ""
		switch {
		case c == '\'' || c == '"' || c == '`':
			end = string(c)
		case c == '[':
			end = "]"
		case strings.HasPrefix(q[i:], "--"):
			open, end = 2, "\n"
		case strings.HasPrefix(q[i:], "/*"):
			open, end = 2, "*/"
		}
		comment := open == 2
		if ended && !comment {
			return errors.New("the query has more than one statement: give one SELECT")
		}
		if end == "" {
			i++
			continue
		}
		n := closing(q[i+open:], end)
		if n < 0 {
			return nil // not closed: the database says what is wrong
		}
		i += open + n
	}
	return nil
}

// closing is how far into s the end of a quote or comment opened just
// before it reaches, end included, or -1 when it is not closed.
func closing(s, end string) int {
	i := strings.Index(s, end)
	if i < 0 {
		return -1
	}
	return i + len(end)
}
