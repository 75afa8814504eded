package designer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits on expressions, so that evaluation is bounded in time and memory.
const (
	maxExprNodes    = 10000
	exprMemoryBudet = 1_000_000
	maxExprLen      = 64 << 10
)

// Scope roots an expression may name.
const (
	RootInput   = "input"
	RootNodes   = "nodes"
	RootRun     = "run"
	RootSecrets = "secrets"
)

// ExprError is a compile or evaluation error with a 1-based column in the source text.
type ExprError struct {
	Column  int
	Message string
}

func (e *ExprError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("column %d: %s", e.Column, e.Message)
	}
	return e.Message
}

// Expr is a compiled expression. Compile once per version; Eval is safe for concurrent use.
type Expr struct {
	src     string
	program *vm.Program
	refs    Refs
}

// Refs are what an expression reads: the scope roots, the node ids under nodes.<id>, and
// the secret names under secrets.<name>. Each list is sorted and without duplicates.
type Refs struct {
	Roots   []string
	Nodes   []string
	Secrets []string
}

// CompileExpr compiles one expression.
func CompileExpr(src string) (*Expr, error) {
	if len(src) > maxExprLen {
		return nil, &ExprError{Message: fmt.Sprintf("expression is longer than %d bytes", maxExprLen)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &ExprError{Column: 1, Message: "expression is empty"}
	}
	program, err := expr.Compile(src, exprOptions()...)
	if err != nil {
		return nil, toExprError(err, 0)
	}
	if err := forbiddenCalls(program.Node()); err != nil {
		return nil, err
	}
	e := &Expr{src: src, program: program}
	e.refs = scopeRefs(program.Node())
	return e, nil
}

// Source is the expression text.
func (e *Expr) Source() string { return e.src }

// Refs reports what the expression reads.
func (e *Expr) Refs() Refs { return e.refs }

// Eval runs the expression against a scope (see Scope).
func (e *Expr) Eval(scope map[string]any) (any, error) {
	v := vm.VM{MemoryBudget: exprMemoryBudet}
	out, err := v.Run(e.program, scope)
	if err != nil {
		return nil, toExprError(err, 0)
	}
	return out, nil
}

// EvalBool runs the expression and requires a boolean result; nil counts as false.
func (e *Expr) EvalBool(scope map[string]any) (bool, error) {
	v, err := e.Eval(scope)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	default:
		return false, &ExprError{Message: fmt.Sprintf("expected a boolean, got %T", v)}
	}
}

func toExprError(err error, offset int) *ExprError {
	var fe *file.Error
	if errors.As(err, &fe) {
		col := fe.Column + 1
		return &ExprError{Column: offset + col, Message: fe.Message}
	}
	return &ExprError{Column: offset, Message: err.Error()}
}

// exprOptions are the compiler options of every expression, shared by CompileExpr and the
// validator's checker so that both accept exactly the same language. Expressions run inside
// workflow code, so everything that could differ between a run and its replay is removed:
// now() is disabled, keys() and values() return map entries in key order, and dates parse
// in the worker's zone (keep workers in one zone, as Temporal workers usually are).
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.AllowUndefinedVariables(),
		expr.MaxNodes(maxExprNodes),
		expr.Patch(nilSafeMembers{}),
		expr.DisableBuiltin("now"),
		expr.Function("keys", sortedKeysFunc, new(func(map[string]any) []any)),
		expr.Function("values", sortedValuesFunc, new(func(map[string]any) []any)),
	}
}

// forbidden are functions an expression may not call, with the reason.
var forbidden = map[string]string{
	"now": "now() is not allowed: expressions must give the same result when a run is replayed; use run.started_at",
}

// forbiddenCalls finds a call to a forbidden function.
func forbiddenCalls(root ast.Node) *ExprError {
	v := &callFinder{}
	ast.Walk(&root, v)
	return v.err
}

type callFinder struct{ err *ExprError }

func (f *callFinder) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok || f.err != nil {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); ok {
		if msg, bad := forbidden[id.Value]; bad {
			f.err = &ExprError{Column: c.Location().From + 1, Message: msg}
		}
	}
}

func mapArg(name string, params []any) (map[string]any, error) {
	if len(params) != 1 {
		return nil, fmt.Errorf("%s() takes one map", name)
	}
	if params[0] == nil {
		return map[string]any{}, nil
	}
	m, ok := params[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s() takes a map, got %T", name, params[0])
	}
	return m, nil
}

func sortedKeysFunc(params ...any) (any, error) {
	m, err := mapArg("keys", params)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(m))
	for _, k := range sortedMapKeys(m) {
		out = append(out, k)
	}
	return out, nil
}

func sortedValuesFunc(params ...any) (any, error) {
	m, err := mapArg("values", params)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(m))
	for _, k := range sortedMapKeys(m) {
		out = append(out, m[k])
	}
	return out, nil
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// nilSafeMembers makes every member access nil-safe (as if written a?.b), because the spec
// gives nodes that did not complete a null output and expects nodes.x.output.y to be null
// rather than an error, so that `a.output.y ?? b.output.y` picks the branch that ran.
type nilSafeMembers struct{}

func (nilSafeMembers) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.MemberNode:
		if n.Optional {
			return
		}
		n.Optional = true
		ast.Patch(node, &ast.ChainNode{Node: n})
	case *ast.CallNode:
		// A method callee must stay a plain member node.
		if c, ok := n.Callee.(*ast.ChainNode); ok {
			n.Callee = c.Node
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Template is a compiled string with {{ expression }} parts.
type Template struct {
	src   string
	parts []templatePart
}

type templatePart struct {
	text string
	expr *Expr
}

// CompileTemplate compiles a template. Error columns are positions in the whole template.
func CompileTemplate(src string) (*Template, error) {
	segs, splitErr := splitTemplate(src)
	t := &Template{src: src}
	for _, seg := range segs {
		if !seg.expr {
			t.parts = append(t.parts, templatePart{text: seg.text})
			continue
		}
		e, err := CompileExpr(seg.text)
		if err != nil {
			var ee *ExprError
			errors.As(err, &ee)
			return nil, seg.placeError(ee)
		}
		t.parts = append(t.parts, templatePart{expr: e})
	}
	if splitErr != nil {
		return nil, splitErr
	}
	return t, nil
}

// templateSegment is a piece of a template: literal text, or the text of one
// {{ expression }} starting at byte offset offset.
type templateSegment struct {
	text   string
	expr   bool
	offset int
}

// placeError moves an error in the segment's expression to its column in the template.
func (seg templateSegment) placeError(e *ExprError) *ExprError {
	col := e.Column
	if col == 0 {
		col = 1
	}
	return &ExprError{Column: seg.offset + col, Message: e.Message}
}

// splitTemplate cuts a template into text and expression segments, the one way templates
// are read (CompileTemplate and the validator's checker). On an unclosed {{ it returns the
// segments before it with the error, so that callers report problems in template order.
func splitTemplate(src string) ([]templateSegment, *ExprError) {
	if len(src) > maxExprLen {
		return nil, &ExprError{Message: fmt.Sprintf("template is longer than %d bytes", maxExprLen)}
	}
	var segs []templateSegment
	rest, offset := src, 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				segs = append(segs, templateSegment{text: rest, offset: offset})
			}
			return segs, nil
		}
		if i > 0 {
			segs = append(segs, templateSegment{text: rest[:i], offset: offset})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return segs, &ExprError{Column: offset + i + 1, Message: "unclosed {{"}
		}
		segs = append(segs, templateSegment{text: rest[i+2 : i+2+j], expr: true, offset: offset + i + 2})
		consumed := i + 2 + j + 2
		rest, offset = rest[consumed:], offset+consumed
	}
}

// Source is the template text.
func (t *Template) Source() string { return t.src }

// Refs reports what the template's expressions read.
func (t *Template) Refs() Refs {
	roots, nodes, secrets := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range t.parts {
		if p.expr == nil {
			continue
		}
		r := p.expr.Refs()
		for _, s := range r.Roots {
			roots[s] = true
		}
		for _, s := range r.Nodes {
			nodes[s] = true
		}
		for _, s := range r.Secrets {
			secrets[s] = true
		}
	}
	return Refs{Roots: sortedKeys(roots), Nodes: sortedKeys(nodes), Secrets: sortedKeys(secrets)}
}

// Render evaluates the template to a string. Values that are not strings are written as
// JSON; null is written as nothing.
func (t *Template) Render(scope map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.expr.Eval(scope)
		if err != nil {
			return "", err
		}
		s, err := Stringify(v)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// RenderValue is Render, except that a template made of exactly one {{ expression }} keeps
// the expression's value and type (so a JSON body can embed an object).
func (t *Template) RenderValue(scope map[string]any) (any, error) {
	if len(t.parts) == 1 && t.parts[0].expr != nil {
		return t.parts[0].expr.Eval(scope)
	}
	return t.Render(scope)
}

// Stringify writes a value as templates show it.
func Stringify(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", fmt.Errorf("cannot write %T into a template: %w", v, err)
		}
		return string(b), nil
	}
}
