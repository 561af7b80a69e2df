package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// valueTemplates are the value templates the fuzzer and the tables pair
// with items: every shape the compiled path takes, and some it must
// leave to text/template.
var valueTemplates = []string{
	"{{.item.name}}",
	"{{.item.id}}: {{.item.name}}",
	"{{.item}}",
	"<{{.body}}>",
	"{{.body.data}}",
	"{{.body.data.b}}|{{.body.list}}",
	"{{.item.x.y}}",
	"{{$.item.name}}/{{$.body.n}}",
	`{{printf "%s-%d" .item.name .item.id}}`,
	`{{printf "%v|%s|%q|%x|%05.1f|%T" .item.id .item.id .item.name .item.id .item.price .item.id}}`,
	`{{printf "%d" .item}}`,
	`{{printf "%s" .item.tags}}`,
	`{{index .item "name"}}`,
	`{{index .item "x" "y"}}`,
	`{{index .item.tags 1}}`,
	`{{index .item "tags" 0}}`,
	`{{json .item}}`,
	`{{json .item.name}}`,
	`{"id": {{json .item.id}}, "n": {{.body.n}}, "data": {{json .body.data}}}`,
	"{{.item.name | upper}}",
	"{{lower .item.name}}:{{urlquery .item.name .item.id}}:{{pathescape .item.name}}",
	`{{print .item.name "-" .item.id}}`,
	`{{printf "%s/%s" (lower .item.name) (.item.id)}}`,
	`{{"lit"}}{{.item.String}}`,
	"const",
	"",
	`{{if .item.name}}{{.item.name}}{{end}}`,
	`{{range .item.tags}}{{.}}{{end}}`,
}

// valueItems are items (and bodies) of every JSON kind, with escapes,
// bytes that are not UTF-8, duplicates, nulls and missing fields.
var valueItems = []string{
	`{"id":17,"name":"item-17","price":1.37,"tags":["a","b"],"pad":"xxxx"}`,
	`{"id":12345678901234567890,"name":"big"}`,
	`{"id":-1.5e3,"name":"neg"}`,
	`{"id":"s\"q\\","name":"esc\u00e9\n\t\u2028<&>"}`,
	`{"id":true,"name":false}`,
	`{"id":null,"name":"x"}`,
	`{"name":null}`,
	`{"id":1}`,
	`{"id":1,"id":2,"name":"dup","name":"last"}`,
	`{"\u006eame":"escaped key","id":3}`,
	` { "name" : "spaced" , "id" : 4 } `,
	`{"x":{"y":"deep","z":[1,{"b":null}]},"name":{"b":"x","a":1},"id":[]}`,
	`{"x":{"y":null},"name":[1,"two",{}],"id":{}}`,
	`{"x":"notobject","name":"s","tags":"str"}`,
	`{"tags":[],"name":"","id":0}`,
	`{"tags":["only"],"name":"a b/c?d","id":-0}`,
	`{"String":"method","name":"m"}`,
	`{"name":"\ud83d\ude00 \ud800 lone"}`,
	"{\"name\":\"\xff bytes\",\"id\":1}",
	"{\"name\":\"\\u00e9\",\"id\":\"\xfe\"}",
	`"str"`, `42`, `[1,2]`, `null`, `true`, `{}`,
	`{"data":{"b":"x","a":1},"n":3,"list":[1,"two"]}`,
	`{"n":2,"other":{}}`,
}

// renderBoth renders tmpl over item (and body) on the compiled path and
// on text/template. ran says whether the compiled path gave a result;
// when it did, it must be text/template's, byte for byte.
func renderBoth(t *testing.T, tmpl, item, body string, withBody bool) (got string, ran bool) {
	t.Helper()
	tt, err := parseTemplate("value", tmpl, templateFuncs(nil))
	if err != nil {
		return "", false
	}
	out, ok := tt.RenderValue([]byte(item), []byte(body), withBody, nil)
	if !ok {
		return "", false
	}
	v, err := decode([]byte(item))
	if err != nil {
		t.Fatalf("compiled path rendered %q from invalid JSON %q", out, item)
	}
	var b strings.Builder
	want, err := tt.ExecuteValue(v, []byte(body), withBody, &b)
	if err != nil {
		t.Fatalf("template %q, item %s, body %q: compiled path rendered %q where text/template fails: %v", tmpl, item, body, out, err)
	}
	if string(out) != want {
		t.Fatalf("template %q, item %s, body %q: compiled %q, text/template %q", tmpl, item, body, out, want)
	}
	return string(out), true
}

// Every template over every item and body: the compiled path gives
// text/template's bytes or steps aside.
func TestValueTemplateMatchesTextTemplate(t *testing.T) {
	for _, tm := range valueTemplates {
		for _, it := range valueItems {
			for _, body := range valueItems {
				renderBoth(t, tm, it, body, true)
			}
			renderBoth(t, tm, it, "not json {", true)
			renderBoth(t, tm, it, "", false)
		}
	}
}

// The shapes value templates are written in take the compiled path, and
// print what a user expects; what it cannot be sure of (nulls, missing
// fields, a field of a string, a range) it leaves to text/template.
func TestValueTemplateCompiledPath(t *testing.T) {
	const item = `{"id":17,"name":"Item-17","price":1.37,"tags":["a","b"],"x":{"y":"deep"},"o":{"b":"x","a":1},"n":null}`
	const body = `{"data":{"b":"x","a":1},"n":3,"list":[1,"two"]}`
	tests := []struct {
		tmpl, body string
		want       string // "" with ran false: text/template's job
		ran        bool
	}{
		{tmpl: "{{.item.name}}", want: "Item-17", ran: true},
		{tmpl: "v:{{.item.id}}:{{.item.price}}", want: "v:17:1.37", ran: true},
		{tmpl: "{{.item.x.y}}", want: "deep", ran: true},
		{tmpl: "{{.item.o}}", want: `{"a":1,"b":"x"}`, ran: true},
		{tmpl: "{{.item.tags}}", want: `["a","b"]`, ran: true},
		{tmpl: `{{printf "%s-%05d" .item.name .item.id}}`, want: "Item-17-00017", ran: true},
		{tmpl: `{{printf "%.1f" .item.price}}`, want: "1.4", ran: true},
		{tmpl: `{{index .item "name"}}`, want: "Item-17", ran: true},
		{tmpl: `{{index .item.tags 1}}`, want: "b", ran: true},
		{tmpl: `{{json .item.o}}`, want: `{"a":1,"b":"x"}`, ran: true},
		{tmpl: "{{.item.name | lower}}", want: "item-17", ran: true},
		{tmpl: `{{print .item.id "/" .item.name}}`, want: "17/Item-17", ran: true},
		{tmpl: "{{.body.data.b}}|{{.body.n}}|{{.body.list}}", body: body, want: `x|3|[1,"two"]`, ran: true},
		{tmpl: "<{{.body}}>", body: "plain words", want: "<plain words>", ran: true},
		{tmpl: "{{.item.n}}"},
		{tmpl: "{{.item.missing}}"},
		{tmpl: "{{.item.name.x}}"},
		{tmpl: `{{index .item "missing"}}`},
		{tmpl: `{{index .item.tags 5}}`},
		{tmpl: "{{.body.x}}", body: "plain words"},
		{tmpl: "{{range .item.tags}}{{.}}{{end}}"},
	}
	for _, tc := range tests {
		got, ran := renderBoth(t, tc.tmpl, item, tc.body, true)
		if ran != tc.ran || got != tc.want {
			t.Errorf("%s: compiled path %q, ran %v; want %q, ran %v", tc.tmpl, got, ran, tc.want, tc.ran)
		}
	}
}

// A value that is a field's bytes as they are is not copied, and what is
// appended to it does not reach the item.
func TestValueTemplateSharesNoTail(t *testing.T) {
	tt, err := parseTemplate("value", "{{.item.name}}", templateFuncs(nil))
	if err != nil {
		t.Fatal(err)
	}
	item := []byte(`{"name":"abc","id":1}`)
	out, ok := tt.RenderValue(item, nil, false, nil)
	if !ok || string(out) != "abc" {
		t.Fatalf("rendered %q, %v", out, ok)
	}
	_ = append(out, "XYZ"...)
	if string(item) != `{"name":"abc","id":1}` {
		t.Fatalf("appending to the value changed the item: %s", item)
	}
}

// An item a value template cannot render is rejected with the reason the
// text/template path gives: the compiled path steps aside for it.
func TestValueTemplateNullKeepsItsReason(t *testing.T) {
	for _, tc := range []struct{ tmpl, item, err string }{
		{"{{.item.name}}", `{"name":null}`, "{{.item.name}} is null"},
		{"{{.item.name}}", `{"id":1}`, `map has no entry for key "name"`},
		{`{{printf "%s" .item.name}}`, `{"name":null}`, `{{.item.name}} is null`},
		{`{{index .item "name"}}`, `{"id":1}`, `{{index .item "name"}} is null or missing`},
	} {
		tt, err := parseTemplate("value", tc.tmpl, templateFuncs(nil))
		if err != nil {
			t.Fatal(err)
		}
		if out, ok := tt.RenderValue([]byte(tc.item), nil, false, nil); ok {
			t.Errorf("%s over %s: compiled path rendered %q", tc.tmpl, tc.item, out)
		}
		v, _ := decode([]byte(tc.item))
		var b strings.Builder
		if _, err := tt.ExecuteValue(v, nil, false, &b); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s over %s: error %v, want %q", tc.tmpl, tc.item, err, tc.err)
		}
	}
}

// A fetched body's strings keep their bytes: a value template that
// projects them writes what the origin sent.
func TestDecodeBodyKeepsBytes(t *testing.T) {
	v := decodeBody([]byte("{\"a\":\"\xffz\",\"n\":1.50}"))
	o, ok := v.(jsonObject)
	if !ok || o["a"] != "\xffz" || fmt.Sprint(o["n"]) != "1.50" {
		t.Fatalf("decoded %#v", v)
	}
}

// Range items hold an int64, which printf formats otherwise than the
// JSON number their raw digits read as: the compiled path must not hand
// the whole item to a function.
func TestValueTemplateRangeItems(t *testing.T) {
	for _, tmpl := range []string{`{{printf "%q|%s|%d" .item .item .item}}`, "{{.item}}", "{{json .item}}"} {
		tt, err := parseTemplate("value", tmpl, templateFuncs(nil))
		if err != nil {
			t.Fatal(err)
		}
		src, err := source.Open(source.RangeSpec{First: -2, Last: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for {
			it, ok := src.Next()
			if !ok {
				break
			}
			v, _ := it.Value()
			var b strings.Builder
			want, err := tt.ExecuteValue(v, nil, false, &b)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := tt.RenderValue(it.Raw, nil, false, nil); ok && string(got) != want {
				t.Errorf("%s over range item %s: compiled %q, text/template %q", tmpl, it.Raw, got, want)
			}
		}
	}
}

// FuzzValueTemplate: a template from valueTemplates (or any text) over
// any JSON item and any body renders, on the compiled path, exactly what
// text/template renders, or steps aside. The seeds are every template
// with a few items; go test runs them in the normal suite.
func FuzzValueTemplate(f *testing.F) {
	for i := range valueTemplates {
		for _, it := range valueItems[:6] {
			f.Add(uint8(i), "", it, valueItems[len(valueItems)-2], true)
		}
	}
	f.Add(uint8(0), `{{printf "%s%s" .item.a (index .body "k" 0)}}`, `{"a":"x"}`, `{"k":[1]}`, true)
	f.Add(uint8(0), `{{json .body}}{{.item.a.b | upper}}`, `{"a":{"b":"é"}}`, `[1,{"z":null}]`, true)
	f.Fuzz(func(t *testing.T, pick uint8, text, item, body string, withBody bool) {
		if !jsonValid(item) {
			return
		}
		tmpl := text
		if tmpl == "" {
			tmpl = valueTemplates[int(pick)%len(valueTemplates)]
		}
		renderBoth(t, tmpl, item, body, withBody)
	})
}
