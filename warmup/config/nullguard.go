package config

import (
	"errors"
	"strconv"
	"text/template"
	"text/template/parse"
)

// No key from nothing. text/template prints a null, or a map entry that
// index finds missing, as "<no value>", and hands it to a function as nil
// (printf prints "%!d(<nil>)", urlquery "%3Cnil%3E"): three rows whose id
// is NULL made one key "q:<no value>". missingkey=error covers a field
// that is missing only. So a template's tree is rewritten once, when it
// is parsed, to pass every value it prints, and every value it hands to a
// function other than the ones that test values (and, or, not, eq, ...),
// through a check that fails on null: the item is rejected with a reason
// naming the field. Conditions ({{if .id}}, {{or .nick .name}}) still see
// null as false, and {{json .id}} writes it as JSON's null.

// presentFunc is the check the guard inserts. Its name cannot be a
// function a config names by accident.
const presentFunc = "_cachewarm_present"

// nullError is a template reading a null or missing value where the
// output or a function needs one. Its message is the whole reason.
type nullError struct{ msg string }

func (e *nullError) Error() string { return e.msg }

// present passes v on, or fails with msg when v is null.
func present(msg string, v any) (any, error) {
	if v == nil {
		return nil, &nullError{msg}
	}
	return v, nil
}

// nullTolerant are the functions a null may reach: they test values,
// fail on a null of their own accord (index, len, slice, call), or print
// it as what it is (json writes null, as a loader without items needs:
// its one item is null).
var nullTolerant = map[string]bool{
	"json": true, "and": true, "or": true, "not": true, "eq": true, "ne": true, "lt": true, "le": true,
	"gt": true, "ge": true, "len": true, "index": true, "slice": true, "call": true, presentFunc: true,
}

// neverNull are functions that always return a string: what they print
// needs no check.
var neverNull = map[string]bool{
	"printf": true, "print": true, "println": true, "urlquery": true, "pathescape": true,
	"lower": true, "upper": true, "json": true, "html": true, "js": true,
}

// guardNulls rewrites every tree of t (see above). t's funcs must include
// presentFunc.
func guardNulls(t *template.Template) {
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Root != nil {
			guardNode(tt.Root)
		}
	}
}

func guardNode(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				guardNode(c)
			}
		}
	case *parse.ActionNode:
		text := n.Pipe.String()
		guardPipe(n.Pipe)
		if len(n.Pipe.Decl) == 0 && mayBeNull(n.Pipe.Cmds[len(n.Pipe.Cmds)-1]) {
			n.Pipe.Cmds = append(n.Pipe.Cmds, checkCommand(n.Pipe.Position(), nullMessage(text, lastArg(n.Pipe))))
		}
	case *parse.IfNode:
		guardBranch(&n.BranchNode)
	case *parse.RangeNode:
		guardBranch(&n.BranchNode)
	case *parse.WithNode:
		guardBranch(&n.BranchNode)
	case *parse.TemplateNode:
		guardPipe(n.Pipe)
	}
}

func guardBranch(b *parse.BranchNode) {
	guardPipe(b.Pipe)
	guardNode(b.List)
	if b.ElseList != nil {
		guardNode(b.ElseList)
	}
}

// guardPipe checks the arguments of p's function calls, and a command's
// result piped into a call.
func guardPipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	texts := make([]string, len(p.Cmds))
	for i, c := range p.Cmds {
		texts[i] = c.String()
	}
	cmds := make([]*parse.CommandNode, 0, len(p.Cmds))
	for i, c := range p.Cmds {
		guardCommand(c)
		if i > 0 && checksArgs(c) && mayBeNull(p.Cmds[i-1]) {
			cmds = append(cmds, checkCommand(c.Position(), nullMessage(texts[i-1], p.Cmds[i-1].Args[0])))
		}
		cmds = append(cmds, c)
	}
	p.Cmds = cmds
}

func guardCommand(c *parse.CommandNode) {
	checked := checksArgs(c)
	for j, a := range c.Args {
		text := a.String()
		if sub, ok := a.(*parse.PipeNode); ok {
			guardPipe(sub)
		}
		if checked && j > 0 && isValue(a) {
			c.Args[j] = checkedArg(a, nullMessage(text, a))
		}
	}
}

// checksArgs says whether c calls a function that must not be handed a
// null.
func checksArgs(c *parse.CommandNode) bool {
	id, ok := c.Args[0].(*parse.IdentifierNode)
	return ok && !nullTolerant[id.Ident]
}

// mayBeNull says whether c's result may be null: it is not a literal or
// a call of a function that returns a string.
func mayBeNull(c *parse.CommandNode) bool {
	switch a := c.Args[0].(type) {
	case *parse.IdentifierNode:
		return !neverNull[a.Ident]
	case *parse.PipeNode:
		return mayBeNull(a.Cmds[len(a.Cmds)-1])
	}
	return isValue(c.Args[0])
}

// isValue says whether n is read from the data: a field, a variable, dot,
// or a parenthesised pipeline.
func isValue(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode, *parse.ChainNode, *parse.VariableNode, *parse.DotNode:
		return true
	case *parse.PipeNode:
		return len(n.Decl) == 0 && mayBeNull(n.Cmds[len(n.Cmds)-1])
	}
	return false
}

func lastArg(p *parse.PipeNode) parse.Node {
	return p.Cmds[len(p.Cmds)-1].Args[0]
}

// nullMessage is the reason an item whose value text is null is
// rejected: a field is null (missingkey=error has found a missing one
// already), anything else null or missing.
func nullMessage(text string, n parse.Node) string {
	if _, field := n.(*parse.FieldNode); field {
		return "{{" + text + "}} is null"
	}
	return "{{" + text + "}} is null or missing"
}

// checkedArg is the argument n, passed through the check.
func checkedArg(n parse.Node, msg string) *parse.PipeNode {
	pos := n.Position()
	return &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{
		{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{n}},
		checkCommand(pos, msg),
	}}
}

// checkCommand is the command "presentFunc msg", the piped value its
// last argument.
func checkCommand(pos parse.Pos, msg string) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{
		parse.NewIdentifier(presentFunc).SetPos(pos),
		&parse.StringNode{NodeType: parse.NodeString, Pos: pos, Quoted: strconv.Quote(msg), Text: msg},
	}}
}

// nullErr finds the guard's error in a template's.
func nullErr(err error) (*nullError, bool) {
	var ne *nullError
	return ne, errors.As(err, &ne)
}
