package designer

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The validator checks expressions without compiling them (exprcheck.go); these tests hold
// it to what CompileExpr and CompileTemplate, which the engine uses, say.

var exprCorpus = []string{
	"input.a", " nodes.x.output ", "\tinput.a.b.c\n", "input.", "1 +", "", "   ",
	"nodes.a.output ?? nodes.b.output", "let x = input.n; x * 2", "1 % 0", "1 / 0",
	"input.x matches '['", "$env", "foo(1)", "len(input.x)", "input.not", "input.in",
	"nodes.true", "input.nil", "not", "in", "nodes", "secrets", "run.id", "secrets.TOKEN",
	"{a: 1}.a", "[1, 2][5]", "map(input.items, #.price)", "filter(input.items, .p > 1)",
	"input.x | upper()", "now()", "input[0]", "nodes['a'].output", "nodes.a['output']",
	"1 + 'a'", "'a' + 1", "true && 1", "!1", "input.a.", "input..a", ".a", "a.1", "input.1a",
	"(((", "}", "input.a ? 1 : 2", "input.a ?: 2", "[1,2,3] | sum()", "reduce([1], #acc + #)",
	"let a = 1; let b = a; b", "let input = 2; input", "nodes.x.output.y?.z", "upper(1)",
	"strings.Repeat('a', 3)", "1 ** 2", "2 ^ 3", "0x10", "1_000", "1e3", "'\\u00e9'", "\"a\nb\"",
	"input.a\n+\ninput.b", "input.é", "nodes.n1.output.text", strings.Repeat("input.a + ", 20) + "1",
}

var templateCorpus = []string{
	"plain", "{{ input.a }}", "a {{ input.a }} b {{ nodes.x.output }}", "{{", "}}", "{{}}", "{{ }}",
	"ab {{ input. }}", "x {{ 1 + }} y", "{{ secrets.T }}", "{{ input.a }}{{", "{{ {a: 1} }}",
	"{{ '}}' }}", "é {{ input. }}", "line\n{{ input.x +\n }}", "{{ let x = 1; x }}",
}

// agreeExpr fails when the checker and CompileExpr disagree about src.
func agreeExpr(t testing.TB, c *exprChecker, src string) {
	t.Helper()
	compiled, err := CompileExpr(src)
	got := c.expr(src)
	var want *ExprError
	if err != nil && !errors.As(err, &want) {
		t.Fatalf("CompileExpr(%q) error %T is not an ExprError", src, err)
	}
	switch {
	case want == nil && got.err != nil:
		t.Fatalf("check(%q) = %v; CompileExpr accepts it", src, got.err)
	case want != nil && got.err == nil:
		t.Fatalf("check(%q) accepts it; CompileExpr says %v", src, want)
	case want != nil && (got.err.Column != want.Column || got.err.Message != want.Message):
		t.Fatalf("check(%q) = %v; CompileExpr says %v", src, got.err, want)
	case want == nil && !strings.Contains(src, "let "):
		// Refs from CompileExpr count let-bound names as roots; only compare without let.
		if !reflect.DeepEqual(got.refs, compiled.Refs()) {
			t.Fatalf("check(%q) refs = %+v; CompileExpr says %+v", src, got.refs, compiled.Refs())
		}
	}
}

func agreeTemplate(t testing.TB, c *exprChecker, src string) {
	t.Helper()
	compiled, err := CompileTemplate(src)
	got := c.template(src)
	var want *ExprError
	if err != nil && !errors.As(err, &want) {
		t.Fatalf("CompileTemplate(%q) error %T is not an ExprError", src, err)
	}
	switch {
	case want == nil && got.err != nil:
		t.Fatalf("template(%q) = %v; CompileTemplate accepts it", src, got.err)
	case want != nil && got.err == nil:
		t.Fatalf("template(%q) accepts it; CompileTemplate says %v", src, want)
	case want != nil && (got.err.Column != want.Column || got.err.Message != want.Message):
		t.Fatalf("template(%q) = %v; CompileTemplate says %v", src, got.err, want)
	case want == nil && !strings.Contains(src, "let "):
		var nodes []string
		for _, p := range got.parts {
			nodes = append(nodes, p.refs.Nodes...)
		}
		if w := compiled.Refs().Nodes; !reflect.DeepEqual(sortedUnique(nodes), w) {
			t.Fatalf("template(%q) nodes = %v; CompileTemplate says %v", src, nodes, w)
		}
	}
}

func TestExprCheckerAgreesWithCompile(t *testing.T) {
	c := newExprChecker()
	for _, src := range exprCorpus {
		agreeExpr(t, c, src)
		agreeExpr(t, c, src) // and again from the cache
	}
	for _, src := range templateCorpus {
		agreeTemplate(t, c, src)
	}
}

func TestScopeRefsIgnoreLetNames(t *testing.T) {
	c := newExprChecker()
	got := c.expr("let total = input.a + nodes.b.output; total * 2")
	want := Refs{Roots: []string{"input", "nodes"}, Nodes: []string{"b"}}
	if got.err != nil || !reflect.DeepEqual(got.refs, want) {
		t.Fatalf("refs = %+v, %v; want %+v", got.refs, got.err, want)
	}
}

func TestSimplePath(t *testing.T) {
	tests := []struct {
		src  string
		ok   bool
		refs Refs
	}{
		{"input.a", true, Refs{Roots: []string{"input"}}},
		{" nodes.classify.output.json ", true, Refs{Roots: []string{"nodes"}, Nodes: []string{"classify"}}},
		{"secrets.TOKEN", true, Refs{Roots: []string{"secrets"}, Secrets: []string{"TOKEN"}}},
		{"nodes", true, Refs{Roots: []string{"nodes"}}},
		{"other.a", false, Refs{}},
		{"input.not", false, Refs{}},
		{"input.a + 1", false, Refs{}},
		{"input.", false, Refs{}},
		{"input.1", false, Refs{}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, ok := simplePath(tt.src)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok && !reflect.DeepEqual(got.refs, tt.refs) {
				t.Fatalf("refs = %+v, want %+v", got.refs, tt.refs)
			}
		})
	}
}
