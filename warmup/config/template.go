package config

import (
	"encoding/json"
	"fmt"
	"maps"
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
