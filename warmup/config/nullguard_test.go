package config

import (
	"strings"
	"testing"
	"text/template"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// guarded parses text as a loader's template is parsed.
func guarded(t *testing.T, text string) *Template {
	t.Helper()
	tmpl, err := parseTemplate("key", text, templateFuncs(template.FuncMap{"add": func(a, b int64) int64 { return a + b }}))
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return tmpl
}

// A null or missing value never prints as "<no value>" nor reaches a
// function as nil: the item is rejected with a reason naming the field.
// Conditions still read null as false.
func TestNullNeverRenders(t *testing.T) {
	for _, tc := range []struct {
		tmpl, item string
		want       string // the output, or "error: " and what the error says
	}{
		{"q:{{.id}}", `{"id":null}`, "error: {{.id}} is null"},
		{"q:{{.id}}", `{"x":1}`, `error: map has no entry for key "id"`},
		{"q:{{.}}", `null`, "error: {{.}} is null or missing"},
		{`q:{{index . "id"}}`, `{"id":null}`, `error: {{index . "id"}} is null or missing`},
		{`q:{{index . "id"}}`, `{}`, `error: {{index . "id"}} is null or missing`},
		{`q:{{printf "%07d" .id}}`, `{"id":null}`, "error: {{.id}} is null"},
		{`q:{{.id | printf "%07d"}}`, `{"id":null}`, "error: {{.id}} is null"},
		{`q:{{printf "%v" (index . "id")}}`, `{"id":null}`, `error: {{index . "id"}} is null or missing`},
		{"q:{{urlquery .a.b}}", `{"a":{"b":null}}`, "error: {{.a.b}} is null"},
		{"q:{{lower .id}}", `{"id":null}`, "error: {{.id}} is null"},
		{"q:{{json .id}}", `{"id":null}`, "q:null"},
		{"q:{{$x := .id}}{{$x}}", `{"id":null}`, "error: {{$x}} is null or missing"},
		{"q:{{range .ids}}{{.}},{{end}}", `{"ids":[1,null]}`, "error: {{.}} is null or missing"},
		{"q:{{or .nick .name}}", `{"nick":null,"name":"n"}`, "q:n"},
		{"q:{{if .id}}{{.id}}{{else}}none{{end}}", `{"id":null}`, "q:none"},
		{"q:{{with .id}}{{.}}{{end}}", `{"id":null}`, "q:"},
		{"q:{{if eq .id nil}}nil{{end}}", `{"id":null}`, "q:nil"},
		{`q:{{printf "%05s" .id}}:{{.id}}:{{add 1 2}}`, `{"id":7}`, "q:00007:7:3"},
		{"q:{{json .}}", `{"id":null}`, `q:{"id":null}`},
		{`q:{{urlquery .id "x"}}`, `{"id":"a b"}`, "q:a+bx"},
	} {
		it := source.FromJSON([]byte(tc.item), "")
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		got, err := guarded(t, tc.tmpl).Execute(v, &b)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s over %s = %q, want %q", tc.tmpl, tc.item, got, tc.want)
		}
	}
}

// The guard leaves the fast path's shapes to the fast path.
func TestNullGuardKeepsTheFastPath(t *testing.T) {
	tmpl := guarded(t, "item:{{.id}}")
	if out, ok := tmpl.RenderRaw([]byte(`{"id":9}`), nil); !ok || string(out) != "item:9" {
		t.Fatalf("fast render = %q, %v", out, ok)
	}
	if _, ok := tmpl.RenderRaw([]byte(`{"id":null}`), nil); ok {
		t.Fatal("the fast path rendered a null id")
	}
}

// FuzzNullGuard: whatever the template and the item, the guarded
// template runs without panicking and never prints "<no value>" (unless
// the item holds that text); a template that renders the same without
// its guard renders the same with it.
func FuzzNullGuard(f *testing.F) {
	f.Add(`{{.id}}`, `{"id":null}`)
	f.Add(`{{range $i, $v := .}}{{$i}}={{printf "%v" $v}}{{end}}`, `[1,null]`)
	f.Add(`{{with $x := index . "a"}}{{$x | urlquery}}{{else}}{{template "t" .}}{{end}}{{define "t"}}{{.b.c}}{{end}}`, `{"a":null,"b":{"c":null}}`)
	f.Add(`{{if and .a (not .b)}}{{(.a)}}{{end}}{{- .c | printf "%s" | lower -}}`, `{"a":1,"b":null,"c":"X"}`)
	f.Fuzz(func(t *testing.T, text, raw string) {
		it := source.FromJSON([]byte(raw), "")
		item, err := it.Value()
		if err != nil {
			return
		}
		g, err := parseTemplate("k", text, templateFuncs(nil))
		if err != nil {
			return
		}
		var b strings.Builder
		got, err := g.Execute(item, &b)
		if err == nil && strings.Contains(got, "<no value>") && !strings.Contains(raw, "<no value>") && !strings.Contains(text, "<no value>") {
			t.Fatalf("%q over %s printed %q", text, raw, got)
		}
		plain, perr := template.New("k").Option("missingkey=error").Funcs(templateFuncs(nil)).Parse(text)
		if perr != nil {
			t.Fatalf("%q parses guarded but not plain: %v", text, perr)
		}
		b.Reset()
		if execErr := plain.Execute(&b, item); err == nil && (execErr != nil || b.String() != got) {
			t.Fatalf("%q over %s: guarded %q, plain %q (%v)", text, raw, got, b.String(), execErr)
		}
	})
}

// printf formats an item's JSON numbers as the numbers they are, as it
// does a range's int64: a JSONL id of 7 with "%07d" is 0000007, not the
// key "%!d(json.Number=0000007)".
func TestPrintfFormatsJSONNumbers(t *testing.T) {
	for _, tc := range []struct{ tmpl, item, want string }{
		{`p:{{printf "%07d" .n}}`, `{"n":7}`, "p:0000007"},
		{`p:{{.n | printf "%x"}}`, `{"n":255}`, "p:ff"},
		{`p:{{printf "%d" .n}}`, `{"n":123456789012345678901234567890}`, "p:123456789012345678901234567890"},
		{`p:{{printf "%.2f" .n}}`, `{"n":1.5}`, "p:1.50"},
		{`p:{{printf "%.1f" .n}}`, `{"n":3}`, "p:3.0"},
		{`p:{{printf "%v|%s|%q" .n .n .n}}`, `{"n":1e3}`, `p:1e3|1e3|"1e3"`},
		{`p:{{printf "%d" .n}}`, `{"n":1.5}`, "p:%!d(string=1.5)"},
		{`p:{{printf "%T" .n}}`, `{"n":7}`, "p:json.Number"},
		{`p:{{printf "%05d" .}}`, `42`, "p:00042"},
	} {
		it := source.FromJSON([]byte(tc.item), "")
		v, err := it.Value()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		got, err := guarded(t, tc.tmpl).Execute(v, &b)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s over %s = %q, want %q", tc.tmpl, tc.item, got, tc.want)
		}
	}
}
