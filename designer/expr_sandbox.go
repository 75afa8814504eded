package designer

import (
	"reflect"
	"strconv"
	"time"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Expressions are code written by users, so a compiled expression is rewritten to run in a
// sandbox: every loop and every operator or builtin that could allocate or scan much first
// asks a per-evaluation Meter, with the actual sizes, and is refused before it starts when
// the budget would pass. expr's own memory budget sees neither the bytes a builtin
// allocates nor string concatenation, and it cannot stop a long loop.
//
// The rewrite keeps each operator and builtin as it was and binds its operands to variables
// first, so types, compile errors and results stay exactly those of the original:
//
//	a + b          becomes   let v1 = a; let v2 = b; (meter("+", v1, v2); v1 + v2)
//	map(xs, body)  becomes   let v3 = xs; (meter("loop", v3, size of body, 16); map(v3, body))
//
// A loop is charged for all its passes when it starts (the size of its body in steps for
// each item), which refuses it before the first pass and costs nothing per pass.
// The names the rewrite introduces start with a NUL byte, which no expression can spell.
const (
	sandboxPrefix = "\x00"
	meterKey      = sandboxPrefix + "meter" // the Meter in the environment
	meterVar      = sandboxPrefix + "m"     // bound to it once, at the root
	fnPre         = sandboxPrefix + "pre"
)

// preFunc is the meter's entry point, registered with every expression (see exprOptions).
func preFunc(params ...any) (any, error) {
	return nil, params[0].(*Meter).pre(params[1].(string), params[2:])
}

// guardedBuiltins are the builtins charged before they run; the others take constant time
// and allocate nothing worth counting (len, abs, first, get, take, …).
var guardedBuiltins = map[string]bool{
	"repeat": true, "join": true, "replace": true, "split": true, "splitAfter": true,
	"upper": true, "lower": true, "trim": true, "trimPrefix": true, "trimSuffix": true,
	"indexOf": true, "lastIndexOf": true, "hasPrefix": true, "hasSuffix": true,
	"int": true, "float": true, "duration": true, "date": true, "timezone": true,
	"toJSON": true, "fromJSON": true, "toBase64": true, "fromBase64": true, "string": true,
	"max": true, "min": true, "mean": true, "median": true,
	"sort": true, "reverse": true, "uniq": true, "concat": true, "flatten": true,
	"keys": true, "values": true, "toPairs": true, "fromPairs": true,
}

// collectBytes is what one pass of a loop adds to the value it builds.
var collectBytes = map[string]int{"map": wordBytes, "filter": wordBytes, "sortBy": 2 * wordBytes, "groupBy": 4 * wordBytes}

// sandbox rewrites a checked tree (node types are known) in place.
func sandbox(tree *parser.Tree) {
	s := &sandboxer{skip: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, &rangeSkipper{skip: s.skip})
	ast.Walk(&tree.Node, s)
	root := tree.Node
	decl := &ast.VariableDeclaratorNode{Name: meterVar, Value: &ast.IdentifierNode{Value: meterKey}, Expr: root}
	at(decl, root)
	at(decl.Value, root)
	tree.Node = decl
}

// rangeSkipper finds `x in 1..9` with literal bounds, which the optimizer turns into two
// comparisons; that range is never built.
type rangeSkipper struct{ skip map[ast.Node]bool }

func (r *rangeSkipper) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.BinaryNode)
	if !ok || n.Operator != "in" || n.Left.Type().Kind() != reflect.Int {
		return
	}
	if rng, ok := n.Right.(*ast.BinaryNode); ok && rng.Operator == ".." {
		_, lo := rng.Left.(*ast.IntegerNode)
		_, hi := rng.Right.(*ast.IntegerNode)
		if lo && hi {
			r.skip[rng] = true
		}
	}
}

type sandboxer struct {
	vars int
	skip map[ast.Node]bool
}

func (s *sandboxer) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if op, ok := s.binaryOp(n); ok {
			s.guard(node, op, []*ast.Node{&n.Left, &n.Right})
		}
	case *ast.BuiltinNode:
		weight, loop := 1, false
		for _, a := range n.Arguments {
			if p, ok := a.(*ast.PredicateNode); ok {
				weight += countNodes(p.Node)
				loop = true
			}
		}
		switch {
		case guardedBuiltins[n.Name]:
			s.guard(node, n.Name, argPtrs(n.Arguments))
		case loop || n.Name == "sum" || n.Name == "count":
			s.guard(node, "loop", argPtrs(n.Arguments[:1]),
				&ast.IntegerNode{Value: weight}, &ast.IntegerNode{Value: collectBytes[n.Name]})
		}
	case *ast.CallNode:
		// keys, values and toPairs are our own functions (sorted), not builtins.
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && (id.Value == "keys" || id.Value == "values" || id.Value == "toPairs") {
			s.guard(node, id.Value, argPtrs(n.Arguments))
		}
	}
}

// binaryOp says whether a binary operator needs the meter, and under which name.
func (s *sandboxer) binaryOp(n *ast.BinaryNode) (string, bool) {
	lit := func(x ast.Node) bool { return isLiteral(x) }
	switch n.Operator {
	case "+":
		return "+", !(lit(n.Left) && lit(n.Right)) && !(scalar(n.Left) && scalar(n.Right))
	case "==", "!=", "<", ">", "<=", ">=":
		return n.Operator, !lit(n.Left) && !lit(n.Right) && !scalar(n.Left) && !scalar(n.Right)
	case "in":
		if arr, ok := n.Right.(*ast.ArrayNode); ok && allLiteral(arr.Nodes) {
			return "", false
		}
		if rng, ok := n.Right.(*ast.BinaryNode); ok && s.skip[rng] {
			return "", false
		}
		return "in", true
	case "contains", "startsWith", "endsWith":
		return n.Operator, !lit(n.Left)
	case "matches":
		if _, ok := n.Right.(*ast.StringNode); ok {
			return "matchesConst", !lit(n.Left) // a constant pattern is compiled once
		}
		return "matches", !lit(n.Left)
	case "..":
		return "..", !s.skip[n]
	}
	return "", false
}

// guard binds the operands to fresh variables and calls the meter with them, and extra,
// before the node itself runs. Literals stay in place (and are copied into the call).
func (s *sandboxer) guard(node *ast.Node, op string, operands []*ast.Node, extra ...ast.Node) {
	orig := *node
	args := []ast.Node{&ast.IdentifierNode{Value: meterVar}, &ast.StringNode{Value: op}}
	var decls []*ast.VariableDeclaratorNode
	for _, p := range operands {
		if c := copyLiteral(*p); c != nil {
			args = append(args, c)
			continue
		}
		s.vars++
		name := sandboxPrefix + "v" + strconv.Itoa(s.vars)
		decl := &ast.VariableDeclaratorNode{Name: name, Value: *p}
		at(decl, *p)
		decls = append(decls, decl)
		ref := &ast.IdentifierNode{Value: name}
		at(ref, *p)
		*p = ref
		args = append(args, &ast.IdentifierNode{Value: name})
	}
	args = append(args, extra...)
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fnPre}, Arguments: args}
	atAll(call, orig)
	var out ast.Node = &ast.SequenceNode{Nodes: []ast.Node{call, orig}}
	at(out, orig)
	for i := len(decls) - 1; i >= 0; i-- {
		decls[i].Expr = out
		out = decls[i]
	}
	*node = out
}

func argPtrs(args []ast.Node) []*ast.Node {
	out := make([]*ast.Node, len(args))
	for i := range args {
		out[i] = &args[i]
	}
	return out
}

func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode, *ast.BytesNode, *ast.ConstantNode:
		return true
	}
	return false
}

func allLiteral(ns []ast.Node) bool {
	for _, n := range ns {
		if !isLiteral(n) {
			return false
		}
	}
	return true
}

// copyLiteral copies a literal node (the checker may set a literal's type from where it
// is used, so two uses must not share one node); nil when n is not a literal.
func copyLiteral(n ast.Node) ast.Node {
	var c ast.Node
	switch x := n.(type) {
	case *ast.IntegerNode:
		c = &ast.IntegerNode{Value: x.Value}
	case *ast.FloatNode:
		c = &ast.FloatNode{Value: x.Value}
	case *ast.StringNode:
		c = &ast.StringNode{Value: x.Value}
	case *ast.BoolNode:
		c = &ast.BoolNode{Value: x.Value}
	case *ast.NilNode:
		c = &ast.NilNode{}
	case *ast.BytesNode:
		c = &ast.BytesNode{Value: x.Value}
	case *ast.ConstantNode:
		c = &ast.ConstantNode{Value: x.Value}
	default:
		return nil
	}
	at(c, n)
	return c
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
)

// scalar: the checker knows the node is a number, a bool, a time or a duration, whose
// operators take constant time.
func scalar(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return false
	}
	if t == timeType || t == durationType {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// countNodes is a loop body's weight: one step per node, each pass.
func countNodes(n ast.Node) int {
	c := &nodeCounter{}
	ast.Walk(&n, c)
	return c.n
}

type nodeCounter struct{ n int }

func (c *nodeCounter) Visit(*ast.Node) { c.n++ }

// at gives a new node the location of the node it stands for, so that errors and budget
// refusals point at the user's text.
func at(n, of ast.Node) { n.SetLocation(of.Location()) }

// atAll sets the location of a new call and of its callee and arguments.
func atAll(call *ast.CallNode, of ast.Node) {
	at(call, of)
	at(call.Callee, of)
	for _, a := range call.Arguments {
		at(a, of)
	}
}
