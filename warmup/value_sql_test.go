package warmup_test

import (
	"testing"

	"github.com/cachewarm/cachewarm/internal/pgtest"
	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// A value template over SQL rows writes what it prints, from every column
// type, through the compiled path (which reads the row's JSON, fields
// only) and through text/template alike: text with quotes, escapes and
// non-ASCII as it is, numerics as written, jsonb as compact JSON with its
// keys sorted, and a NULL rejects its row naming the field.
func TestValueTemplateOverSQLRows(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	pg.Exec(t, `CREATE TABLE docs (id int8, payload text, price numeric, ok bool, doc jsonb);
INSERT INTO docs VALUES
 (1, 'plain', 1.50, true, '{"b": [1, "x"], "a": {"z": null}}'),
 (2, E'quote" back\\ tab\t nl\n é ✓ <&>', 12345678901234567890.00, false, '{"k": "v\"w"}'),
 (3, NULL, 0, true, '[]')`)
	srv := redistest.Start(t)
	cfg := loadConfig(t, `
[[loader]]
name = "p"
items = { sql = "SELECT id, payload, price, ok, doc FROM docs ORDER BY id", dsn = "${DATABASE_URL}" }
key = "p:{{.id}}"
value = "{{.item.payload}}"

[[loader]]
name = "f"
items = { sql = "SELECT id, payload, price, ok, doc FROM docs ORDER BY id", dsn = "${DATABASE_URL}" }
key = "f:{{.id}}"
value = '{{printf "%s|%.1f|%v" .item.ok .item.price .item.id}}|{{.item.doc}}|{{json .item.doc}}'

[[loader]]
name = "c"
items = { sql = "SELECT id, payload, price, ok, doc FROM docs ORDER BY id", dsn = "${DATABASE_URL}" }
key = "c:{{.id}}"
value = '{{if .item.ok}}{{.item.doc}}{{else}}no{{end}}'
`, nil, map[string]string{"DATABASE_URL": pg.DSN("postgres")})
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	for key, want := range map[string]string{
		"p:1": "plain",
		"p:2": "quote\" back\\ tab\t nl\n é ✓ <&>",
		"f:1": `%!s(bool=true)|1.5|1|{"a":{"z":null},"b":[1,"x"]}|{"a":{"z":null},"b":[1,"x"]}`,
		"f:2": `%!s(bool=false)|12345678901234567168.0|2|{"k":"v\"w"}|{"k":"v\"w"}`,
		"f:3": `%!s(bool=true)|0.0|3|[]|[]`,
		"c:1": `{"a":{"z":null},"b":[1,"x"]}`,
		"c:2": "no",
		"c:3": "[]",
	} {
		if got := srv.Client.Get(t.Context(), key).Val(); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	l := loaderReport(t, rep, "p")
	if l.Fulfilled != 2 || l.Rejected != 1 || l.RejectedItems[0].Reason != "value template for p:3: {{.item.payload}} is null" {
		t.Errorf("p: %s", mustJSON(t, l))
	}
}
