package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// ExecuteValue renders a value template over {item, body}, item being
// the decoded item (source.Item.Value): the general path, which
// RenderValue's compiled one must match byte for byte. The body is
// decoded only when the template may read it (withBody).
func (t *Template) ExecuteValue(item any, body []byte, withBody bool, b *strings.Builder) (string, error) {
	data := map[string]any{"item": printable(item)}
	if withBody {
		data["body"] = decodeBody(body)
	}
	return t.Execute(data, b)
}

// decodeBody is a body as a value template sees it: its JSON decoded as
// an item's is (numbers as written, strings' bytes kept), else the body as
// a string.
func decodeBody(body []byte) any {
	v, err := source.DecodeJSON(body)
	if err != nil {
		return string(body)
	}
	return printable(v)
}

// jsonObject and jsonArray are decoded JSON that a template prints as
// JSON: {{.body.data}} stores {"a":1}, not Go's map[a:1]. Field access,
// index and range work on them as on any map or slice.
type (
	jsonObject map[string]any
	jsonArray  []any
)

func (o jsonObject) String() string { return jsonText(map[string]any(o)) }
func (a jsonArray) String() string  { return jsonText([]any(a)) }

// jsonText is v as compact JSON, its maps' keys sorted and <, >, &
// written as they are.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// printable gives decoded JSON's objects and arrays their JSON form when
// printed.
func printable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		o := make(jsonObject, len(x))
		for k, e := range x {
			o[k] = printable(e)
		}
		return o
	case []any:
		a := make(jsonArray, len(x))
		for i, e := range x {
			a[i] = printable(e)
		}
		return a
	}
	return v
}
