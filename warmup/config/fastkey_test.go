package config

import (
	"strings"
	"testing"
	"text/template"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// The fast path must print exactly what text/template prints, or step
// aside.
func checkFast(t *testing.T, tmpl, raw string) {
	t.Helper()
	// Built as a loader's template is: its fast path, and the slow path
	// with its null guard.
	tt, err := parseTemplate("k", tmpl, templateFuncs(nil))
	if err != nil || tt.fast == nil {
		return
	}
	got, ok := tt.RenderRaw([]byte(raw), nil)
	if !ok {
		return
	}
	item, err := decode([]byte(raw))
	if err != nil {
		t.Fatalf("fast path rendered %q from invalid JSON %q", got, raw)
	}
	var b strings.Builder
	want, err := tt.Execute(item, &b)
	if err != nil {
		t.Fatalf("fast path rendered %q where text/template fails: %v (template %q, item %s)", got, err, tmpl, raw)
	}
	if string(got) != want {
		t.Fatalf("template %q on %s: fast %q, text/template %q", tmpl, raw, got, want)
	}
}

func TestFastTemplateMatchesTextTemplate(t *testing.T) {
	templates := []string{"item:{{.id}}", "{{.}}", "a:{{.a}}:{{.b}}", "{{.id}}-{{.}}", "k:{{.x.y}}", "{{urlquery .}}", "const"}
	items := []string{
		`{"id":17}`, `{"id":"s\"q"}`, `{"id":12345678901234567890}`, `{"id":1.5e3}`, `{"id":true}`,
		`{"id":null}`, `{"id":{"x":1}}`, `{"id":[1]}`, `{"a":"x","b":"y"}`, `{"b":"y"}`,
		`{"id":1,"id":2}`, `{"\u0069d":"esc"}`, ` { "id" : "sp" } `, `"str"`, `42`, `[1,2]`, `null`,
		`{"x":{"y":"deep"}}`, `{"nested":{"id":"no"},"id":"yes"}`, `{"s":"a]b}c,d","id":"after"}`,
	}
	for _, tm := range templates {
		for _, it := range items {
			checkFast(t, tm, it)
		}
	}
	// The common shape must take the fast path.
	tt := template.Must(template.New("k").Parse("item:{{.id}}"))
	if compileFast(tt) == nil {
		t.Fatal("item:{{.id}} does not take the fast path")
	}
	if out, ok := compileFast(tt).render([]byte(`{"name":"x","id":9}`), nil); !ok || string(out) != "item:9" {
		t.Fatalf("fast render = %q, %v", out, ok)
	}
}

func FuzzFastTemplate(f *testing.F) {
	f.Add("item:{{.id}}", `{"id":17}`)
	f.Add("{{.}}", `"x"`)
	f.Add("{{.a}}/{{.b}}", `{"a":"\u00e9","b":[1,{"c":"}"}]}`)
	f.Add("{{.id}}", `{"p":"a\\\"b\\","id":"x\\\\","q":["\"",{"id":1}],"id":"last"}`)
	f.Fuzz(func(t *testing.T, tmpl, raw string) {
		if !jsonValid(raw) {
			return
		}
		checkFast(t, tmpl, raw)
	})
}

// Strings that end in backslashes, or hold escaped quotes, end where
// JSON says: the field after them is found, and the last duplicate wins.
func TestFastTemplateEscapedQuotes(t *testing.T) {
	for _, raw := range []string{
		`{"a":"\\","id":7}`,
		`{"a":"\"","id":7}`,
		`{"a":"x\\\"y\\\\","id":"k\"q"}`,
		`{"id":1,"a":["\\\"]\\",{"id":2}],"id":3}`,
		`{"a\"id":1,"id":"\\\\\\"}`,
	} {
		checkFast(t, "key:{{.id}}", raw)
	}
}

func jsonValid(s string) bool {
	_, err := decode([]byte(s))
	return err == nil
}

// A range's items render from their raw digits on the fast path, exactly
// as text/template prints the int64 the item holds.
func TestFastTemplateRangeItems(t *testing.T) {
	tt := template.Must(template.New("u").Option("missingkey=error").Parse("https://x.test/item/{{.}}?v={{.}}"))
	tmpl := &Template{t: tt, fast: compileFast(tt)}
	src, err := source.Open(source.RangeSpec{First: -3, Last: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for {
		it, ok := src.Next()
		if !ok {
			break
		}
		if !it.Exact() {
			t.Fatalf("range item %s not marked exact", it.Raw)
		}
		got, ok := tmpl.RenderRaw(it.Raw, nil)
		if !ok {
			t.Fatalf("range item %s not rendered on the fast path", it.Raw)
		}
		v, _ := it.Value()
		var b strings.Builder
		want, err := tmpl.Execute(v, &b)
		if err != nil || string(got) != want {
			t.Fatalf("item %v: fast %q, text/template %q (%v)", v, got, want, err)
		}
	}
}

// decode reads one JSON value as items are decoded: numbers as
// json.Number.
// decode is the item the slow path sees: raw decoded as a JSONL line's
// item is, its bytes kept.
func decode(raw []byte) (any, error) {
	it := source.FromJSON(raw, "")
	return it.Value()
}
