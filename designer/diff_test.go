package designer

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	from := `{"format":"trellis.graph/v1","name":"Old","nodes":[
		{"id":"a","kind":"llm","label":"A","position":{"x":1,"y":1},"config":{"prompt":"p1","temperature":0.5,"json_schema":{"type":"object"}},"retry":{"max_attempts":3}},
		{"id":"b","kind":"transform","config":{"value":"1"}},
		{"id":"c","kind":"http","config":{"url":"https://x.test","headers":{"A":"1","B":"2"},"expect":[200]}}],
	 "edges":[{"from":"a","to":"b"},{"from":"a","to":"c","when":"input.x"},{"from":"b","to":"c","port":"out"}]}`
	to := `{"format":"trellis.graph/v1","name":"New","output":"nodes.c.output","nodes":[
		{"id":"d","kind":"wait","config":{"duration":"1s"}},
		{"id":"c","kind":"http","config":{"url":"https://x.test","headers":{"A":"1","B":"3","C":"4"},"expect":[200,201]}},
		{"id":"a","kind":"llm","label":"A2","position":{"x":2,"y":1},"config":{"prompt":"p2","temperature":0.5,"json_schema":{"type":"object"}},"retry":{"max_attempts":3},"timeout":"5s"}],
	 "edges":[{"from":"a","to":"c","when":"input.y"},{"from":"a","to":"d"}]}`
	got := Diff(mustParse(t, from), mustParse(t, to))
	want := GraphDiff{
		Graph: []FieldChange{{Field: "name", From: "Old", To: "New"}, {Field: "output", From: nil, To: "nodes.c.output"}},
		Nodes: NodesDiff{
			Added:   []string{"d"},
			Removed: []string{"b"},
			Changed: []NodeChange{
				{ID: "c", Fields: []FieldChange{
					{Field: "config.expect", From: []any{200.0}, To: []any{200.0, 201.0}},
					{Field: "config.headers.B", From: "2", To: "3"},
					{Field: "config.headers.C", From: nil, To: "4"},
				}},
				{ID: "a", Fields: []FieldChange{
					{Field: "label", From: "A", To: "A2"},
					{Field: "position", From: map[string]any{"x": 1.0, "y": 1.0}, To: map[string]any{"x": 2.0, "y": 1.0}},
					{Field: "config.prompt", From: "p1", To: "p2"},
					{Field: "timeout", From: nil, To: "5s"},
				}},
			},
		},
		Edges: EdgesDiff{
			Added:   []Edge{{From: "a", To: "c", When: "input.y"}, {From: "a", To: "d"}},
			Removed: []Edge{{From: "a", To: "b"}, {From: "a", To: "c", When: "input.x"}, {From: "b", To: "c", Port: "out"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", " ")
		wb, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("diff =\n%s\nwant\n%s", gb, wb)
	}
}

func TestDiffJSONShape(t *testing.T) {
	g := mustParse(t, doc(tr("a"), ""))
	d := Diff(g, g)
	if !d.Empty() {
		t.Fatalf("a graph differs from itself: %+v", d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"graph":[],"nodes":{"added":[],"removed":[],"changed":[]},"edges":{"added":[],"removed":[]}}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
	changed := mustParse(t, doc(`{"id":"a","kind":"transform","config":{"value":"2"}}`, ""))
	b, _ = json.Marshal(Diff(g, changed))
	if want := `"changed":[{"id":"a","fields":[{"field":"config.value","from":"1","to":"2"}]}]`; !strings.Contains(string(b), want) {
		t.Fatalf("json = %s, want it to contain %s", b, want)
	}
}

func TestDiffEquivalentSpellings(t *testing.T) {
	a := mustParse(t, doc(`{"id":"a","kind":"llm","config":{"prompt":"p","temperature":1.0,"json_schema":{"b":1,"a":2}}}`+","+tr("b"), `{"from":"a","to":"b"}`))
	b := mustParse(t, doc(`{"id":"a","kind":"llm","config":{"json_schema":{"a":2,"b":1},"temperature":1,"prompt":"p"}}`+","+tr("b"), `{"from":"a","to":"b","port":"out"}`))
	if d := Diff(a, b); !d.Empty() {
		t.Fatalf("diff = %+v", d)
	}
}

func TestDiffKindAndObjectToScalar(t *testing.T) {
	a := mustParse(t, doc(`{"id":"a","kind":"transform","config":{"value":{"x":1}}}`, ""))
	b := mustParse(t, doc(`{"id":"a","kind":"transform","config":{"value":"input"}}`, ""))
	want := []FieldChange{{Field: "config.value", From: nil, To: "input"}, {Field: "config.value.x", From: 1.0, To: nil}}
	if got := Diff(a, b).Nodes.Changed[0].Fields; !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %+v, want %+v", got, want)
	}
	c := mustParse(t, doc(`{"id":"a","kind":"wait","config":{"duration":"1s"}}`, ""))
	fields := Diff(a, c).Nodes.Changed[0].Fields
	if fields[0] != (FieldChange{Field: "kind", From: "transform", To: "wait"}) {
		t.Fatalf("fields = %+v", fields)
	}
}

func TestDiffNil(t *testing.T) {
	g := mustParse(t, doc(tr("a"), ""))
	if d := Diff(nil, g); !reflect.DeepEqual(d.Nodes.Added, []string{"a"}) {
		t.Fatalf("diff = %+v", d)
	}
	if d := Diff(g, nil); !reflect.DeepEqual(d.Nodes.Removed, []string{"a"}) {
		t.Fatalf("diff = %+v", d)
	}
}

func TestTopoOrderAndSinks(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		order   string
		sinks   string
		wantErr string
	}{
		{"ties by document order", doc(tr("z")+","+tr("y")+","+tr("x")+","+tr("w"), `{"from":"x","to":"w"},{"from":"z","to":"w"}`),
			"z y x w", "y w", ""},
		{"chain against document order", doc(tr("c")+","+tr("b")+","+tr("a"), `{"from":"a","to":"b"},{"from":"b","to":"c"}`),
			"a b c", "c", ""},
		{"missing ends are ignored", doc(tr("a")+","+tr("b"), `{"from":"a","to":"zz"},{"from":"zz","to":"b"}`), "a b", "a b", ""},
		{"cycle", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b"},{"from":"b","to":"a"}`), "", "", "the graph has a cycle: a → b → a"},
		{"self-loop", doc(tr("a"), `{"from":"a","to":"a"}`), "", "a", "the graph has a cycle: a → a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustParse(t, tt.doc)
			order, err := TopoOrder(g)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || strings.Join(order, " ") != tt.order {
				t.Fatalf("order = %v, %v; want %s", order, err, tt.order)
			}
			if tt.sinks != "" {
				if got := strings.Join(g.Sinks(), " "); got != tt.sinks {
					t.Fatalf("sinks = %s, want %s", got, tt.sinks)
				}
			}
		})
	}
}

func TestResolveSubgraphVersions(t *testing.T) {
	g := mustParse(t, doc(
		node("a", "subgraph", `{"graph":"child","input":"input"}`)+","+
			node("b", "subgraph", `{"version":"latest","graph":"child"}`)+","+
			node("c", "subgraph", `{"graph":"child","version":2}`)+","+
			node("d", "subgraph", `{"graph":"unpublished"}`)+","+tr("e"), ""))
	latest := func(id string) (int, bool) {
		if id == "child" {
			return 7, true
		}
		return 0, false
	}
	probs := ResolveSubgraphVersions(g, latest)
	if len(probs) != 1 || probs[0].Node != "d" || probs[0].Field != "config.version" || !strings.Contains(probs[0].Message, `graph "unpublished" has no published version`) {
		t.Fatalf("problems = %+v", probs)
	}
	for i, want := range []string{`{"graph":"child","input":"input","version":7}`, `{"version":7,"graph":"child"}`,
		`{"graph":"child","version":2}`, `{"graph":"unpublished"}`, `{"value":"1"}`} {
		if got := string(g.Nodes[i].Config); got != want {
			t.Errorf("node %s config = %s, want %s", g.Nodes[i].ID, got, want)
		}
	}
	if probs := Validate(g, ValidateEnv{}); len(probs) != 0 {
		t.Fatalf("resolved graph has problems: %+v", probs)
	}
}
