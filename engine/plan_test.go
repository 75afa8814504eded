package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"trellis/designer"
)

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name  string
		graph string
		want  string // substring of the error; empty means it compiles
		col   int
	}{
		{name: "example shape compiles", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "wait", "config": {"duration": "1s"}}], "edges": [{"from": "a", "to": "b"}]}`},
		{name: "wrong format", graph: `{"format": "other/v9", "nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}], "edges": []}`,
			want: `graph field format: unknown format "other/v9"`},
		{name: "unknown kind", graph: `{"nodes": [{"id": "a", "kind": "email", "config": {}}], "edges": []}`,
			want: `node "a" field kind: unknown kind "email"`},
		{name: "bad id", graph: `{"nodes": [{"id": "A-1", "kind": "transform", "config": {"value": "1"}}], "edges": []}`,
			want: `field id: id "A-1" must match`},
		{name: "duplicate id", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "a", "kind": "transform", "config": {"value": "2"}}], "edges": []}`, want: `duplicate node id "a"`},
		{name: "edge to a missing node", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}],
			"edges": [{"from": "a", "to": "zz"}]}`, want: `edge 0 field to: no node "zz"`},
		{name: "port the source lacks", graph: `{"nodes": [{"id": "a", "kind": "wait", "config": {"duration": "1s"}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "a", "to": "b", "port": "error"}]}`,
			want: `node "a" (wait) has no port "error"`},
		{name: "approval ports are its outcomes", graph: `{"nodes": [{"id": "r", "kind": "approval", "config": {"title": "t", "assignee": "user:x", "outcomes": ["yes", "no"]}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "r", "to": "b", "port": "approve"}]}`,
			want: `has no port "approve"; its ports are yes, no`},
		{name: "cycle lists its nodes", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}, {"id": "c", "kind": "transform", "config": {"value": "1"}},
			{"id": "d", "kind": "transform", "config": {"value": "1"}}],
			"edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}, {"from": "c", "to": "d"}]}`,
			want: "cycle through nodes b → c → b"},
		{name: "when that does not compile has a column", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "a", "to": "b", "when": "input. > 2"}]}`,
			want: "edge 0 field when column 10", col: 10},
		{name: "template error names the field", graph: `{"nodes": [{"id": "h", "kind": "http", "config": {"url": "http://x/{{ input. }}"}}], "edges": []}`,
			want: `node "h" field config.url column`},
		{name: "nested transform template", graph: `{"nodes": [{"id": "t", "kind": "transform", "config": {"value": {"a": ["ok", "{{ ( }}"]}}}], "edges": []}`,
			want: `node "t" field config.value`},
		{name: "bad retry and timeout", graph: `{"nodes": [{"id": "h", "kind": "http", "config": {"url": "http://x"},
			"retry": {"initial_interval": "soon", "backoff": 0.5}, "timeout": "-1s"}], "edges": []}`,
			want: `field retry.backoff: must be at least 1`},
		{name: "bad expect", graph: `{"nodes": [{"id": "h", "kind": "http", "config": {"url": "http://x", "expect": ["9xx"]}}], "edges": []}`,
			want: `field config.expect: "9xx" is not a status code`},
		{name: "wait needs duration or until", graph: `{"nodes": [{"id": "w", "kind": "wait", "config": {}}], "edges": []}`,
			want: `node "w" field config: give duration or until`},
		{name: "subgraph version must be a number or latest", graph: `{"nodes": [{"id": "s", "kind": "subgraph", "config": {"graph": "g", "version": "newest"}}], "edges": []}`,
			want: `version must be a number or "latest"`},
		{name: "bad join", graph: `{"nodes": [{"id": "a", "kind": "transform", "join": "some", "config": {"value": "1"}}], "edges": []}`,
			want: `field join: join must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustGraph(t, tt.graph)
			_, err := compile(&g)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidDefinition) {
				t.Errorf("error does not match ErrInvalidDefinition")
			}
			var de *DefinitionError
			if tt.col > 0 && (!errors.As(err, &de) || de.Problems[0].Column != tt.col) {
				t.Errorf("problems = %+v, want column %d", de, tt.col)
			}
		})
	}
}

// layeredGraph builds layers×width transform nodes; each node adds one to a node of the
// layer before, so the sink of column k ends at `layers`.
func layeredGraph(layers, width int, kind string) designer.Graph {
	var b strings.Builder
	b.WriteString(`{"format": "trellis.graph/v1", "nodes": [`)
	for l := 0; l < layers; l++ {
		for k := 0; k < width; k++ {
			if l+k > 0 {
				b.WriteString(",")
			}
			switch {
			case kind == "subgraph":
				fmt.Fprintf(&b, `{"id": "n%d_%d", "kind": "subgraph", "config": {"graph": "child"}}`, l, k)
			case kind != "transform":
				fmt.Fprintf(&b, `{"id": "n%d_%d", "kind": %q, "config": {}}`, l, k, kind)
			case l == 0:
				fmt.Fprintf(&b, `{"id": "n%d_%d", "kind": "transform", "config": {"value": "1"}}`, l, k)
			default:
				fmt.Fprintf(&b, `{"id": "n%d_%d", "kind": "transform", "config": {"value": "nodes.n%d_%d.output + 1"}}`, l, k, l-1, k)
			}
		}
	}
	b.WriteString(`], "edges": [`)
	first := true
	for l := 1; l < layers; l++ {
		for k := 0; k < width; k++ {
			// Each node waits for two nodes of the layer before.
			for _, from := range []int{k, (k + 1) % width} {
				if !first {
					b.WriteString(",")
				}
				first = false
				fmt.Fprintf(&b, `{"from": "n%d_%d", "to": "n%d_%d"}`, l-1, from, l, k)
			}
		}
	}
	b.WriteString(`]}`)
	var g designer.Graph
	if err := json.Unmarshal([]byte(b.String()), &g); err != nil {
		panic(err)
	}
	return g
}

func TestCompileRefusesWhatCannotFit(t *testing.T) {
	// 2,000 subgraph nodes estimate 30,006 events: accepted. 3,000 pass the budget.
	ok := layeredGraph(2, 1000, "subgraph")
	if _, err := compile(&ok); err != nil && strings.Contains(err.Error(), "too large") {
		t.Fatalf("2,000 subgraph nodes refused: %v", err)
	}
	big := layeredGraph(3, 1000, "subgraph")
	_, err := compile(&big)
	if err == nil || !strings.Contains(err.Error(), "graph is too large for one run: about 45006 history events, the limit is 40000") {
		t.Fatalf("error = %v", err)
	}
	in := RunInput{Definition: layeredGraph(1, 1, "transform"), Input: strings.Repeat("x", maxStartBytes)}
	if err := checkStartSize(in); err == nil || !errors.Is(err, ErrInvalidDefinition) ||
		!strings.Contains(err.Error(), "one run accepts at most 1500000") {
		t.Fatalf("start size error = %v", err)
	}
}

func TestCompileCacheSharesPlans(t *testing.T) {
	g := layeredGraph(2, 2, "transform")
	p1, err := compileCached(&g)
	if err != nil {
		t.Fatal(err)
	}
	g2 := layeredGraph(2, 2, "transform")
	p2, _ := compileCached(&g2)
	if p1 != p2 {
		t.Error("the same definition compiled twice")
	}
	g2.Nodes[0].Config = []byte(`{"value": "2"}`)
	p3, _ := compileCached(&g2)
	if p3 == p1 {
		t.Error("a changed definition got the old plan")
	}
}

func TestLargeGraphCompletes(t *testing.T) {
	g := layeredGraph(20, 100, "transform")
	r := runInTestEnv(t, g, nil, Deps{}, nil)
	if r.err != nil {
		t.Fatalf("run failed: %v", r.err)
	}
	out, _ := r.out.(map[string]any)
	if len(out) != 100 || out["n19_42"] != 20.0 {
		t.Fatalf("output has %d sinks, n19_42 = %v; want 100 sinks worth 20", len(out), out["n19_42"])
	}
	if len(r.state.Nodes) != 2000 {
		t.Fatalf("state has %d nodes", len(r.state.Nodes))
	}
}

// TestReadyNodesBeyondTheCapWait: 300 one-hour waits are ready at once; maxInFlight of
// them start, and the rest start as those finish, in document order.
func TestReadyNodesBeyondTheCapWait(t *testing.T) {
	var nodes []string
	for i := 0; i < 300; i++ {
		nodes = append(nodes, fmt.Sprintf(`{"id": "w%03d", "kind": "wait", "config": {"duration": "1h"}}`, i))
	}
	g := mustGraph(t, `{"nodes": [`+strings.Join(nodes, ",")+`], "edges": []}`)
	r := runInTestEnv(t, g, nil, Deps{}, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	first := *r.state.Nodes["w000"].StartedAt
	for i := 0; i < 300; i++ {
		n := r.state.Nodes[fmt.Sprintf("w%03d", i)]
		want := first
		if i >= maxInFlight {
			want = first.Add(time.Hour)
		}
		if n.Status != NodeCompleted || !n.StartedAt.Equal(want) {
			t.Fatalf("w%03d: %s, started %v after the first; want %v", i, n.Status, n.StartedAt.Sub(first), want.Sub(first))
		}
	}
}
