package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/cachewarm/cachewarm/warmup/source"
)

// A value template is text/template over {item, body}. Run as such, every
// item is decoded whole into maps (and the body too) before the template
// reads one field of it, and decoding is most of a value loader's CPU. So
// the shapes value templates are written in ("{{.item.name}}",
// "{{.body.data.id}}", "{{printf "%s-%d" .item.a .item.b}}", "{{index
// .item "k"}}", "{{json .body.data}}", "{{.item.x | lower}}") are
// compiled once into a program that finds each field it reads in the raw
// JSON, decodes only that field, and calls the template's own functions
// with the values text/template would hand them. Whatever the program is
// not sure of (a null or missing field, a field of a value that is not an
// object, a body that is not JSON where a field of it is read) makes it
// step aside (ok=false): the item takes the text/template path, which
// gives the exact output or error. FuzzValueTemplate holds the two paths
// to the same bytes.

// valueProgram is a compiled value template: its parts, in order.
type valueProgram struct {
	parts []valueExpr
}

// valueExpr is one part of a value template: literal text, a field read
// from the item or the body, or a function call over such parts.
type valueExpr struct {
	text  string
	ref   *valueRef
	call  *valueCall
	isRef bool
}

// valueRef is .item or .body and the path below it: field names, and
// array positions (index .item.tags 0).
type valueRef struct {
	body bool
	path []valueStep
}

type valueStep struct {
	key   string
	index int // with byIndex
	// byIndex says the step is an array position.
	byIndex bool
}

// valueCall is a call of one of the template's functions.
type valueCall struct {
	fn   valueFunc
	args []valueExpr
}

// valueFunc calls a template function with evaluated arguments; ok is
// false when the function fails.
type valueFunc func(args []any) (string, bool)

// valueBuiltin is text/template's own function name, which the program
// calls as text/template defines it, or nil.
func valueBuiltin(name string) valueFunc {
	if name == "print" {
		return func(args []any) (string, bool) { return fmt.Sprint(args...), true }
	}
	return nil
}

// compileValue returns the program of a value template, or nil when the
// template has a shape the program does not handle (conditions, ranges,
// variables, the data as a whole, a function it does not know).
func compileValue(t *template.Template, funcs template.FuncMap) *valueProgram {
	if t == nil || t.Tree == nil || t.Tree.Root == nil {
		return nil
	}
	p := &valueProgram{}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			p.parts = append(p.parts, valueExpr{text: string(n.Text)})
		case *parse.ActionNode:
			e, ok := compilePipe(n.Pipe, funcs)
			if !ok {
				return nil
			}
			p.parts = append(p.parts, e)
		default:
			return nil
		}
	}
	return p
}

// compilePipe compiles a pipeline: its first command, then each command
// after it as a call with the value before it as its last argument.
func compilePipe(p *parse.PipeNode, funcs template.FuncMap) (valueExpr, bool) {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 {
		return valueExpr{}, false
	}
	e, ok := compileCommand(p.Cmds[0], nil, funcs)
	for _, c := range p.Cmds[1:] {
		if !ok {
			break
		}
		if _, isCall := c.Args[0].(*parse.IdentifierNode); !isCall {
			return valueExpr{}, false
		}
		e, ok = compileCommand(c, &e, funcs)
	}
	return e, ok
}

// compileCommand compiles one command; piped is the value a pipeline
// hands it as its last argument, or nil.
func compileCommand(c *parse.CommandNode, piped *valueExpr, funcs template.FuncMap) (valueExpr, bool) {
	if len(c.Args) == 0 {
		return valueExpr{}, false
	}
	id, isCall := c.Args[0].(*parse.IdentifierNode)
	if !isCall {
		if len(c.Args) != 1 || piped != nil {
			return valueExpr{}, false
		}
		return compileOperand(c.Args[0], funcs)
	}
	if id.Ident == "index" && funcs["index"] == nil {
		if piped != nil || len(c.Args) < 3 {
			return valueExpr{}, false
		}
		return compileIndex(c.Args[1], c.Args[2:], funcs)
	}
	var args []valueExpr
	for _, a := range c.Args[1:] {
		e, ok := compileOperand(a, funcs)
		if !ok {
			return valueExpr{}, false
		}
		args = append(args, e)
	}
	if piped != nil {
		args = append(args, *piped)
	}
	fn, ok := valueFuncOf(id.Ident, funcs, args)
	if !ok {
		return valueExpr{}, false
	}
	return valueExpr{call: &valueCall{fn: fn, args: args}}, true
}

// compileIndex compiles {{index X k1 k2 …}} with X read from the data and
// literal keys (strings for objects, non-negative integers for arrays)
// into X's path extended by the keys.
func compileIndex(of parse.Node, keys []parse.Node, funcs template.FuncMap) (valueExpr, bool) {
	x, ok := compileOperand(of, funcs)
	if !ok || !x.isRef {
		return valueExpr{}, false
	}
	ref := &valueRef{body: x.ref.body, path: append([]valueStep(nil), x.ref.path...)}
	for _, n := range keys {
		switch k := n.(type) {
		case *parse.StringNode:
			ref.path = append(ref.path, valueStep{key: k.Text})
		case *parse.NumberNode:
			// Decimal digits only: text/template reads 1e2 as a float and
			// 'a' as a rune, which index takes otherwise.
			if !k.IsInt || k.Int64 < 0 || k.Int64 != int64(int(k.Int64)) || strings.Trim(k.Text, "0123456789") != "" {
				return valueExpr{}, false
			}
			ref.path = append(ref.path, valueStep{index: int(k.Int64), byIndex: true})
		default:
			return valueExpr{}, false
		}
	}
	return valueExpr{ref: ref, isRef: true}, true
}

// compileOperand compiles an argument: a field of .item or .body, a
// string literal, or a parenthesised pipeline.
func compileOperand(n parse.Node, funcs template.FuncMap) (valueExpr, bool) {
	switch a := n.(type) {
	case *parse.FieldNode:
		return refOf(a.Ident)
	case *parse.VariableNode:
		if len(a.Ident) < 2 || a.Ident[0] != "$" {
			return valueExpr{}, false
		}
		return refOf(a.Ident[1:])
	case *parse.StringNode:
		return valueExpr{text: a.Text}, true
	case *parse.PipeNode:
		return compilePipe(a, funcs)
	}
	return valueExpr{}, false
}

// refOf is the field chain idents of the data, which must start at item
// or body.
func refOf(idents []string) (valueExpr, bool) {
	if len(idents) == 0 || (idents[0] != "item" && idents[0] != "body") {
		return valueExpr{}, false
	}
	r := &valueRef{body: idents[0] == "body"}
	for _, k := range idents[1:] {
		if k == "String" {
			// A decoded object's method, which text/template calls
			// before it looks for a key of that name.
			return valueExpr{}, false
		}
		r.path = append(r.path, valueStep{key: k})
	}
	return valueExpr{ref: r, isRef: true}, true
}

// valueFuncOf is the function name calls, with args checked against its
// signature as text/template would check them: a function the program
// cannot call as text/template does is refused.
func valueFuncOf(name string, funcs template.FuncMap, args []valueExpr) (valueFunc, bool) {
	f, found := funcs[name]
	if !found {
		fn := valueBuiltin(name)
		return fn, fn != nil
	}
	switch f := f.(type) {
	case func(any) (string, error):
		if len(args) != 1 {
			return nil, false
		}
		return func(a []any) (string, bool) {
			s, err := f(a[0])
			return s, err == nil
		}, true
	case func(any) string:
		if len(args) != 1 {
			return nil, false
		}
		return func(a []any) (string, bool) { return f(a[0]), true }, true
	case func(...any) string:
		return func(a []any) (string, bool) { return f(a...), true }, true
	case func(string, ...any) string:
		// The format must be a literal: a field would reach the function
		// only if it is a string, which text/template checks at run time.
		if len(args) == 0 || args[0].isRef || args[0].call != nil {
			return nil, false
		}
		return func(a []any) (string, bool) { return f(a[0].(string), a[1:]...), true }, true
	}
	return nil, false
}

// RenderValue appends the value template rendered over item, an item's
// raw JSON, and body, the fetched body (read only when withBody), to buf,
// when the compiled program is sure of the result; ok is false otherwise
// and the caller renders with ExecuteValue. item must be valid JSON
// whose decoded form is what ExecuteValue would be given (an item not yet
// decoded: source.Item.Exact).
func (t *Template) RenderValue(item, body []byte, withBody bool, buf []byte) (out []byte, ok bool) {
	if t.value == nil {
		return buf, false
	}
	r := valueRun{item: item, body: body, withBody: withBody}
	if len(t.value.parts) == 1 && t.value.parts[0].isRef && !t.value.parts[0].ref.body && len(buf) == 0 {
		if v, ok := r.sameBytes(t.value.parts[0].ref); ok {
			return v, true
		}
	}
	for _, e := range t.value.parts {
		if buf, ok = r.appendExpr(buf, &e); !ok {
			return buf, false
		}
	}
	return buf, true
}

// valueRun is one rendering: the data, and whether the body is JSON
// (found out once, when first needed).
type valueRun struct {
	item, body []byte
	withBody   bool
	bodyKnown  bool
	bodyJSON   bool
}

// sameBytes is a value template that prints one string without escapes,
// number or boolean of the item ("{{.item.payload}}"): its bytes in the
// item, which lives as long as its value, not a copy. (Not the body's:
// a small value would hold a large body past the memory its slot
// accounts for.) The value is capped at its end, so that nothing
// appended to it can reach the bytes after it.
func (r *valueRun) sameBytes(ref *valueRef) ([]byte, bool) {
	raw, ok := r.resolve(ref)
	if !ok || raw == nil {
		return nil, false
	}
	switch c := raw[0]; {
	case c == '"':
		s := raw[1 : len(raw)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			return nil, false
		}
		return s[:len(s):len(s)], true
	case c == '-' || (c >= '0' && c <= '9'), c == 't', c == 'f':
		return raw[:len(raw):len(raw)], true
	}
	return nil, false
}

// appendExpr appends what text/template prints for e.
func (r *valueRun) appendExpr(buf []byte, e *valueExpr) ([]byte, bool) {
	switch {
	case e.isRef:
		raw, ok := r.resolve(e.ref)
		if !ok {
			return buf, false
		}
		if raw == nil {
			// A body that is not JSON: its text.
			return append(buf, r.body...), true
		}
		if b, ok := appendScalar(buf, raw); ok {
			return b, true
		}
		if raw[0] != '{' && raw[0] != '[' {
			return buf, false
		}
		v, err := source.DecodeJSON(raw)
		if err != nil {
			return buf, false
		}
		return append(buf, jsonText(v)...), true
	case e.call != nil:
		s, ok := r.call(e.call)
		return append(buf, s...), ok
	}
	return append(buf, e.text...), true
}

// call evaluates c's arguments into the values text/template would pass
// and calls its function.
func (r *valueRun) call(c *valueCall) (string, bool) {
	var small [4]any
	args := small[:0]
	for i := range c.args {
		v, ok := r.eval(&c.args[i])
		if !ok {
			return "", false
		}
		args = append(args, v)
	}
	return c.fn(args)
}

// eval is the value text/template gives e: a string, a json.Number, a
// bool, or an object or array that prints as JSON.
func (r *valueRun) eval(e *valueExpr) (any, bool) {
	switch {
	case e.isRef:
		raw, ok := r.resolve(e.ref)
		if !ok {
			return nil, false
		}
		if raw == nil {
			return string(r.body), true
		}
		switch c := raw[0]; {
		case c == '"':
			s, ok := appendScalar(nil, raw)
			return string(s), ok
		case c == 't':
			return true, true
		case c == 'f':
			return false, true
		case c == '-' || (c >= '0' && c <= '9'):
			// The whole item may be a range's int64, which printf formats
			// otherwise than a JSON number (%q, %s).
			if !e.ref.body && len(e.ref.path) == 0 {
				return nil, false
			}
			return json.Number(raw), true
		case c == '{' || c == '[':
			v, err := source.DecodeJSON(raw)
			if err != nil {
				return nil, false
			}
			return printable(v), true
		}
		return nil, false // null
	case e.call != nil:
		return r.call(e.call)
	}
	return e.text, true
}

// resolve finds ref's value in the raw JSON: nil with ok for a body that
// is not JSON (which text/template sees as a string), not ok where
// text/template would fail or find nothing.
func (r *valueRun) resolve(ref *valueRef) ([]byte, bool) {
	raw := r.item
	if ref.body {
		if !r.withBody {
			return nil, false
		}
		if !r.bodyKnown {
			r.bodyKnown, r.bodyJSON = true, json.Valid(r.body)
		}
		if !r.bodyJSON {
			return nil, len(ref.path) == 0
		}
		raw = r.body
	}
	for _, s := range ref.path {
		var found bool
		if s.byIndex {
			raw, found = jsonIndex(raw, s.index)
		} else {
			raw, found = jsonField(raw, s.key)
		}
		if !found {
			return nil, false
		}
	}
	raw = bytes.TrimSpace(raw)
	return raw, len(raw) > 0 && raw[0] != 'n'
}

// jsonIndex is the element at position i of a JSON array; raw must be
// valid JSON.
func jsonIndex(raw []byte, i int) ([]byte, bool) {
	j := skipSpace(raw, 0)
	if j >= len(raw) || raw[j] != '[' {
		return nil, false
	}
	j = skipSpace(raw, j+1)
	for n := 0; j < len(raw) && raw[j] != ']'; n++ {
		end := skipValue(raw, j)
		if n == i {
			return raw[j:end], true
		}
		j = skipSpace(raw, end)
		if j < len(raw) && raw[j] == ',' {
			j = skipSpace(raw, j+1)
		}
	}
	return nil, false
}
