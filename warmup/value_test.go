package warmup_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachewarm/cachewarm/internal/redistest"
	"github.com/cachewarm/cachewarm/warmup"
)

// A hash loader stores each fetched JSON object's fields in one hash with
// the loader's TTL, replacing what the key held (stale fields and other
// types included); a body that is not an object rejects its item with
// that reason at the value stage, while the others are fulfilled; a
// --retry-from of the report fetches those again and fulfils them once
// the origin answers objects.
func TestHashLoader(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	var fixed atomic.Bool
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, _ *http.Request) {
		id, _ := strconv.Atoi(strings.TrimPrefix(path, "/p/"))
		switch {
		case id%10 == 3 && !fixed.Load():
			fmt.Fprint(w, `[1, 2]`)
		case id%10 == 7 && !fixed.Load():
			fmt.Fprint(w, `<html>oops</html>`)
		default:
			fmt.Fprintf(w, `{"id": %d, "name": "n%d", "price": 1.50, "sale": false, "tags": ["a", "b"], "meta": {"x": 1}, "gone": null}`, id, id)
		}
	})
	cfg := loadConfig(t, `
[run]
retries = 0
[[loader]]
name = "p"
items = { range = [1, 40] }
key = "p:{{.}}"
fetch = { url = "`+o.URL+`/p/{{.}}" }
type = "hash"
ttl = "30m"
`, nil, nil)
	srv.Client.HSet(ctx, "p:1", "stale", "x", "name", "old")
	srv.Client.Set(ctx, "p:2", "a string before", 0)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	l := loaderReport(t, rep, "p")
	if l.Fulfilled != 32 || l.Rejected != 8 {
		t.Fatalf("fulfilled %d, rejected %d, want 32 and 8", l.Fulfilled, l.Rejected)
	}
	for _, r := range l.RejectedItems {
		id, _ := strconv.Atoi(string(r.Item))
		want := "it is an array"
		if id%10 == 7 {
			want = "it is not JSON"
		}
		if r.Stage != warmup.StageValue || r.Reason != "hash "+r.Key+": the value is not a JSON object ("+want+")" {
			t.Errorf("rejected %s at %s: %q", r.Key, r.Stage, r.Reason)
		}
		if n := srv.Client.Exists(ctx, r.Key).Val(); n != 0 {
			t.Errorf("rejected %s was written", r.Key)
		}
	}
	checkHash := func(id int) {
		t.Helper()
		key := "p:" + strconv.Itoa(id)
		want := map[string]string{"id": strconv.Itoa(id), "name": "n" + strconv.Itoa(id), "price": "1.50", "sale": "false", "tags": `["a","b"]`, "meta": `{"x":1}`}
		if got := srv.Client.HGetAll(ctx, key).Val(); !maps.Equal(got, want) {
			t.Fatalf("%s = %v, want %v", key, got, want)
		}
		if ttl := srv.Client.PTTL(ctx, key).Val(); ttl <= 29*time.Minute || ttl > 30*time.Minute {
			t.Fatalf("%s TTL %s, want 30m", key, ttl)
		}
	}
	for _, id := range []int{1, 2, 4, 40} {
		checkHash(id)
	}

	fixed.Store(true)
	eng, rep := retryFrom(t, cfg, rep)
	checkExact(t, eng, rep)
	if rep.Fulfilled != 8 || rep.Rejected != 0 {
		t.Fatalf("--retry-from: fulfilled %d, rejected %d: %s", rep.Fulfilled, rep.Rejected, mustJSON(t, rep.Loaders))
	}
	for _, id := range []int{3, 7, 13, 37} {
		checkHash(id)
	}
}

// A value template stores a projection of the item and the fetched
// body: objects print as JSON, a body that is not JSON is a string, a
// hash loader stores the fields of the object the template renders, and
// a template that fails rejects its item with the template's reason.
func TestValueTemplate(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	o := newOrigin(t, func(path string, _ int, w http.ResponseWriter, _ *http.Request) {
		switch path {
		case "/text/1":
			fmt.Fprint(w, "plain words")
		case "/d/2":
			fmt.Fprint(w, `{"n": 2, "other": {}}`)
		default:
			fmt.Fprintf(w, `{"data": {"b": "x", "a": 1}, "n": 3, "list": [1, "two"]}`)
		}
	})
	cfg := loadConfig(t, `
[[loader]]
name = "proj"
items = { list = [1, 2] }
key = "proj:{{.}}"
fetch = { url = "`+o.URL+`/d/{{.}}" }
value = "{{.item}}|{{.body.data}}|{{.body.data.b}}|{{.body.list}}"

[[loader]]
name = "text"
items = { list = [1] }
key = "text:{{.}}"
fetch = { url = "`+o.URL+`/text/{{.}}" }
value = "<{{.body}}>"

[[loader]]
name = "items"
items = { file = "items.jsonl" }
key = "item:{{.id}}"
value = "{{.item.id}}: {{.item.name}}"

[[loader]]
name = "hashproj"
items = { file = "ids.jsonl" }
key = "hp:{{.id}}"
fetch = { url = "`+o.URL+`/d/{{.id}}" }
type = "hash"
value = '{"id": {{json .item.id}}, "n": {{.body.n}}, "data": {{json .body.data}}}'
`, map[string]string{
		"items.jsonl": `{"id": 1, "name": "one"}` + "\n" + `{"id": 3, "name": "three"}` + "\n",
		"ids.jsonl":   `{"id": 2}` + "\n" + `{"id": 3}` + "\n",
	}, nil)
	_, rep := runAgainst(t, srv, cfg, warmup.Options{})
	for key, want := range map[string]string{
		"proj:1": `1|{"a":1,"b":"x"}|x|[1,"two"]`,
		"text:1": "<plain words>",
		"item:1": "1: one",
		"item:3": "3: three",
	} {
		if got := srv.Client.Get(ctx, key).Val(); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got, want := srv.Client.HGetAll(ctx, "hp:3").Val(), map[string]string{"id": "3", "n": "3", "data": `{"a":1,"b":"x"}`}; !maps.Equal(got, want) {
		t.Errorf("hp:3 = %v, want %v", got, want)
	}
	if l := loaderReport(t, rep, "proj"); l.Fulfilled != 1 || l.Rejected != 1 ||
		l.RejectedItems[0].Reason != `value template for proj:2: map has no entry for key "data"` || l.RejectedItems[0].Stage != warmup.StageValue {
		t.Errorf("proj: %s", mustJSON(t, l))
	}
	if l := loaderReport(t, rep, "hashproj"); l.Fulfilled != 1 || l.Rejected != 1 ||
		l.RejectedItems[0].Reason != `value template for hp:2: map has no entry for key "data"` {
		t.Errorf("hashproj: %s", mustJSON(t, l))
	}
}

// --dry-run goes through the run's own render path: an item whose key
// renders empty is shown rejected, as the run rejects it.
func TestDryRunRejectsWhatTheRunRejects(t *testing.T) {
	cfg := loadConfig(t, `
[[loader]]
name = "k"
items = { range = [1, 2] }
key = "{{if eq . 2}}k:{{.}}{{end}}"
`, nil, nil)
	var b strings.Builder
	if err := warmup.DryRun(cfg, &b, 5); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  rejected: key template: rendered an empty key\n  SET k:2 = 2\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, b.String())
		}
	}
}

// --dry-run says what each item would store: HSET and the fields for a
// hash, the value template's output, and the reason an item would be
// rejected for.
func TestDryRunDescribesTypeAndValue(t *testing.T) {
	cfg := loadConfig(t, `
[[loader]]
name = "h"
items = { file = "items.jsonl" }
key = "h:{{.id}}"
type = "hash"

[[loader]]
name = "v"
items = { file = "items.jsonl" }
key = "v:{{.id}}"
value = "{{.item.name}}!"

[[loader]]
name = "f"
items = { list = [1] }
key = "f:{{.}}"
fetch = { url = "http://origin.test/{{.}}" }
type = "hash"
value = "{{.body.data}}"
`, map[string]string{"items.jsonl": `{"id": 1, "name": "one", "tags": ["a"], "gone": null}` + "\n" + `{"id": 2}` + "\n"}, nil)
	var b strings.Builder
	if err := warmup.DryRun(cfg, &b, 5); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`HSET h:1 = id="1" name="one" tags="[\"a\"]"` + "\n",
		`HSET h:2 = id="2"` + "\n",
		"SET v:1 = one!\n",
		`SET v:2 rejected: value template: map has no entry for key "name"` + "\n",
		"f (list of 1 → origin.test, ttl 1h0m0s, hash, value {{.body.data}})\n  HSET f:1 ← GET http://origin.test/1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, b.String())
		}
	}
}
