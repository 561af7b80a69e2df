package config

import (
	"bytes"
	"encoding/json"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// fastTemplate renders the common template shapes ("item:{{.id}}",
// "{{.}}") straight from an item's raw JSON, without decoding it into a
// map. Anything it is not sure about (a missing field, a null, an object,
// a pipeline, a function) returns ok=false and the item takes the
// text/template path, so output and errors are exactly text/template's.
type fastTemplate struct {
	parts []fastPart
}

type fastPart struct {
	text  string
	field string // "" with dot=false: a text part
	dot   bool
}

// compileFast returns nil when t is not a shape the fast path handles.
func compileFast(t *template.Template) *fastTemplate {
	if t == nil || t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	ft := &fastTemplate{}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			ft.parts = append(ft.parts, fastPart{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil
			}
			switch a := p.Cmds[0].Args[0].(type) {
			case *parse.DotNode:
				ft.parts = append(ft.parts, fastPart{dot: true})
			case *parse.FieldNode:
				if len(a.Ident) != 1 {
					return nil
				}
				ft.parts = append(ft.parts, fastPart{field: a.Ident[0]})
			default:
				return nil
			}
		default:
			return nil
		}
	}
	return ft
}

// render appends the rendered text to buf.
func (ft *fastTemplate) render(raw []byte, buf []byte) ([]byte, bool) {
	for _, p := range ft.parts {
		switch {
		case p.dot:
			var ok bool
			if buf, ok = appendScalar(buf, bytes.TrimSpace(raw)); !ok {
				return buf, false
			}
		case p.field != "":
			v, found := jsonField(raw, p.field)
			if !found {
				return buf, false
			}
			var ok bool
			if buf, ok = appendScalar(buf, v); !ok {
				return buf, false
			}
		default:
			buf = append(buf, p.text...)
		}
	}
	return buf, true
}

// appendScalar appends a JSON string (unescaped), number or boolean the
// way text/template prints it; other values are not handled.
func appendScalar(buf, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return buf, false
	}
	switch c := v[0]; {
	case c == '"':
		// Without escapes a string is its bytes, UTF-8 or not (items keep
		// their bytes); an escaped one that is not UTF-8 is decoded by the
		// item's own decoder, on the slow path.
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') < 0 {
			return append(buf, s...), true
		}
		if !utf8.Valid(s) {
			return buf, false
		}
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return buf, false
		}
		return append(buf, str...), true
	case c == '-' || (c >= '0' && c <= '9'), c == 't', c == 'f':
		return append(buf, v...), true
	}
	return buf, false
}

// jsonField finds a top-level field of a JSON object and returns its raw
// value. raw must be valid JSON. The last duplicate wins, as in
// encoding/json.
func jsonField(raw []byte, name string) (val []byte, found bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] != '"' {
			return val, found
		}
		kend := skipString(raw, i)
		key := raw[i:kend]
		i = skipSpace(raw, kend)
		i++ // ':'
		i = skipSpace(raw, i)
		vend := skipValue(raw, i)
		if keyEquals(key, name) {
			val, found = raw[i:vend], true
		}
		i = skipSpace(raw, vend)
		if i >= len(raw) || raw[i] != ',' {
			return val, found
		}
		i++
	}
}

func keyEquals(quoted []byte, name string) bool {
	inner := quoted[1 : len(quoted)-1]
	if string(inner) == name {
		return true
	}
	if bytes.IndexByte(inner, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i]. It
// jumps from quote to quote (IndexByte is vectorised): a quote ends the
// string unless an odd run of backslashes escapes it.
func skipString(b []byte, i int) int {
	open := i
	for i++; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			break
		}
		i += j
		if escapes(b[open+1:i])%2 == 0 {
			return i + 1
		}
	}
	return len(b)
}

// escapes counts the backslashes that end b.
func escapes(b []byte) int {
	n := 0
	for n < len(b) && b[len(b)-1-n] == '\\' {
		n++
	}
	return n
}

// endsScalar says whether c ends a number, true, false or null.
func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) && !endsScalar(b[i]) {
			i++
		}
		return i
	}
}
