package warmup_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// recordingOrigin answers 500 until healthy, then 200, and records the
// URLs it answered 200.
type recordingOrigin struct {
	*httptest.Server
	healthy atomic.Bool
	mu      sync.Mutex
	seen    map[string]bool
}

func newRecordingOrigin(t *testing.T) *recordingOrigin {
	o := &recordingOrigin{seen: map[string]bool{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		o.mu.Lock()
		o.seen[r.URL.RequestURI()] = true
		o.mu.Unlock()
		fmt.Fprint(w, "body")
	}))
	t.Cleanup(o.Close)
	return o
}

// take returns the URLs answered since the last take.
func (o *recordingOrigin) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	urls := slices.Sorted(maps.Keys(o.seen))
	o.seen = map[string]bool{}
	return urls
}

// written is what a run left: every key with its value, and the URLs
// fetched. Taking it empties Redis for the next run.
func written(t *testing.T, srv *redistest.Server, o *recordingOrigin) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range srv.Keys("*") {
		out["key "+k] = srv.Client.Get(ctx, k).Val()
	}
	for _, u := range o.take() {
		out["url "+u] = ""
	}
	srv.Client.FlushAll(ctx)
	return out
}

// Items round-trip exactly: an item rejected, then retried from the report
// (--retry-from) or from memory (the monitor's r), is the very Go value
// its source yielded, so every key, URL and value template renders as in
// a clean run. Checked over every source kind, with items whose JSON is
// not the whole story (int64 against json.Number, TOML floats that JSON
// writes as integers, spacing and escapes, bytes that are not UTF-8) and
// the template functions people use: printf (its %T says the Go type, so
// arithmetic on it agrees too), index and urlquery.
func TestItemsRoundTripThroughRetries(t *testing.T) {
	srv := redistest.Start(t)
	o := newRecordingOrigin(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "q.db")
	sqlExec(t, db, "CREATE TABLE t (id, name)",
		"INSERT INTO t VALUES (1, 'a b'), (2.5, 'x<y>&'), (CAST(x'ff7a' AS TEXT), CAST(x'fe' AS TEXT)), (x'0001', '-'), ('s', 'é')")
	const scalar = `'k:{{printf "%T:%v" . .}}'`
	const object = `'k:{{printf "%T:%v" (index . "id") (index . "id")}}:{{urlquery (index . "name")}}'`
	const value = `'{{json .item}}|{{printf "%T %v" .item .item}}'`
	toml := fmt.Sprintf(`
[run]
retries = 0
[[loader]]
name = "list"
items = { list = [7, -3, 2.5, 3.0, 1e300, "s<&>", "é"] }
key = %[1]s
fetch = { url = "%[4]s/list/{{urlquery .}}/{{printf \"%%T\" .}}" }
value = %[3]s
[[loader]]
name = "range"
items = { range = [-2, 3] }
key = 'r:{{printf "%%07d" .}}'
fetch = { url = "%[4]s/range/{{.}}?n={{printf \"%%x\" .}}" }
value = %[3]s
[[loader]]
name = "jsonl"
items = { file = "items.jsonl" }
key = %[1]s
fetch = { url = "%[4]s/jsonl/{{urlquery .}}" }
value = %[3]s
[[loader]]
name = "objects"
items = { file = "objects.jsonl" }
key = %[2]s
fetch = { url = "%[4]s/objects/{{urlquery (index . \"name\")}}" }
value = %[3]s
[[loader]]
name = "txt"
items = { file = "items.txt" }
key = %[1]s
fetch = { url = "%[4]s/txt/{{urlquery .}}" }
value = %[3]s
[[loader]]
name = "csv"
items = { file = "items.csv" }
key = %[2]s
fetch = { url = "%[4]s/csv/{{urlquery .id}}" }
value = %[3]s
[[loader]]
name = "sql"
items = { sql = "SELECT id, name FROM t", dsn = "sqlite:%[5]s" }
key = %[2]s
fetch = { url = "%[4]s/sql/{{urlquery .id .name}}" }
value = %[3]s
[[loader]]
name = "sitemap"
items = { sitemap = "sitemap.xml" }
key = 'm:{{.loc}}:{{printf "%%T" .priority}}'
fetch = { url = "%[4]s/sitemap?loc={{urlquery .loc}}" }
value = %[3]s
[[loader]]
name = "single"
key = "single:{{json .}}"
fetch = { url = "%[4]s/single" }
value = '{{json .item}}'
`, scalar, object, value, o.URL, db)
	files := map[string]string{
		"items.jsonl": "1\n1.50\n-0\n1e3\n12345678901234567890\n\"a\\u00e9\\ud83d\\ude00 <&>\"\n\"\xffz\"\n [ 1 , {\"a\" : null} ] \n",
		"objects.jsonl": "{\"id\": 1, \"name\":\"a b\"}\n{\"id\":1.50,\"name\":\"x<y>&\"}\n{\"id\":12345678901234567890,\"name\":\"\\u00e9\"}\n" +
			"{\"id\":\"\xffz\",\"name\":\"\xfe\"}\n{\"id\":[1,{\"a\":null}],\"name\":\"arr\"}\n{\"name\":\"dup\",\"id\":1,\"id\":2}\n",
		"items.txt": "a b\n\xffq\n<&>\n",
		"items.csv": "id,name\n1,\"a, b\"\n\xff,\"q\"\"\"\n2.50,\xfe\n",
		"sitemap.xml": `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` +
			`<url><loc>https://example.test/a?x=1&amp;y=2</loc><priority>0.5</priority></url><url><loc>https://example.test/é</loc></url></urlset>`,
	}
	cfg := loadConfig(t, toml, files, nil)

	o.healthy.Store(true)
	if _, rep := runAgainst(t, srv, cfg, warmup.Options{}); rep.Rejected != 0 {
		t.Fatalf("clean run rejected %d: %s", rep.Rejected, mustJSON(t, rep))
	}
	clean := written(t, srv, o)
	if len(clean) < 2*40 {
		t.Fatalf("clean run wrote %d keys and URLs: %v", len(clean), clean)
	}

	failing := func() (*warmup.Engine, *warmup.Report) {
		o.healthy.Store(false)
		eng, rep := runAgainst(t, srv, cfg, warmup.Options{})
		if rep.Fulfilled != 0 {
			t.Fatalf("failing run fulfilled %d", rep.Fulfilled)
		}
		written(t, srv, o)
		o.healthy.Store(true)
		return eng, rep
	}
	compare := func(how string, got map[string]string) {
		t.Helper()
		for k, v := range clean {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %q = %q (present %v), a clean run wrote %q", how, k, g, ok, v)
			}
		}
		for k, v := range got {
			if _, ok := clean[k]; !ok {
				t.Errorf("%s wrote %q = %q, which a clean run did not", how, k, v)
			}
		}
	}

	_, rep := failing()
	if _, rep2 := retryFrom(t, cfg, rep); rep2.Rejected != 0 {
		t.Fatalf("--retry-from rejected %d: %s", rep2.Rejected, mustJSON(t, rep2))
	}
	compare("--retry-from", written(t, srv, o))

	eng, _ := failing()
	eng.Retry()
	eng.Wait()
	if s := eng.Snapshot(); s.Rejected != 0 {
		t.Fatalf("retry rejected %d", s.Rejected)
	}
	compare("a retry (r)", written(t, srv, o))
}

func sqlExec(t *testing.T, path string, stmts ...string) {
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
}
