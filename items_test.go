package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// brokenOrigin answers 500 until fixed, then 200.
func brokenOrigin(t *testing.T) (*httptest.Server, *atomic.Bool) {
	var fixed atomic.Bool
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(o.Close)
	return o, &fixed
}

// sortedKeys are the keys in srv, as bytes in a string, sorted.
func sortedKeys(srv *redistest.Server) []string {
	keys := srv.Keys("*")
	slices.Sort(keys)
	return keys
}

// The issue's --retry-from case: a range's item is an int64 in the first
// run, and in the retry from the report too, so printf "%07d" writes the
// same keys; a list's float stays a float. With --verify the retry's
// own check finds every key, so the runbook's loop ends.
func TestRetryFromWritesTheFirstRunsKeys(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o, fixed := brokenOrigin(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "f"
items = { range = [1, 5] }
key = 'f:{{printf "%%07d" .}}'
fetch = { url = "%s/f/{{.}}" }
[[loader]]
name = "l"
items = { list = [7, 2.5, 3.0, "s"] }
key = 'l:{{printf "%%T=%%v" . .}}'
fetch = { url = "%s/l/{{urlquery .}}" }
`, srv.URL(), o.URL, o.URL), map[string]string{})
	report := filepath.Join(t.TempDir(), "report.json")
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--report", report); code != 1 {
		t.Fatalf("first run: exit %d, want 1\n%s", code, stderr)
	}
	fixed.Store(true)
	code, _, stderr := cli(t, "--config", cfg, "--plain", "--retry-from", report, "--verify", "--report", report)
	if code != 0 {
		t.Fatalf("retry: exit %d, want 0\n%s", code, stderr)
	}
	want := []string{"f:0000001", "f:0000002", "f:0000003", "f:0000004", "f:0000005",
		"l:float64=2.5", "l:float64=3", "l:int64=7", "l:string=s"}
	if got := sortedKeys(srv); !slices.Equal(got, want) {
		t.Fatalf("keys after the retry %q, want %q (a clean run's)", got, want)
	}
}

// A null or missing id makes no key: the item is rejected at the key
// stage naming the field, from a JSONL file and from SQL rows alike;
// nothing "<no value>" reaches Redis.
func TestNullIDsAreRejectedNotWritten(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	dir := t.TempDir()
	db := sqliteFile(t, filepath.Join(dir, "q.db"),
		"CREATE TABLE t (id TEXT)",
		"INSERT INTO t VALUES (NULL), (NULL), (NULL), ('a')")
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[[loader]]
name = "j"
items = { file = "items.jsonl" }
key = "j:{{.id}}"
[[loader]]
name = "q"
items = { sql = "SELECT id FROM t", dsn = "sqlite:%s" }
key = "q:{{.id}}"
[[loader]]
name = "u"
items = { file = "items.jsonl" }
key = "u"
value = '{{index .item "id" | urlquery}}'
`, srv.URL(), db), map[string]string{"items.jsonl": "{\"id\":null}\n{\"id\":1}\n{\"other\":2}\n"})
	report := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := cli(t, "--config", cfg, "--plain", "--report", report)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if got, want := sortedKeys(srv), []string{"j:1", "q:a", "u"}; !slices.Equal(got, want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	if v := srv.Client.Get(context.Background(), "u").Val(); v != "1" {
		t.Fatalf("u = %q, want the one id there is", v)
	}
	rep, err := warmup.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"j": {`key template: map has no entry for key "id"`, "key template: {{.id}} is null"},
		"q": {"key template: {{.id}} is null", "key template: {{.id}} is null", "key template: {{.id}} is null"},
		"u": {`value template for u: {{index .item "id"}} is null or missing`, `value template for u: {{index .item "id"}} is null or missing`},
	}
	for _, l := range rep.Loaders {
		var got []string
		for _, r := range l.RejectedItems {
			if r.Stage != "key" && r.Stage != "value" {
				t.Errorf("%s: rejected at %s, want the template's stage", l.Name, r.Stage)
			}
			got = append(got, r.Reason)
		}
		slices.Sort(got)
		if !slices.Equal(got, want[l.Name]) {
			t.Errorf("%s rejected %q, want %q", l.Name, got, want[l.Name])
		}
	}
}

// Ids that are not UTF-8 keep their bytes, from every source that can
// hold them: two ids that differ there are two keys. The report and
// --json events show the item as UTF-8 and keep the bytes in "exact"
// (base64), and --retry-from writes the very same keys.
func TestKeysKeepBytesThatAreNotUTF8(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	o, fixed := brokenOrigin(t)
	dir := t.TempDir()
	db := sqliteFile(t, filepath.Join(dir, "q.db"),
		"CREATE TABLE t (id TEXT)",
		"INSERT INTO t VALUES (CAST(x'ff6162' AS TEXT)), (CAST(x'fe6162' AS TEXT))")
	cfg := writeConfig(t, fmt.Sprintf(`
[redis]
url = %q
[run]
retries = 0
[[loader]]
name = "j"
items = { file = "items.jsonl" }
key = "j:{{.id}}"
fetch = { url = "%s/j" }
[[loader]]
name = "e"
items = { file = "items.jsonl" }
key = "e:{{.id}}{{.n}}"
fetch = { url = "%s/e" }
[[loader]]
name = "c"
items = { file = "items.csv" }
key = "c:{{.id}}"
fetch = { url = "%s/c" }
[[loader]]
name = "t"
items = { file = "items.txt" }
key = "t:{{.}}"
fetch = { url = "%s/t" }
[[loader]]
name = "q"
items = { sql = "SELECT id FROM t", dsn = "sqlite:%s" }
key = "q:{{.id}}"
fetch = { url = "%s/q" }
`, srv.URL(), o.URL, o.URL, o.URL, o.URL, db, o.URL), map[string]string{
		"items.jsonl": "{\"id\":\"\xffab\",\"n\":1}\n{\"id\":\"\xfeab\",\"n\":2}\n",
		"items.csv":   "id\n\xffab\n\xfeab\n",
		"items.txt":   "\xffab\n\xfeab\n",
	})
	want := []string{"c:\xfeab", "c:\xffab", "e:\xfeab2", "e:\xffab1", "j:\xfeab", "j:\xffab",
		"q:\xfeab", "q:\xffab", "t:\xfeab", "t:\xffab"}

	// A clean run writes them as they are.
	fixed.Store(true)
	if code, _, stderr := cli(t, "--config", cfg, "--plain"); code != 0 {
		t.Fatalf("clean run: exit %d\n%s", code, stderr)
	}
	if got := sortedKeys(srv); !slices.Equal(got, want) {
		t.Fatalf("clean run wrote %q, want %q", got, want)
	}
	srv.Client.FlushAll(context.Background())

	// A failed run reports them as UTF-8 JSON with their bytes kept...
	fixed.Store(false)
	report := filepath.Join(t.TempDir(), "report.json")
	code, stdout, stderr := cli(t, "--config", cfg, "--json", "--report", report)
	if code != 1 {
		t.Fatalf("failing run: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b) || !utf8.ValidString(stdout) {
		t.Fatal("the report or --json output is not UTF-8")
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	rejected := 0
	for sc.Scan() {
		var ev struct {
			Event string          `json:"event"`
			Item  json.RawMessage `json:"item"`
			Exact []byte          `json:"exact"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event != "rejected" {
			continue
		}
		rejected++
		if utf8.Valid(ev.Exact) || !strings.Contains(string(ev.Exact), "ab") {
			t.Errorf("rejected %s: exact %q does not keep the item's bytes", ev.Item, ev.Exact)
		}
	}
	if rejected != len(want) {
		t.Fatalf("%d rejected events, want %d", rejected, len(want))
	}
	// ...and --retry-from writes what the clean run wrote.
	fixed.Store(true)
	if code, _, stderr := cli(t, "--config", cfg, "--plain", "--retry-from", report); code != 0 {
		t.Fatalf("retry: exit %d\n%s", code, stderr)
	}
	if got := sortedKeys(srv); !slices.Equal(got, want) {
		t.Fatalf("the retry wrote %q, want %q", got, want)
	}
}

// sqliteFile creates a SQLite file at path by running stmts.
func sqliteFile(t *testing.T, path string, stmts ...string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}
