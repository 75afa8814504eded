package designer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func FuzzParseValidate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(canonBase))
	f.Add([]byte(doc(node("s", "subgraph", `{"graph":"self","version":"latest"}`)+","+
		node("r", "approval", `{"title":"{{ x","assignee":"bob","outcomes":["a","a"],"on_due":{"outcome":"z"}}`),
		`{"from":"r","to":"s","port":"a"},{"from":"s","to":"r"},{"from":"s","to":"s"},{"from":"r","to":"s","port":"a"}`)))
	f.Add([]byte(`{"format":"trellis.graph/v1","nodes":[{"id":"a","kind":"http","position":{"x":1e400},"retry":{"max_attempts":1e300,"backoff":-1},"config":{"url":"{{ secrets.A }}","body":[{"a":"{{ nodes.a.output }}"}],"expect":[1e400]}}]}`))
	f.Add([]byte(doc(node("m", "map", `{"items":"item","concurrency":0,"on_item_error":"x","node":{"kind":"approval","retry":{},"config":{"title":"{{ item.t }}","assignee":"group:g","outcomes":[]}},"input":"state"}`)+","+
		node("l", "loop", `{"graph":"self","version":"latest","init":"iteration","until":"state.","max_iterations":1001}`)+","+
		node("n", "map", `{"items":"[1]","graph":"missing","node":{"kind":"map","config":{"items":"1"}}}`),
		`{"from":"l","to":"m","port":"exhausted"},{"from":"m","to":"n","port":"exhausted"}`)))
	env := ValidateEnv{
		SelfID:       "self",
		GraphExists:  func(id string) bool { return id != "missing" },
		SubgraphDeps: func(id string) []string { return []string{"self", id} },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, probs, err := Parse(data, Limits{MaxNodes: 64})
		if err != nil {
			if g != nil || probs != nil {
				t.Fatal("a graph or problems came with an error")
			}
			return
		}
		Validate(g, env)
		Validate(g, ValidateEnv{})
		canon, err := Canonical(g)
		if err != nil {
			t.Fatalf("a parsed graph has no canonical form: %v", err)
		}
		// The canonical form reads back as the same graph.
		again, _, err := Parse(canon, DefaultLimits)
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, canon)
		}
		canon2, err := Canonical(again)
		if err != nil || string(canon2) != string(canon) {
			t.Fatalf("canonical form is not stable:\n%s\n%s", canon, canon2)
		}
		if !Diff(g, again).Empty() {
			t.Fatalf("a graph differs from its canonical form: %+v", Diff(g, again))
		}
		var viaStd Graph
		if err := json.Unmarshal(canon, &viaStd); err != nil {
			t.Fatalf("encoding/json cannot read the canonical form: %v", err)
		}
		TopoOrder(g)
		g.Sinks()
		for _, n := range g.Nodes {
			NodePorts(n)
			DecodeConfig(n)
		}
		ResolveSubgraphVersions(g, func(string) (int, bool) { return 3, true })
		if _, err := Hash(g); err != nil {
			t.Fatalf("hash after resolving versions: %v", err)
		}
	})
}

// FuzzJSON holds the strict reader to encoding/json: the same documents are valid, and
// they mean the same values.
func FuzzJSON(f *testing.F) {
	for _, s := range jsonCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agreeJSON(t, data)
	})
}

// FuzzExprCheck holds the validator's expression check to CompileExpr and CompileTemplate.
func FuzzExprCheck(f *testing.F) {
	for _, s := range exprCorpus {
		f.Add(s)
	}
	for _, s := range templateCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c := newExprChecker()
		agreeExpr(t, c, src)
		agreeTemplate(t, c, src)
	})
}

var jsonCorpus = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `"a"`, `{"a":[1,{"b":null}]}`,
	`{"a":1,"a":2}`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800x"`, `"\u0000"`, "\"\xff\"", `"\/"`,
	`01`, `1.`, `.5`, `-`, `1e`, `+1`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `"\x"`, "\"\t\"", `{`, `[`, `"`,
	` {"a" : [ 1 , 2 ] } `, `nul`, `truex`, `{"a":1}}`, `1e400`, `[[[[]]]]`,
}

func agreeJSON(t *testing.T, data []byte) {
	t.Helper()
	v, err := parseJSON(data)
	valid := json.Valid(data)
	if (err == nil) != valid {
		if err != nil && len(data) > 0 && deeperThan(data, maxJSONDepth) {
			return // nesting beyond our limit is refused on purpose
		}
		t.Fatalf("parseJSON(%q) err = %v; json.Valid = %v", data, err, valid)
	}
	if !valid {
		return
	}
	var want any
	if err := json.Unmarshal(data, &want); err != nil {
		return // valid syntax that encoding/json cannot hold (1e400)
	}
	if got := v.toAny(); !reflect.DeepEqual(got, want) {
		t.Fatalf("parseJSON(%q) = %#v; encoding/json says %#v", data, got, want)
	}
	if string(v.raw) != string(trimJSONSpace(data)) {
		t.Fatalf("raw = %q, want %q", v.raw, data)
	}
}

func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func deeperThan(data []byte, depth int) bool {
	d, max := 0, 0
	for _, c := range data {
		switch c {
		case '[', '{':
			d++
			if d > max {
				max = d
			}
		case ']', '}':
			d--
		}
	}
	return max > depth
}

func TestJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range jsonCorpus {
		agreeJSON(t, []byte(s))
	}
}

func TestJSONShallow(t *testing.T) {
	v, err := parseShallow([]byte(`{"a":{"b":[1,{"c":2}]},"d":[3]}`), 1)
	if err != nil {
		t.Fatal(err)
	}
	a := v.get("a")
	if !a.lazy || a.kids != nil || string(a.raw) != `{"b":[1,{"c":2}]}` {
		t.Fatalf("a = %+v", a)
	}
	full := a.expand()
	if full.lazy || !reflect.DeepEqual(full.toAny(), map[string]any{"b": []any{1.0, map[string]any{"c": 2.0}}}) {
		t.Fatalf("expanded = %+v", full)
	}
	if _, err := parseShallow([]byte(`{"a":{"b":[1,}}`), 1); err == nil {
		t.Fatal("a lazy value skipped its syntax check")
	}
}
