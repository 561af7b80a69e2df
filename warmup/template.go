package warmup

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"text/template"
)

// templateFuncs are the functions key and URL templates may call. They
// cannot read files or run programs.
func templateFuncs(cfg *Config) template.FuncMap {
	return template.FuncMap{
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
		"origin": func() (string, error) {
			if cfg.originURL == "" {
				return "", fmt.Errorf("{{origin}} needs [origin] simulate = true")
			}
			return cfg.originURL, nil
		},
	}
}

// render executes t over v into a reused builder and returns the text.
func render(t *template.Template, v any, b *strings.Builder) (string, error) {
	b.Reset()
	if err := t.Execute(b, v); err != nil {
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
