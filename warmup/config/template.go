package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"text/template"
)

// templateFuncs are the functions key and URL templates may call: the
// built-in ones, which cannot read files or run programs, and extra, the
// caller's (Options.Funcs).
func templateFuncs(extra template.FuncMap) template.FuncMap {
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"urlquery": func(args ...any) string {
			return url.QueryEscape(fmt.Sprint(args...))
		},
		"pathescape": func(v any) string { return url.PathEscape(fmt.Sprint(v)) },
		"lower":      func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
		"upper":      func(v any) string { return strings.ToUpper(fmt.Sprint(v)) },
	}
	maps.Copy(funcs, extra)
	return funcs
}

// Template is a key or URL template as the config wrote it: Go
// text/template over the item, with a fast path for the common shapes
// ("item:{{.id}}", "{{.}}") that renders straight from an item's JSON.
type Template struct {
	// Text is the template as written (after ${VAR} expansion).
	Text string
	t    *template.Template
	fast *fastTemplate
}

// RenderRaw appends the template rendered over raw, an item's JSON, to
// buf, when the fast path is sure of the result; ok is false otherwise
// and the caller renders with Execute.
func (t *Template) RenderRaw(raw []byte, buf []byte) (out []byte, ok bool) {
	if t.fast == nil {
		return buf, false
	}
	return t.fast.render(raw, buf)
}

// Execute renders the template over v, a decoded item, into a reused
// builder and returns the text.
func (t *Template) Execute(v any, b *strings.Builder) (string, error) {
	b.Reset()
	if err := t.t.Execute(b, v); err != nil {
		return "", templateErr(err)
	}
	return b.String(), nil
}

// templateErr keeps the part of a template error a user can act on:
// `map has no entry for key "id"` instead of the full template position.
func templateErr(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "template:") {
		msg = msg[i+2:]
	}
	return fmt.Errorf("%s", msg)
}
