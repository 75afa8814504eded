package designer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// sandboxScope is the scope the sandbox tests and FuzzExprEval evaluate against.
func sandboxScope() map[string]any {
	items := make([]any, 10_000)
	for i := range items {
		items[i] = map[string]any{"id": float64(i), "price": float64(i%100) / 4, "name": fmt.Sprintf("item %d", i)}
	}
	return map[string]any{
		RootInput: map[string]any{"n": 3.0, "s": "abc", "xs": []any{3.0, 1.0, 2.0, 1.0},
			"m": map[string]any{"b": 2.0, "a": 1.0}, "items": items,
			"kilo": strings.Repeat("k", 1024), "mega": strings.Repeat("ab", 1<<19)},
		RootNodes: map[string]any{"a": map[string]any{"status": "completed", "output": map[string]any{"x": 1.5}},
			"b": map[string]any{"status": "skipped", "output": nil}},
		RootRun: map[string]any{"id": "run-1"},
	}
}

// attackCorpus are expressions that would take the server down without the sandbox: each
// must be refused, by the named resource, quickly and without allocating its way there.
var attackCorpus = []struct {
	src      string
	resource string
}{
	// Issue #10: repeat allocated before anything was counted; + was not counted at all.
	{`len(repeat(repeat("a", 999999), 999999))`, ResourceMemory},
	{`len(reduce(1..24, #acc + #acc, "a"))`, ResourceMemory},
	{`let s = repeat("ab", 1000000); s + s + s + s + s`, ResourceMemory},
	{`let s = repeat(repeat("x", 4000), 1000); s + s + s`, ResourceMemory},
	{`input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega + input.mega`, ResourceMemory},
	// Ranges and loops over them.
	{`len(1..1000000000)`, ResourceMemory},
	{`map(1..100000000, #)`, ResourceMemory},
	{`input.n in 1..1000000000`, ResourceMemory},
	{`sum(1..3000000)`, ResourceMemory},
	{`join(map(1..1000000, "x"), "")`, ResourceMemory},
	{`concat(1..600000, 1..600000, 1..600000)`, ResourceMemory},
	{`reduce(1..3000, reduce(1..3000, #acc + 1, 0), 0)`, ResourceSteps},
	{`all(1..100000, all(1..100000, true))`, ResourceMemory},
	{`all(1..1000000, all([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], true))`, ResourceSteps},
	{`count(1..1000, any(1..1000, any(1..1000, # == 7)))`, ResourceSteps},
	{`map(input.items, map(input.items, #.id))`, ResourceMemory},
	{`all(input.items, all(input.items, #.id >= 0))`, ResourceSteps},
	{`uniq(1..100000)`, ResourceSteps},
	{`sort(map(1..1000000, -#))`, ResourceMemory},
	// Builtins that allocate from small inputs.
	{`replace(repeat("a", 10000), "a", repeat("b", 10000))`, ResourceMemory},
	{`split(repeat(repeat("a", 1000), 5000), "")`, ResourceMemory},
	{`upper(repeat(repeat("\xff", 1000), 6000))`, ResourceMemory},
	{`toBase64(repeat(repeat("a", 1000), 8000))`, ResourceMemory},
	{`join(map(1..2000, input.kilo), ",") + join(map(1..20000, input.kilo), ",")`, ResourceMemory},
	{`fromJSON("[" + join(map(1..200000, "0"), ",") + "]")`, ResourceMemory},
	{`len(toJSON(map(1..200000, input.items[0])))`, ResourceMemory},
	{`string(map(1..300000, input.m))`, ResourceMemory},
	{`map(1..5000, date("2020-01-01", "2006-01-02", "UTC"))`, ResourceSteps},
	// Scanning large data again and again.
	{`any(1..10000, input.mega contains "zzz")`, ResourceSteps},
	{`any(1..1000, input.mega matches "a+b+c+d+e")`, ResourceSteps},
	{`filter(1..10000, input.items == input.items)`, ResourceSteps},
	{`count(1..100000, 7 in input.items)`, ResourceSteps},
	// A result written out far larger than anything built: each reference is written in full.
	{`map(1..20000, input.kilo)`, ResourceMemory},
	{`map(1..2000, input.items)`, ResourceSteps},
}

// normalCorpus are expressions real graphs use; each must work, with the result that expr
// gives without the sandbox.
var normalCorpus = []string{
	`sum(1..10000)`,
	`sum(input.items, #.price)`,
	`reduce(input.items, #acc + #.price, 0)`,
	`len(join(map(1..10000, "item-" + string(#)), ","))`,
	`len(repeat("x", 100000))`,
	`len(reduce(1..100, #acc + "0123456789", ""))`,
	`map(filter(input.items, .price > 24), .id)[0:3]`,
	`len(filter(input.items, .price > 20))`,
	`count(input.items, .price > 20) > 5`,
	`toJSON(input.m)`, `fromJSON('{"a": [1, 2]}').a[1]`, `upper(input.s) + lower("ABC")`,
	`split("a,b,c", ",")`, `replace("aaa", "a", "bb")`, `keys(input.m)`, `values(input.m)`,
	`sort(input.xs)`, `uniq(input.xs)`, `reverse(input.xs)`, `concat(input.xs, [9])`, `flatten([[1], [2, [3]]])`,
	`"ab" in ["ab", "c"]`, `input.s matches "^a"`, `input.s contains "b"`, `input.s startsWith "a"`,
	`input.n + 1`, `input.s + "!"`, `input.n * 2 > 5 && input.s != "x"`, `input.n in 1..10`, `3 in 1..5`,
	`nodes.a.output.x ?? nodes.b.output.x`, `nodes.b.output == nil`, `input.m == {a: 1, b: 2}`,
	`groupBy(input.xs, # > 1)[true]`, `sortBy(input.items[0:50], -.price)[0].id`, `max(input.xs)`, `mean(input.xs)`,
	`median(input.xs)`, `first(input.xs)`, `take(input.xs, 2)`, `toPairs(input.m)`, `fromPairs([["a", 1]])`,
	`trim("  a ")`, `indexOf("abc", "c")`, `int("42") + float("1.5")`, `string(12)`, `toBase64("hi")`,
	`fromBase64("aGk=")`, `duration("1h").Hours()`, `date("2024-05-06").Year()`, `let x = input.n; x * x`,
	`input.items[9999].name`, `len(input.items)`, `{total: sum(input.items, .price), n: len(input.items)}`,
	`input.s < "abd"`, `input.s >= input.s`, `repeat(input.s, 3)`, `join(input.xs | map(string(#)), "-")`,
}

func TestExprAttacksRefused(t *testing.T) {
	scope := sandboxScope()
	for _, tt := range attackCorpus {
		t.Run(tt.src, func(t *testing.T) {
			e, err := CompileExpr(tt.src)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			v, err := e.Eval(scope)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			var be *BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("got %.80v, %v; want a budget refusal", fmt.Sprint(v), err)
			}
			if be.Resource != tt.resource {
				t.Errorf("refused by the %s budget, want %s: %v", be.Resource, tt.resource, err)
			}
			limit := map[string]int64{ResourceMemory: DefaultBudget.Memory, ResourceSteps: DefaultBudget.Steps}[tt.resource]
			want := fmt.Sprintf("exceeded its memory budget of %d bytes", limit)
			if tt.resource == ResourceSteps {
				want = fmt.Sprintf("exceeded its step budget of %d steps", limit)
			}
			if be.Limit != limit || !strings.Contains(err.Error(), want) || be.Column < 1 {
				t.Errorf("error %q (column %d), want %q at a column", err, be.Column, want)
			}
			// Refused before the allocation, not after: what was allocated stays within
			// a small multiple of the budget (the scope is shared, GC may run meanwhile).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*uint64(DefaultBudget.Memory) {
				t.Errorf("allocated %d bytes before refusing", alloc)
			}
			// Well under a second alone; generous for a loaded machine and the race
			// detector (the budget, not this, is the bound).
			if took > 30*time.Second {
				t.Errorf("refused after %v", took)
			}
		})
	}
}

func TestExprNormalStillWorks(t *testing.T) {
	scope := sandboxScope()
	for _, src := range normalCorpus {
		t.Run(src, func(t *testing.T) {
			e, err := CompileExpr(src)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			got, err := e.Eval(scope)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			want, err := evalUnbounded(src, scope)
			if err != nil {
				t.Fatalf("expr without the sandbox: %v", err)
			}
			if !sameValue(got, want) {
				t.Fatalf("got %.200v, expr without the sandbox gives %.200v", fmt.Sprint(got), fmt.Sprint(want))
			}
		})
	}
}

func TestExprBudgetSpecifics(t *testing.T) {
	scope := sandboxScope()
	eval := func(src string, b Budget) (any, error) {
		t.Helper()
		e, err := CompileExpr(src)
		if err != nil {
			t.Fatalf("compile %s: %v", src, err)
		}
		return e.EvalWith(NewMeter(b), scope)
	}
	t.Run("the issue's doubling counts every concatenation", func(t *testing.T) {
		// 2^24 bytes in the last step alone: over 16 MiB with what came before.
		if _, err := eval(`len(reduce(1..24, #acc + #acc, "a"))`, DefaultBudget); err == nil {
			t.Fatal("accepted")
		}
		v, err := eval(`len(reduce(1..20, #acc + #acc, "a"))`, DefaultBudget)
		if err != nil || v != 1<<20 {
			t.Fatalf("2^20 = %v, %v", v, err)
		}
	})
	t.Run("workflow budget is smaller", func(t *testing.T) {
		src := `len(repeat(repeat("x", 1000), 6000))`
		if _, err := eval(src, DefaultBudget); err != nil {
			t.Fatalf("default budget: %v", err)
		}
		_, err := eval(src, WorkflowBudget)
		var be *BudgetError
		if !errors.As(err, &be) || be.Limit != WorkflowBudget.Memory {
			t.Fatalf("workflow budget: %v", err)
		}
	})
	t.Run("deadline stops the evaluation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e, _ := CompileExpr(`sum(map(1..1000, # * 2))`)
		_, err := e.EvalWith(NewMeter(DefaultBudget).WithDeadline(ctx), scope)
		var be *BudgetError
		if !errors.As(err, &be) || be.Resource != ResourceTime || !strings.Contains(err.Error(), "stopped at its deadline") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a refusal is for good", func(t *testing.T) {
		m := NewMeter(Budget{Memory: 1000, Steps: 1000})
		e, _ := CompileExpr(`repeat("a", 2000)`)
		if _, err := e.EvalWith(m, scope); err == nil {
			t.Fatal("accepted")
		}
		small, _ := CompileExpr(`upper("a")`)
		if _, err := small.EvalWith(m, scope); err == nil {
			t.Fatal("a spent meter accepted more work")
		}
	})
	t.Run("values nested too deep", func(t *testing.T) {
		_, err := eval(`reduce(1..1000, [#acc], nil)`, DefaultBudget)
		if err == nil || !strings.Contains(err.Error(), "nested more than 256 levels") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("describe names the subject", func(t *testing.T) {
		_, err := eval(`repeat(repeat("ab", 10000), 10000)`, DefaultBudget)
		var be *BudgetError
		if !errors.As(err, &be) {
			t.Fatalf("got %v", err)
		}
		want := fmt.Sprintf("expression of node t exceeded its memory budget of %d bytes", DefaultBudget.Memory)
		if got := be.Describe("node t"); got != want {
			t.Fatalf("Describe = %q, want %q", got, want)
		}
	})
}

func TestTemplateSharesOneMeter(t *testing.T) {
	scope := sandboxScope()
	// Each part alone fits the budget; together they do not.
	part := `{{ repeat("ab", 1000000) }}`
	tpl, err := CompileTemplate(strings.Repeat(part, 10))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(scope)
	var be *BudgetError
	if !errors.As(err, &be) || be.Resource != ResourceMemory {
		t.Fatalf("render = %v; want a memory refusal", err)
	}
	if err := tpl.RenderParts(scope, func(string, bool) {}); !errors.As(err, &be) {
		t.Fatalf("render parts = %v; want a memory refusal", err)
	}
	one, _ := CompileTemplate(part)
	if s, err := one.Render(scope); err != nil || len(s) != 2000000 {
		t.Fatalf("one part: %d bytes, %v", len(s), err)
	}
	// A part that refers to large data is charged by what it writes.
	refs, _ := CompileTemplate(strings.Repeat("{{ input.items }}", 20))
	if _, err := refs.Render(scope); !errors.As(err, &be) {
		t.Fatalf("20 copies of 10,000 items: %v", err)
	}
	v, err := one.RenderValue(scope)
	if s, ok := v.(string); err != nil || !ok || len(s) != 2000000 {
		t.Fatalf("RenderValue: %T, %v", v, err)
	}
}

// FuzzExprEval runs expressions in the sandbox with a small budget: nothing may panic or run
// away, and whatever finishes within budget gives exactly what expr gives without the
// sandbox (running the original is safe then: it does the same work).
func FuzzExprEval(f *testing.F) {
	for _, a := range attackCorpus {
		f.Add(a.src)
	}
	for _, s := range normalCorpus {
		f.Add(s)
	}
	for _, s := range exprCorpus {
		f.Add(s)
	}
	scope := sandboxScope()
	f.Fuzz(func(t *testing.T, src string) {
		wd := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("WATCHDOG %q", src)) })
		defer wd.Stop()
		e, err := CompileExpr(src)
		if err != nil || strings.Contains(src, "$env") {
			return
		}
		m := NewMeter(Budget{Memory: 1 << 20, Steps: 100_000})
		got, err := e.EvalWith(m, scope)
		if mem, steps := m.Used(); err == nil && (mem > 1<<20 || steps > 100_000) {
			t.Fatalf("finished over budget: %d bytes, %d steps", mem, steps)
		}
		var be *BudgetError
		if errors.As(err, &be) || (err != nil && strings.Contains(err.Error(), "levels deep")) {
			return // refused on purpose
		}
		want, werr := evalUnbounded(src, scope)
		switch {
		case werr != nil && strings.Contains(werr.Error(), "memory budget exceeded"):
			// expr's own budget counts differently.
		case (err == nil) != (werr == nil):
			t.Fatalf("%q: sandbox %.200v, %v; expr %.200v, %v", src, fmt.Sprint(got), err, fmt.Sprint(want), werr)
		case err == nil && !sameValue(got, want):
			t.Fatalf("%q: sandbox %.200v; expr %.200v", src, fmt.Sprint(got), fmt.Sprint(want))
		}
	})
}

// TestExprSandboxCorpus runs FuzzExprEval's property over the seed corpus in short mode too.
func TestExprSandboxCorpus(t *testing.T) {
	scope := sandboxScope()
	for _, src := range append(append([]string{}, normalCorpus...), exprCorpus...) {
		if strings.Contains(src, "$env") {
			continue // the environment holds the meter; validation refuses $env anyway
		}
		e, err := CompileExpr(src)
		if err != nil {
			continue
		}
		got, err := e.EvalWith(NewMeter(DefaultBudget), scope)
		want, werr := evalUnbounded(src, scope)
		if (err == nil) != (werr == nil) || (err == nil && !sameValue(got, want)) {
			t.Errorf("%q: sandbox %.200v, %v; expr %.200v, %v", src, fmt.Sprint(got), err, fmt.Sprint(want), werr)
		}
	}
}

// evalUnbounded is expr as the library runs it, with our options and no sandbox.
func evalUnbounded(src string, scope map[string]any) (any, error) {
	program, err := expr.Compile(src, exprOptions()...)
	if err != nil {
		return nil, err
	}
	return vm.Run(program, scope)
}

func sameValue(a, b any) bool {
	return reflect.DeepEqual(a, b) || fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}
