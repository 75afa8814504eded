package designer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// Limits on the text of expressions; evaluation is bounded by a Budget.
const (
	maxExprNodes = 10000
	maxExprLen   = 64 << 10
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
	program, refs, err := compileSandboxed(src)
	if err != nil {
		return nil, err
	}
	return &Expr{src: src, program: program, refs: refs}, nil
}

// compileSandboxed is expr.Compile with the sandbox rewrite (see sandbox) between the check
// and the optimizer. Errors are those the validator's checker reports, in the same order.
func compileSandboxed(src string) (program *vm.Program, refs Refs, err error) {
	defer func() {
		if p := recover(); p != nil {
			program, err = nil, &ExprError{Message: fmt.Sprint(p)}
		}
	}()
	c := takeExprConfig()
	defer giveExprConfig(c)
	tree, err := checker.ParseCheck(src, c)
	if err != nil {
		return nil, Refs{}, toExprError(err, 0)
	}
	// The nodes the rewrite adds stay untyped (any): the compiler then emits the generic
	// form of each instruction, and checking the tree again would double the cost of
	// compiling, which runs in workflow code for a whole graph at once.
	sandbox(tree)
	if err := optimizer.Optimize(&tree.Node, c); err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			err = fe.Bind(tree.Source)
		}
		return nil, Refs{}, toExprError(err, 0)
	}
	if err := forbiddenCalls(tree.Node); err != nil {
		return nil, Refs{}, err
	}
	refs = scopeRefs(tree.Node)
	program, err = compiler.Compile(tree, c)
	if err != nil {
		return nil, Refs{}, toExprError(err, 0)
	}
	return program, refs, nil
}

// exprConfigs are configs for reuse between compilations, as the validator's checker
// reuses one: building a config costs more than compiling a short expression, and its type
// cache only grows more useful. A config serves one compilation at a time. (A free list
// rather than a sync.Pool, which drops items at random under the race detector.)
var exprConfigs struct {
	sync.Mutex
	free []*conf.Config
}

func takeExprConfig() *conf.Config {
	exprConfigs.Lock()
	defer exprConfigs.Unlock()
	if n := len(exprConfigs.free); n > 0 {
		c := exprConfigs.free[n-1]
		exprConfigs.free = exprConfigs.free[:n-1]
		return c
	}
	return newExprConfig()
}

func giveExprConfig(c *conf.Config) {
	exprConfigs.Lock()
	defer exprConfigs.Unlock()
	if len(exprConfigs.free) < 16 {
		exprConfigs.free = append(exprConfigs.free, c)
	}
}

// newExprConfig is the config expr.Compile would build from exprOptions.
func newExprConfig() *conf.Config {
	c := conf.CreateNew()
	for _, op := range exprOptions() {
		op(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	c.Check()
	return c
}

// Source is the expression text.
func (e *Expr) Source() string { return e.src }

// Refs reports what the expression reads.
func (e *Expr) Refs() Refs { return e.refs }

// Eval runs the expression against a scope (see Scope) within DefaultBudget.
func (e *Expr) Eval(scope map[string]any) (any, error) {
	return e.EvalWith(NewMeter(DefaultBudget), scope)
}

// EvalWith runs the expression against a scope, counting on m; the result counts too, by
// its size written out. Refusals are *BudgetError.
func (e *Expr) EvalWith(m *Meter, scope map[string]any) (any, error) {
	out, err := e.run(m, scope)
	if err != nil {
		return nil, err
	}
	if err := m.chargeValue(out); err != nil {
		err = e.evalError(m, err)
		var be *BudgetError
		if errors.As(err, &be) {
			be.Column = 1 // the value of the whole expression
		}
		return nil, err
	}
	return out, nil
}

// run evaluates without counting the result.
func (e *Expr) run(m *Meter, scope map[string]any) (any, error) {
	if err := m.charge(1, 0); err != nil {
		return nil, err
	}
	if m.ctx != nil && m.ctx.Err() != nil {
		m.err = &BudgetError{Resource: ResourceTime}
		return nil, m.err
	}
	env := make(map[string]any, len(scope)+1)
	for k, v := range scope {
		env[k] = v
	}
	env[meterKey] = m
	// expr's own budget (items of lists and maps it builds, bytes of a few builtins) stays
	// as a backstop under ours.
	v := vm.VM{MemoryBudget: uint(max(m.budget.Memory, 1))}
	out, err := v.Run(e.program, env)
	if err != nil {
		return nil, e.evalError(m, err)
	}
	return out, nil
}

// evalError turns an error from the VM into an *ExprError, or a *BudgetError for a refusal.
func (e *Expr) evalError(m *Meter, err error) error {
	col := 0
	var fe *file.Error
	if errors.As(err, &fe) {
		col = fe.Column + 1
	}
	var be *BudgetError
	if errors.As(err, &be) {
		return &BudgetError{Resource: be.Resource, Limit: be.Limit, Column: col}
	}
	if fe != nil && fe.Message == "memory budget exceeded" {
		m.err = &BudgetError{Resource: ResourceMemory, Limit: m.budget.Memory}
		return &BudgetError{Resource: ResourceMemory, Limit: m.budget.Memory, Column: col}
	}
	var te ValueTooDeepError
	if errors.As(err, &te) {
		return &ExprError{Message: te.Error()}
	}
	return toExprError(err, 0)
}

// EvalBool runs the expression within DefaultBudget and requires a boolean result; nil
// counts as false.
func (e *Expr) EvalBool(scope map[string]any) (bool, error) {
	return e.EvalBoolWith(NewMeter(DefaultBudget), scope)
}

// EvalBoolWith is EvalBool counting on m.
func (e *Expr) EvalBoolWith(m *Meter, scope map[string]any) (bool, error) {
	v, err := e.EvalWith(m, scope)
	if err != nil {
		return false, err
	}
	return AsBool(v)
}

// AsBool is the rule for a condition's value: a boolean, or nil counting as false.
func AsBool(v any) (bool, error) {
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
// now() is disabled, keys(), values() and toPairs() return map entries in key order, and dates parse
// in the worker's zone (keep workers in one zone, as Temporal workers usually are).
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.AllowUndefinedVariables(),
		expr.MaxNodes(maxExprNodes),
		expr.Patch(nilSafeMembers{}),
		expr.DisableBuiltin("now"),
		expr.Function("keys", sortedKeysFunc, new(func(map[string]any) []any)),
		expr.Function("values", sortedValuesFunc, new(func(map[string]any) []any)),
		expr.Function("toPairs", sortedPairsFunc, new(func(map[string]any) []any)),
		expr.Function(fnPre, preFunc),
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

func sortedPairsFunc(params ...any) (any, error) {
	m, err := mapArg("toPairs", params)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(m))
	for _, k := range sortedMapKeys(m) {
		out = append(out, []any{k, m[k]})
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

// Render evaluates the template to a string within DefaultBudget. Values that are not
// strings are written as JSON; null is written as nothing.
func (t *Template) Render(scope map[string]any) (string, error) {
	return t.RenderWith(NewMeter(DefaultBudget), scope)
}

// RenderWith is Render counting on m: all the parts share it, and so does the text built.
func (t *Template) RenderWith(m *Meter, scope map[string]any) (string, error) {
	var b strings.Builder
	if err := t.eachPart(m, scope, func(s string, _ bool) { b.WriteString(s) }); err != nil {
		return "", err
	}
	return b.String(), nil
}

// eachPart evaluates the parts in order on m and hands each piece to write: literal text
// with expr false, an expression's value written as Render writes it with expr true. The
// text is charged as if the caller keeps it all (a builder growing by doubling).
func (t *Template) eachPart(m *Meter, scope map[string]any, write func(s string, expr bool)) error {
	for _, p := range t.parts {
		s := p.text
		if p.expr != nil {
			v, err := p.expr.run(m, scope)
			if err != nil {
				return err
			}
			if s, err = stringifyWith(m, v); err != nil {
				return p.expr.evalError(m, err)
			}
		}
		if err := m.charge(scanSteps(len(s)), 2*int64(len(s))); err != nil {
			return err
		}
		write(s, p.expr != nil)
	}
	return nil
}

// RenderValue is Render, except that a template made of exactly one {{ expression }} keeps
// the expression's value and type (so a JSON body can embed an object).
func (t *Template) RenderValue(scope map[string]any) (any, error) {
	return t.RenderValueWith(NewMeter(DefaultBudget), scope)
}

// RenderValueWith is RenderValue counting on m.
func (t *Template) RenderValueWith(m *Meter, scope map[string]any) (any, error) {
	if len(t.parts) == 1 && t.parts[0].expr != nil {
		return t.parts[0].expr.EvalWith(m, scope)
	}
	return t.RenderWith(m, scope)
}

// stringifyWith is Stringify, charging m for JSON before it is written.
func stringifyWith(m *Meter, v any) (string, error) {
	switch v.(type) {
	case nil, string, float64, float32, int, int64, bool:
		return Stringify(v)
	}
	size, err := m.encodedSize(v, false)
	if err != nil {
		return "", err
	}
	if err := m.charge(1+size/bytesPerStep, 2*size); err != nil {
		return "", err
	}
	return Stringify(v)
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
