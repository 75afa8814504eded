package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

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
			want: `node "A-1" field id: id "A-1" must start with a lowercase letter`},
		{name: "duplicate id", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "a", "kind": "transform", "config": {"value": "2"}}], "edges": []}`, want: `duplicate id "a"`},
		{name: "edge to a missing node", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}],
			"edges": [{"from": "a", "to": "zz"}]}`, want: `edge 0 field to: the edge goes to node "zz", which does not exist`},
		{name: "port the source lacks", graph: `{"nodes": [{"id": "a", "kind": "wait", "config": {"duration": "1s"}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "a", "to": "b", "port": "error"}]}`,
			want: `edge 0 field port: node "a" has no port "error"; its ports are out`},
		{name: "approval ports are its outcomes", graph: `{"nodes": [{"id": "r", "kind": "approval", "config": {"title": "t", "assignee": "user:x", "outcomes": ["yes", "no"]}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "r", "to": "b", "port": "approve"}]}`,
			want: `has no port "approve"; its ports are yes, no`},
		{name: "cycle lists its nodes", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}, {"id": "c", "kind": "transform", "config": {"value": "1"}},
			{"id": "d", "kind": "transform", "config": {"value": "1"}}],
			"edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}, {"from": "c", "to": "d"}]}`,
			want: "cycle: b → c → b"},
		{name: "when that does not compile has a column", graph: `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
			{"id": "b", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "a", "to": "b", "when": "input. > 2"}]}`,
			want: "edge 0 field when column 10", col: 10},
		{name: "template error names the field", graph: `{"nodes": [{"id": "h", "kind": "http", "config": {"url": "http://x/{{ input. }}"}}], "edges": []}`,
			want: `node "h" field config.url column`},
		{name: "nested transform template", graph: `{"nodes": [{"id": "t", "kind": "transform", "config": {"value": {"a": ["ok", "{{ ( }}"]}}}], "edges": []}`,
			want: `node "t" field config.value`},
		{name: "bad retry and timeout", graph: `{"nodes": [{"id": "h", "kind": "http", "config": {"url": "http://x"},
			"retry": {"initial_interval": "soon", "backoff": 0.5}, "timeout": "-1s"}], "edges": []}`,
			want: `field retry.backoff: retry.backoff must be from 1 to 100`},
		{name: "bad expect", graph: `{"nodes": [{"id": "h", "kind": "http", "config": {"url": "http://x", "expect": ["9xx"]}}], "edges": []}`,
			want: `field config.expect[0]: "9xx" is not a status`},
		{name: "wait needs duration or until", graph: `{"nodes": [{"id": "w", "kind": "wait", "config": {}}], "edges": []}`,
			want: `node "w" field config.duration: a wait node needs a duration`},
		{name: "subgraph version must be a number or latest", graph: `{"nodes": [{"id": "s", "kind": "subgraph", "config": {"graph": "g", "version": "newest"}}], "edges": []}`,
			want: `version must be a version number or "latest"`},
		{name: "designer's rules apply", graph: `{"nodes": [{"id": "a", "kind": "transform", "retry": {"max_attempts": 2}, "config": {"value": "1"}}], "edges": []}`,
			want: `node "a" field retry: retry applies only to llm and http nodes`},
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

// TestCompileStructureBuildsWithoutRules: a run's first workflow task builds the plan of a
// definition compile accepted at the start, without validating it again; it refuses only
// what no plan can be built from, in the engine's words.
func TestCompileStructureBuildsWithoutRules(t *testing.T) {
	g := mustGraph(t, `{"nodes": [{"id": "a", "kind": "transform", "retry": {"max_attempts": 2}, "config": {"value": "1"}}], "edges": []}`)
	if _, err := compileStructure(&g); err != nil {
		t.Fatalf("compileStructure refused what only designer's rules forbid: %v", err)
	}
	for graph, want := range map[string]string{
		`{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}], "edges": [{"from": "a", "to": "zz"}]}`: `edge 0 field to: no node "zz"`,
		`{"nodes": [{"id": "a", "kind": "email", "config": {}}], "edges": []}`:                                          `unknown kind "email"`,
		`{"nodes": [{"id": "a", "kind": "wait", "config": {"duration": "1s"}}, {"id": "b", "kind": "transform", "config": {"value": "1"}}],
			"edges": [{"from": "a", "to": "b", "port": "error"}]}`: `node "a" (wait) has no port "error"`,
		`{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}}, {"id": "b", "kind": "transform", "config": {"value": "1"}}],
			"edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}`: "cycle through nodes a → b → a",
	} {
		g := mustGraph(t, graph)
		if _, err := compileStructure(&g); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("compileStructure(%s) = %v, want %q", graph, err, want)
		}
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
	// 2,000 subgraph nodes fit the history budget; 3,000 do not.
	ok := layeredGraph(2, 1000, "subgraph")
	if _, err := compile(&ok); err != nil && strings.Contains(err.Error(), "too large") {
		t.Fatalf("2,000 subgraph nodes refused: %v", err)
	}
	big := layeredGraph(3, 1000, "subgraph")
	_, err := compile(&big)
	m := regexp.MustCompile(`graph is too large for one run: about (\d+) history events, the limit is 40000`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("error = %v", err)
	}
	if n, _ := strconv.Atoi(m[1]); n < 45000 {
		t.Errorf("estimate %d for 3,000 subgraph nodes, want at least 15 events each", n)
	}
	// A run's start counts without configs, so as many subgraph nodes as fit without their
	// input expressions pass; StartRun's check, after it, counts those too and refuses as
	// compile does.
	withInput := func(n int) designer.Graph {
		g := layeredGraph(1, n, "subgraph")
		for i := range g.Nodes {
			g.Nodes[i].Config = []byte(`{"graph": "child", "input": "{n: 1}"}`)
		}
		return g
	}
	one := withInput(1)
	p, err := compileStructure(&one)
	if err != nil {
		t.Fatal(err)
	}
	input := withInput((maxHistoryEvents - baseEvents) / (p.events - baseEvents))
	if _, err := planCached(&input); err != nil {
		t.Fatalf("structure of %d subgraph nodes: %v", len(input.Nodes), err)
	}
	_, want := compile(&input)
	if _, err := compileCached(&input); err == nil || want == nil || err.Error() != want.Error() || !strings.Contains(err.Error(), "too large") {
		t.Errorf("compileCached = %v, want %v", err, want)
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

// TestCompileCachedChecksConfigs: a plan cached without its configs (a run's start) is not
// taken as checked by StartRun's compileCached, which reports the configs' problems as
// compile does.
func TestCompileCachedChecksConfigs(t *testing.T) {
	g := mustGraph(t, `{"name": "cached with a bad config", "nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
		{"id": "b", "kind": "transform", "config": {"value": "input. > 2"}}], "edges": [{"from": "a", "to": "b"}]}`)
	p, err := planCached(&g)
	if err != nil {
		t.Fatalf("structure: %v", err)
	}
	_, want := compile(&g)
	if _, err := compileCached(&g); err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("compileCached = %v, want %v", err, want)
	}
	if _, problems := p.nodes[1].config(); len(problems) != 1 || problems[0].Field != "config.value" {
		t.Errorf("b's problems = %+v", problems)
	}
	// A plan a workflow task cached is not a way past designer's rules.
	rule := mustGraph(t, `{"name": "cached against a rule", "nodes": [{"id": "a", "kind": "transform", "retry": {"max_attempts": 2}, "config": {"value": "1"}}], "edges": []}`)
	if _, err := planCached(&rule); err != nil {
		t.Fatalf("structure: %v", err)
	}
	if _, err := compileCached(&rule); err == nil || !strings.Contains(err.Error(), "retry applies only to llm and http nodes") {
		t.Errorf("compileCached of a cached plan designer refuses = %v", err)
	}
	ok := layeredGraph(2, 2, "transform")
	ok.Name = "cached and fine"
	p1, err := planCached(&ok)
	if err != nil {
		t.Fatal(err)
	}
	if p2, err := compileCached(&ok); err != nil || p2 != p1 {
		t.Errorf("compileCached = %p, %v; want the cached plan %p", p2, err, p1)
	}
}

// TestPlanKeyCoversTheDefinition changes each field of a definition in turn, found by
// reflection so that a field added to designer.Graph later is covered too: each change
// must change planKey, or runs of two definitions would share one plan.
func TestPlanKeyCoversTheDefinition(t *testing.T) {
	base := func() *designer.Graph {
		g := mustGraph(t, `{"format": "trellis.graph/v1", "name": "n", "description": "d", "input": {"type": "object"}, "output": "1",
			"nodes": [{"id": "a", "kind": "transform", "label": "A", "position": {"x": 1, "y": 2}, "config": {"value": "1"},
				"retry": {"max_attempts": 2, "initial_interval": "1s", "backoff": 2, "max_interval": "5s"},
				"timeout": "5s", "join": "all", "on_error": "fail"}],
			"edges": [{"from": "a", "to": "a", "port": "out", "when": "true"}]}`)
		return &g
	}
	orig := planKey(base())
	for k := 0; ; k++ {
		g, skip := base(), k
		name, ok := changeField(reflect.ValueOf(g).Elem(), "graph", &skip)
		if !ok {
			if k < 20 {
				t.Fatalf("only %d fields found", k)
			}
			break
		}
		if planKey(g) == orig {
			t.Errorf("changing %s leaves the key as it was", name)
		}
	}
	g := base()
	g.Nodes[0].Position, g.Nodes[0].Retry = nil, nil
	if planKey(g) == orig {
		t.Error("dropping the position and retry leaves the key as it was")
	}
}

// changeField changes the k-th field of v (counting leaves, first element of slices and
// pointees included) and returns its name; ok is false when v has fewer fields.
func changeField(v reflect.Value, name string, k *int) (string, bool) {
	switch {
	case v.Kind() == reflect.Pointer:
		return changeField(v.Elem(), name, k)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if n, ok := changeField(v.Field(i), name+"."+v.Type().Field(i).Name, k); ok {
				return n, true
			}
		}
		return "", false
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8:
		return changeField(v.Index(0), name+"[0]", k)
	}
	if *k > 0 {
		*k--
		return "", false
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Slice: // raw JSON
		v.SetBytes(append(slices.Clone(v.Bytes()), ' '))
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Int:
		v.SetInt(v.Int() + 1)
	default:
		panic("changeField: no change for " + v.Kind().String() + " " + name)
	}
	return name, true
}

// countedKind counts the configs compiled; its node outputs the count when it ran.
type countedKind struct{}

var countedCompiles atomic.Int64

func init() { registerKind("test_counted", countedKind{}) }

func (countedKind) compile(*designer.Node, *problemList) any {
	countedCompiles.Add(1)
	return nil
}
func (countedKind) ports(*designer.Node, any) []string    { return []string{designer.PortOut} }
func (countedKind) historyEvents(*designer.Node, any) int { return 1 + workflowTaskEvents }
func (countedKind) execute(workflow.Context, *nodeExec) (nodeResult, error) {
	return nodeResult{Output: countedCompiles.Load()}, nil
}

var countedRuns atomic.Int64

// TestRunCompilesConfigsAsNodesStart: a run compiles the config of a node when the node
// starts, so its first step compiles the 100 roots of a 2,000-node graph, not all of it.
func TestRunCompilesConfigsAsNodesStart(t *testing.T) {
	g := layeredGraph(20, 100, "test_counted")
	g.Name = fmt.Sprintf("counted %d", countedRuns.Add(1)) // not cached by an earlier run
	before := countedCompiles.Load()
	r := runInTestEnv(t, g, nil, Deps{}, nil)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := int64(r.state.Nodes["n0_0"].Output.(float64)) - before; got != 100 {
		t.Errorf("configs compiled when the first root ran: %d, want the 100 roots", got)
	}
	if got := countedCompiles.Load() - before; got != 2000 {
		t.Errorf("configs compiled by the end: %d, want 2000", got)
	}
}

// TestBadConfigFailsTheRunWhenReached: a definition that skipped StartRun's check fails as
// an invalid definition when the node with the bad config is reached.
func TestBadConfigFailsTheRunWhenReached(t *testing.T) {
	g := mustGraph(t, `{"nodes": [{"id": "a", "kind": "transform", "config": {"value": "1"}},
		{"id": "b", "kind": "transform", "on_error": "continue", "config": {"value": "input. > 2"}},
		{"id": "c", "kind": "transform", "config": {"value": "2"}}],
	  "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]}`)
	r := runInTestEnv(t, g, nil, Deps{}, nil)
	want := `invalid graph definition: node "b" field config.value column 10: expected name`
	if r.err == nil || !strings.Contains(r.err.Error(), want) {
		t.Fatalf("run error = %v, want %q", r.err, want)
	}
	st := statuses(r.state)
	if st["a"] != NodeCompleted || st["b"] != NodeFailed || st["c"] != NodePending || r.state.Status != RunFailed {
		t.Errorf("statuses = %v, run %s", st, r.state.Status)
	}
	if e := r.state.Nodes["b"].Error; e == nil || e.Type != ErrTypeDefinition || !strings.Contains(e.Message, want) {
		t.Errorf("b's error = %+v", e)
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
