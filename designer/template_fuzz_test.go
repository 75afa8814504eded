package designer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzTemplateRender renders templates (the {{ … }} strings of http nodes, approvals and
// transforms) within a small budget: nothing may panic or run away, a render that finishes
// stays within its memory budget, and rendering part by part gives the same text as a whole.
func FuzzTemplateRender(f *testing.F) {
	for _, s := range templateCorpus {
		f.Add(s)
	}
	for _, s := range []string{"Hello {{ input.s }}!", "{{ input.mega }}{{ input.mega }}{{ input.mega }}",
		"{{ repeat(input.kilo, 100000) }}", "{{ input.items }}", "{{ input.n * 2 }} of {{ len(input.xs) }}",
		"{{ nodes.a.output.x }} {{ nodes.b.output }}", "{{ run.id }}", "{{ '{{' }}", "{{ input.m }}", "a}}b{{ 1 }}c",
		"{{ reduce(1..30, #acc + #acc, 'a') }}", "{{ secrets.KEY }}", "\x00{{ input.s }}\xff"} {
		f.Add(s)
	}
	scope := sandboxScope()
	const memory = 1 << 20
	f.Fuzz(func(t *testing.T, src string) {
		wd := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("WATCHDOG %q", src)) })
		defer wd.Stop()
		tpl, err := CompileTemplate(src)
		if err != nil {
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("CompileTemplate(%q) = %T %v, want an *ExprError", src, err, err)
			}
			return
		}
		out, err := tpl.RenderWith(NewMeter(Budget{Memory: memory, Steps: 100_000}), scope)
		if err == nil && len(out) > memory {
			t.Fatalf("%q rendered %d bytes within a budget of %d", src, len(out), memory)
		}
		whole, err := tpl.Render(scope)
		if err != nil {
			return
		}
		var b strings.Builder
		if err := tpl.RenderParts(scope, func(s string, _ bool) { b.WriteString(s) }); err != nil {
			t.Fatalf("%q: Render succeeds but RenderParts fails: %v", src, err)
		}
		if b.String() != whole {
			t.Fatalf("%q: parts give %.200q, the whole %.200q", src, b.String(), whole)
		}
	})
}
