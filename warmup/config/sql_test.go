package config_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/config"
)

// A SQL loader's query runs at config time up to its first row: what
// would stop it is a config error naming loader[n].items.sql or .dsn and
// its line, with the DSN's password hidden.
func TestSQLConfig(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE products (id INTEGER, slug TEXT); INSERT INTO products VALUES (1, 'a')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	loader := func(items string) string {
		return "[[loader]]\nname = \"p\"\nitems = " + items + "\nkey = \"p:{{.id}}\"\n"
	}
	env := map[string]string{
		"DATABASE_URL":   "postgres://app:pw-very-secret@127.0.0.1:1/shop?sslmode=disable",
		"DATABASE_KV":    "host=127.0.0.1 port=1 user=app password=pw-very-secret dbname=shop sslmode=disable",
		"DATABASE_ODBC":  "Server=db;Uid=app;Pwd=pw-very-secret",
		"DATABASE_QUOTE": `host=127.0.0.1 port=1 password='pw-very-secret \' x' dbname=shop sslmode=disable`,
	}
	tests := []struct {
		name, items string
		want        string // the error, or "" for none
	}{
		{"a good query", `{ sql = "SELECT id, slug FROM products", dsn = "sqlite:shop.db" }`, ""},
		{"a syntax error", `{ sql = "SELEC id FROM products", dsn = "sqlite:shop.db" }`, "config.toml:3: loader[1].items.sql: "},
		{"a missing table", `{ sql = "SELECT id FROM nope", dsn = "sqlite:shop.db" }`, "config.toml:3: loader[1].items.sql: SQL logic error: no such table: nope"},
		{"a write", `{ sql = "DELETE FROM products RETURNING id", dsn = "sqlite:shop.db" }`, "loader[1].items.sql: "},
		{"a missing file", `{ sql = "SELECT 1", dsn = "sqlite:gone.db" }`, "config.toml:3: loader[1].items.dsn: gone.db: no such file"},
		{"dsn alone", `{ dsn = "sqlite:shop.db" }`, "config.toml:3: loader[1].items.dsn: dsn goes with sql"},
		{"sql alone", `{ sql = "SELECT 1" }`, "config.toml:3: loader[1].items.dsn: sql needs a dsn"},
		{"sql and a list", `{ sql = "SELECT 1", dsn = "sqlite:shop.db", list = [1] }`, "loader[1].items: set exactly one of file, list, range, sitemap or sql"},
		{"an unknown DSN", `{ sql = "SELECT 1", dsn = "mysql://app:pw-very-secret@db/shop" }`, `loader[1].items.dsn: unsupported DSN "mysql://app:***@db/shop"`},
		{"a server that does not answer", `{ sql = "SELECT 1", dsn = "${DATABASE_URL}" }`, "config.toml:3: loader[1].items.sql: connect: "},
		{"a keyword/value DSN", `{ sql = "SELECT 1", dsn = "host=127.0.0.1 port=1 password=pw-very-secret dbname=shop sslmode=disable" }`, "config.toml:3: loader[1].items.sql: connect: "},
		{"a keyword/value DSN from the environment", `{ sql = "SELECT 1", dsn = "${DATABASE_KV}" }`, "config.toml:3: loader[1].items.sql: connect: "},
		{"a quoted keyword/value password", `{ sql = "SELECT 1", dsn = "${DATABASE_QUOTE}" }`, "config.toml:3: loader[1].items.sql: connect: "},
		{"an unsupported keyword DSN", `{ sql = "SELECT 1", dsn = "${DATABASE_ODBC}" }`, "config.toml:3: loader[1].items.dsn: an unsupported DSN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "config.toml")
			if err := os.WriteFile(path, []byte(loader(tc.items)), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.LoadConfig(path, config.Options{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				if got := cfg.Loaders[0].Items.Describe(); got != "SELECT id, slug FROM products (sqlite:shop.db)" {
					t.Fatalf("described as %q", got)
				}
				return
			case err == nil:
				t.Fatalf("no error, want %q", tc.want)
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "pw-very-secret") {
				t.Fatalf("error %q, want it to contain %q and no password", msg, tc.want)
			}
		})
	}
}
