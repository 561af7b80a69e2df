package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/url"
	"strings"
	"text/template"
	"text/template/parse"
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
		"printf":     printf,
	}
	maps.Copy(funcs, extra)
	return funcs
}

// Template is a key, URL or value template as the config wrote it: Go
// text/template over the item (a value template: over {item, body}), with
// a fast path for the common shapes ("item:{{.id}}", "{{.}}";
// RenderRaw) and a compiled form of value templates (RenderValue) that
// render straight from an item's JSON.
type Template struct {
	// Text is the template as written (after ${VAR} expansion).
	Text string
	t    *template.Template
	fast *fastTemplate
	// value is the compiled form of a value template (RenderValue).
	value *valueProgram
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
	if ne, ok := nullErr(err); ok {
		return ne
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "template:") {
		msg = msg[i+2:]
	}
	return fmt.Errorf("%s", msg)
}

// UsesBody says whether the template names .body (or $.body): a value
// template that does needs a fetch.
func (t *Template) UsesBody() bool {
	named, _ := t.reads("body")
	return named
}

// ReadsBody says whether rendering may read .body: the template names
// it, or hands the whole data to something ({{json .}}, {{template}}).
// The engine decodes a fetched body only for a template that does.
func (t *Template) ReadsBody() bool {
	named, whole := t.reads("body")
	return named || whole
}

// reads walks the template's parse tree: named is whether a field chain
// starts with name; whole whether the root data may be read as a whole.
func (t *Template) reads(name string) (named, whole bool) {
	if t.t == nil {
		return false, false
	}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			named = named || n.Ident[0] == name
		case *parse.VariableNode:
			if n.Ident[0] == "$" {
				named = named || (len(n.Ident) > 1 && n.Ident[1] == name)
				whole = whole || len(n.Ident) == 1
			} else {
				// A variable may hold the data ({{$d := .}}).
				whole = true
			}
		case *parse.DotNode, *parse.ChainNode, *parse.TemplateNode:
			whole = true
		case *parse.IfNode:
			walkBranch(walk, &n.BranchNode)
		case *parse.RangeNode:
			walkBranch(walk, &n.BranchNode)
		case *parse.WithNode:
			walkBranch(walk, &n.BranchNode)
		}
	}
	for _, tt := range t.t.Templates() {
		if tt.Tree != nil {
			walk(tt.Root)
		}
	}
	return named, whole
}

func walkBranch(walk func(parse.Node), b *parse.BranchNode) {
	walk(b.Pipe)
	walk(b.List)
	if b.ElseList != nil {
		walk(b.ElseList)
	}
}

// printf is text/template's printf, except that a JSON number (an item's
// number from JSONL, SQL or a report) formats as the number it is:
// {{printf "%07d" .id}} of {"id":7} is 0000007, as for a range's int64,
// not the key "%!d(json.Number=0000007)".
func printf(format string, args ...any) string {
	if !strings.Contains(format, "%T") {
		for i, a := range args {
			if n, ok := a.(json.Number); ok {
				args[i] = number(n)
			}
		}
	}
	return fmt.Sprintf(format, args...)
}

// number is a JSON number that integer verbs print as an integer and
// float verbs as a float, when it is one; every other verb prints its
// text.
type number json.Number

// Format implements fmt.Formatter.
func (n number) Format(f fmt.State, verb rune) {
	spec := fmt.FormatString(f, verb)
	switch verb {
	case 'd', 'x', 'X', 'o', 'O', 'b', 'c', 'U':
		if i, err := json.Number(n).Int64(); err == nil {
			fmt.Fprintf(f, spec, i)
			return
		}
		if b, ok := new(big.Int).SetString(string(n), 10); ok {
			fmt.Fprintf(f, spec, b)
			return
		}
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if x, err := json.Number(n).Float64(); err == nil {
			fmt.Fprintf(f, spec, x)
			return
		}
	}
	fmt.Fprintf(f, spec, string(n))
}
