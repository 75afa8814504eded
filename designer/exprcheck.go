package designer

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
)

// exprChecker finds the errors CompileExpr and CompileTemplate would report, and what an
// expression reads, without generating bytecode. Validation only needs those, and a
// 2,000-node graph holds thousands of expressions: one shared config and a cache by source
// make checking them several times cheaper than compiling each. Not safe for concurrent use.
type exprChecker struct {
	conf  *conf.Config
	exprs map[string]*checkedExpr
	tmpls map[string]*checkedTemplate
}

type checkedExpr struct {
	refs Refs
	err  *ExprError
}

type checkedTemplate struct {
	parts []checkedPart
	err   *ExprError
}

// checkedPart is one {{ expression }} of a template; offset is the byte offset of the
// expression text in the template.
type checkedPart struct {
	offset int
	src    string
	refs   Refs
}

func newExprChecker() *exprChecker {
	// The same config as CompileExpr; the sandbox rewrite keeps every type and error, so
	// checking does without it.
	return &exprChecker{conf: newExprConfig(), exprs: map[string]*checkedExpr{}, tmpls: map[string]*checkedTemplate{}}
}

// expr checks one expression.
func (c *exprChecker) expr(src string) *checkedExpr {
	if r, ok := c.exprs[src]; ok {
		return r
	}
	r, ok := simplePath(src)
	if !ok {
		r = c.check(src)
	}
	c.exprs[src] = r
	return r
}

// pathWords are names that the expression language gives a meaning of their own; a path
// holding one takes the full check.
var pathWords = map[string]bool{"not": true, "in": true, "and": true, "or": true, "matches": true,
	"contains": true, "startsWith": true, "endsWith": true, "let": true, "if": true, "else": true,
	"nil": true, "true": true, "false": true}

// simplePath recognises the commonest expression, a plain path from a scope root such as
// "nodes.classify.output.text", which always compiles; checking it needs no parser.
func simplePath(src string) (*checkedExpr, bool) {
	s := strings.Trim(src, " \t\r\n")
	var segs [3]string
	n := 0
	for start := 0; start <= len(s); {
		end := start
		for end < len(s) && s[end] != '.' {
			end++
		}
		seg := s[start:end]
		if !asciiIdent(seg) || pathWords[seg] {
			return nil, false
		}
		if n < len(segs) {
			segs[n] = seg
		}
		n++
		if n > 64 {
			return nil, false
		}
		start = end + 1
	}
	root := segs[0]
	r := &checkedExpr{refs: Refs{Roots: []string{root}}}
	switch root {
	case RootInput, RootRun:
	case RootNodes:
		if n > 1 {
			r.refs.Nodes = []string{segs[1]}
		}
	case RootSecrets:
		if n > 1 {
			r.refs.Secrets = []string{segs[1]}
		}
	default:
		return nil, false
	}
	return r, true
}

func asciiIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

func (c *exprChecker) check(src string) (r *checkedExpr) {
	if len(src) > maxExprLen {
		return &checkedExpr{err: &ExprError{Message: fmt.Sprintf("expression is longer than %d bytes", maxExprLen)}}
	}
	if strings.TrimSpace(src) == "" {
		return &checkedExpr{err: &ExprError{Column: 1, Message: "expression is empty"}}
	}
	defer func() {
		// expr.Compile turns panics into errors; so must we.
		if p := recover(); p != nil {
			r = &checkedExpr{err: &ExprError{Message: fmt.Sprint(p)}}
		}
	}()
	tree, err := checker.ParseCheck(src, c.conf)
	if err != nil {
		return &checkedExpr{err: toExprError(err, 0)}
	}
	if err := optimizer.Optimize(&tree.Node, c.conf); err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			err = fe.Bind(tree.Source)
		}
		return &checkedExpr{err: toExprError(err, 0)}
	}
	if err := forbiddenCalls(tree.Node); err != nil {
		return &checkedExpr{err: err}
	}
	return &checkedExpr{refs: scopeRefs(tree.Node)}
}

// template checks a template, splitting it exactly as CompileTemplate does.
func (c *exprChecker) template(src string) *checkedTemplate {
	if r, ok := c.tmpls[src]; ok {
		return r
	}
	r := c.checkTemplate(src)
	c.tmpls[src] = r
	return r
}

func (c *exprChecker) checkTemplate(src string) *checkedTemplate {
	segs, splitErr := splitTemplate(src)
	t := &checkedTemplate{}
	for _, seg := range segs {
		if !seg.expr {
			continue
		}
		e := c.expr(seg.text)
		if e.err != nil {
			return &checkedTemplate{err: seg.placeError(e.err)}
		}
		t.parts = append(t.parts, checkedPart{offset: seg.offset, src: seg.text, refs: e.refs})
	}
	if splitErr != nil {
		return &checkedTemplate{err: splitErr}
	}
	return t
}

// scopeRefs is what an expression reads (Refs); names bound by let are not scope roots. It
// gathers into slices: expressions read few names, and maps cost more than they save.
func scopeRefs(root ast.Node) Refs {
	v := &scopeVisitor{}
	ast.Walk(&root, v)
	roots := v.roots[:0]
	for _, r := range v.roots {
		if !contains(v.lets, r) {
			roots = append(roots, r)
		}
	}
	return Refs{Roots: sortedUnique(roots), Nodes: sortedUnique(v.nodes), Secrets: sortedUnique(v.secrets)}
}

type scopeVisitor struct {
	roots, nodes, secrets, lets []string
}

func (v *scopeVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		v.lets = append(v.lets, n.Name)
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, sandboxPrefix) {
			return // the sandbox's own names (see sandbox)
		}
		v.roots = append(v.roots, n.Value)
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return
		}
		switch id.Value {
		case RootNodes:
			v.nodes = append(v.nodes, prop.Value)
		case RootSecrets:
			v.secrets = append(v.secrets, prop.Value)
		}
	}
}

func sortedUnique(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	sort.Strings(list)
	out := list[:1]
	for _, s := range list[1:] {
		if s != out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

// refColumn finds a 1-based column for a name an expression reads, for problems about
// references; 0 when it cannot be found.
func refColumn(src, name string) int {
	for from := 0; from < len(src); {
		i := strings.Index(src[from:], name)
		if i < 0 {
			return 0
		}
		i += from
		end := i + len(name)
		if (i == 0 || !isIdentByte(src[i-1])) && (end == len(src) || !isIdentByte(src[end])) {
			return i + 1
		}
		from = i + 1
	}
	return 0
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
