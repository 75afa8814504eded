package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"trellis/designer"
)

// valueTree is a compiled JSON value whose strings are templates: transform's value and
// http's body. A template made of exactly one {{ expression }} keeps the expression's type.
type valueTree struct {
	lit   any                // number, bool or null
	tpl   *designer.Template // string
	expr  *designer.Expr     // a transform's top-level string
	keys  []string           // object, sorted
	vals  []*valueTree
	items []*valueTree // array
	isObj bool
	isArr bool
}

// valueError names where in a value a template failed.
type valueError struct {
	path string
	err  error
}

func (e *valueError) Error() string { return e.path + ": " + e.err.Error() }
func (e *valueError) Unwrap() error { return e.err }

// compileValue compiles raw JSON. A top-level string is an expression when topExpr is
// set (transform) and a template otherwise (http body).
func compileValue(raw json.RawMessage, topExpr bool) (*valueTree, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if s, ok := v.(string); ok && topExpr {
		e, err := designer.CompileExpr(s)
		if err != nil {
			return nil, err
		}
		return &valueTree{expr: e}, nil
	}
	return compileAny(v, "")
}

func compileAny(v any, path string) (*valueTree, error) {
	switch x := v.(type) {
	case string:
		t, err := designer.CompileTemplate(x)
		if err != nil {
			return nil, &valueError{path: pathOrRoot(path), err: err}
		}
		return &valueTree{tpl: t}, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t := &valueTree{isObj: true, keys: keys, vals: make([]*valueTree, len(keys))}
		for i, k := range keys {
			c, err := compileAny(x[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			t.vals[i] = c
		}
		return t, nil
	case []any:
		t := &valueTree{isArr: true, items: make([]*valueTree, len(x))}
		for i, item := range x {
			c, err := compileAny(item, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			t.items[i] = c
		}
		return t, nil
	default:
		return &valueTree{lit: x}, nil
	}
}

func pathOrRoot(p string) string {
	if p == "" {
		return "(value)"
	}
	return p[1:]
}

// eval evaluates the tree within designer.DefaultBudget. A top-level template renders to a
// string when topString is set (an http body given as a string is sent as that text).
func (t *valueTree) eval(scope map[string]any, topString bool) (any, error) {
	return t.evalWith(designer.NewMeter(designer.DefaultBudget), scope, topString)
}

// evalWith is eval counting on m: the whole value is one evaluation, however many
// templates it holds.
func (t *valueTree) evalWith(m *designer.Meter, scope map[string]any, topString bool) (any, error) {
	if topString && t.tpl != nil {
		return t.tpl.RenderWith(m, scope)
	}
	return t.evalAt(m, scope, "")
}

func (t *valueTree) evalAt(m *designer.Meter, scope map[string]any, path string) (any, error) {
	switch {
	case t.expr != nil:
		return t.expr.EvalWith(m, scope)
	case t.tpl != nil:
		v, err := t.tpl.RenderValueWith(m, scope)
		if err != nil {
			return nil, &valueError{path: pathOrRoot(path), err: err}
		}
		return v, nil
	case t.isObj:
		obj := make(map[string]any, len(t.keys))
		for i, k := range t.keys {
			v, err := t.vals[i].evalAt(m, scope, path+"."+k)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		return obj, nil
	case t.isArr:
		a := make([]any, len(t.items))
		for i, item := range t.items {
			v, err := item.evalAt(m, scope, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return a, nil
	default:
		return t.lit, nil
	}
}

// refs is what the tree's expressions read.
func (t *valueTree) refs() designer.Refs {
	var all []designer.Refs
	t.walk(func(n *valueTree) {
		switch {
		case n.expr != nil:
			all = append(all, n.expr.Refs())
		case n.tpl != nil:
			all = append(all, n.tpl.Refs())
		}
	})
	return mergeRefs(all...)
}

func (t *valueTree) walk(f func(*valueTree)) {
	f(t)
	for _, c := range t.vals {
		c.walk(f)
	}
	for _, c := range t.items {
		c.walk(f)
	}
}

// mergeRefs unions refs, keeping each list sorted and without duplicates.
func mergeRefs(rs ...designer.Refs) designer.Refs {
	union := func(get func(designer.Refs) []string) []string {
		set := map[string]bool{}
		for _, r := range rs {
			for _, s := range get(r) {
				set[s] = true
			}
		}
		if len(set) == 0 {
			return nil
		}
		out := make([]string, 0, len(set))
		for s := range set {
			out = append(out, s)
		}
		sort.Strings(out)
		return out
	}
	return designer.Refs{
		Roots:   union(func(r designer.Refs) []string { return r.Roots }),
		Nodes:   union(func(r designer.Refs) []string { return r.Nodes }),
		Secrets: union(func(r designer.Refs) []string { return r.Secrets }),
	}
}

// fieldErr formats an evaluation error for a node's field.
func fieldErr(field string, err error) string {
	return fmt.Sprintf("field %s: %v", field, err)
}
