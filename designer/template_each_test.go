package designer

import (
	"strings"
	"testing"
)

func TestTemplateRenderParts(t *testing.T) {
	tpl, err := CompileTemplate(`a{{ input.s }}b{{ input.n }}{{ input.o }}{{ input.none }}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	scope := map[string]any{"input": map[string]any{"s": "x y", "n": 2.5, "o": map[string]any{"k": 1}}}
	err = tpl.RenderParts(scope, func(s string, expr bool) {
		if expr {
			s = "<" + s + ">"
		}
		got = append(got, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `a|<x y>|b|<2.5>|<{"k":1}>|<>`; strings.Join(got, "|") != want {
		t.Errorf("parts = %s, want %s", strings.Join(got, "|"), want)
	}
	bad, err := CompileTemplate(`x{{ int("y") }}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.RenderParts(nil, func(string, bool) {}); err == nil {
		t.Error("a failing expression rendered without an error")
	}
}
