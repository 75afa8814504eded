package designer

import (
	"reflect"
	"testing"
)

func TestCompileTemplate(t *testing.T) {
	scope := map[string]any{
		"input": map[string]any{"amount": 5000.0, "customer": "a@b.c"},
		"nodes": map[string]any{"a": map[string]any{"output": nil, "status": "skipped"},
			"b": map[string]any{"output": map[string]any{"x": 1.5}, "status": "completed"}},
	}
	tests := []struct {
		name, src, want string
		col             int
	}{
		{name: "plain", src: "hello", want: "hello"},
		{name: "number", src: "amount {{ input.amount }} EUR", want: "amount 5000 EUR"},
		{name: "coalesce", src: "{{ nodes.a.output ?? nodes.b.output }}", want: `{"x":1.5}`},
		{name: "missing node is null", src: "[{{ nodes.zzz.output }}]", want: "[]"},
		{name: "unclosed", src: "ab {{ input", col: 4},
		{name: "bad expr column", src: "ab {{ input. }}", col: 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := CompileTemplate(tt.src)
			if tt.col != 0 {
				ee, ok := err.(*ExprError)
				if !ok {
					t.Fatalf("want ExprError, got %v", err)
				}
				if ee.Column != tt.col {
					t.Fatalf("column = %d, want %d (%s)", ee.Column, tt.col, ee.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Render(scope)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExprRefs(t *testing.T) {
	e, err := CompileExpr("nodes.a.output.x + len(secrets.TOKEN) > input.n && run.id != ''")
	if err != nil {
		t.Fatal(err)
	}
	want := Refs{Roots: []string{"input", "nodes", "run", "secrets"}, Nodes: []string{"a"}, Secrets: []string{"TOKEN"}}
	if got := e.Refs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("refs = %+v, want %+v", got, want)
	}
}

func TestExprDeterministicBuiltins(t *testing.T) {
	scope := map[string]any{"input": map[string]any{"m": map[string]any{"b": 2.0, "a": 1.0, "c": 3.0}}}
	tests := []struct {
		name, src, want string
		compileErr      bool
	}{
		{name: "keys sorted", src: "{{ keys(input.m) }}", want: `["a","b","c"]`},
		{name: "values in key order", src: "{{ values(input.m) }}", want: `[1,2,3]`},
		{name: "keys of null", src: "{{ keys(input.none) }}", want: `[]`},
		{name: "now is refused", src: "{{ now() }}", compileErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 { // map order would show up within a few tries
				tpl, err := CompileTemplate(tt.src)
				if tt.compileErr {
					if err == nil {
						t.Fatal("compiled, want an error")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := tpl.Render(scope)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Fatalf("got %s, want %s", got, tt.want)
				}
			}
		})
	}
}

func TestExprRefsIgnoreLetNames(t *testing.T) {
	e, err := CompileExpr("let x = input.a; x + nodes.b.output")
	if err != nil {
		t.Fatal(err)
	}
	want := Refs{Roots: []string{"input", "nodes"}, Nodes: []string{"b"}}
	if got := e.Refs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("refs = %+v, want %+v", got, want)
	}
}
