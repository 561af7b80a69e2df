package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/cachewarm/cachewarm/internal/redact"
	"github.com/cachewarm/cachewarm/warmup/source"
)

// itemsSQL validates loader n's query: a DSN of a known kind (its
// password a secret from here on), and one read-only statement the
// database compiles (source.CheckContext: described, not run), so that a
// syntax error, a missing table, a write or a refused connection is a
// config error, before anything is written.
func (v *validator) itemsSQL(n int, query string, dsn *string) source.Spec {
	p := func(field string) string { return fmt.Sprintf("loader[%d].%s", n, field) }
	spec := source.Spec{SQL: strings.TrimSpace(v.expand(p("items.sql"), query, false))}
	if spec.SQL == "" {
		v.fail(p("items.sql"), "the query is empty")
		return spec
	}
	if dsn == nil || strings.TrimSpace(*dsn) == "" {
		v.fail(p("items.dsn"), "sql needs a dsn: a postgres:// URL or host=… dbname=… keywords, or sqlite:FILE")
		return spec
	}
	// The DSN's credentials are secrets, not the whole of it: the rest
	// says where the rows come from.
	spec.DSN = v.expand(p("items.dsn"), strings.TrimSpace(*dsn), false)
	v.secrets.Add(redact.DSNSecrets(spec.DSN)...)
	spec.DSNShown = v.secrets.DSN(spec.DSN)
	switch source.SQLDriver(spec.DSN) {
	case source.DriverPostgres:
	case source.DriverSQLite:
		spec.DSNShown = spec.DSN
		if !v.sqliteFile(p("items.dsn"), &spec) {
			return spec
		}
	default:
		what := "an unsupported DSN"
		if strings.Contains(spec.DSN, "://") {
			// Only a URL's credentials are known to be hidden: any other
			// form is not shown at all.
			what = fmt.Sprintf("unsupported DSN %q", v.secrets.Redact(spec.DSNShown))
		}
		v.fail(p("items.dsn"), "%s (use postgres://, postgresql://, host=… dbname=…, sqlite:FILE or file:FILE)", what)
		return spec
	}
	if v.err != nil {
		// Another error already stops the run: no need to reach the
		// database.
		return spec
	}
	if err := source.CheckContext(v.ctx, spec); err != nil {
		v.fail(p("items.sql"), "%s", v.secrets.Redact(err.Error()))
	}
	return spec
}

// sqliteFile anchors a SQLite DSN's relative file at the config's folder,
// as items files are, and checks that it exists: opened read-only, a
// missing file would otherwise say only "unable to open database file".
func (v *validator) sqliteFile(path string, spec *source.Spec) bool {
	file := source.SQLitePath(spec.DSN)
	if file == "" {
		v.fail(path, "the DSN names no SQLite file")
		return false
	}
	abs := v.file(file)
	if abs != file {
		scheme, rest, _ := strings.Cut(spec.DSN, ":")
		spec.DSN = scheme + ":" + strings.Replace(rest, file, abs, 1)
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		v.fail(path, "%s", source.FileErr(err))
		return false
	case st.IsDir():
		v.fail(path, "%s is a directory", abs)
		return false
	}
	return true
}
