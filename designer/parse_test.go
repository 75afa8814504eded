package designer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		lim  Limits
		want string
	}{
		{"empty", "", Limits{}, "the graph document is not valid JSON: unexpected end of the document at line 1, column 1"},
		{"not JSON", "{\n  \"name\": tru\n}", Limits{}, "the graph document is not valid JSON: unexpected character 't' at line 2, column 11"},
		{"trailing text", `{} x`, Limits{}, "unexpected text after the end of the document at line 1, column 4"},
		{"unterminated string", `{"name": "abc`, Limits{}, "unterminated string"},
		{"not an object", `[1, 2]`, Limits{}, "the graph document must be a JSON object, not a list"},
		{"a string", `"graph"`, Limits{}, "the graph document must be a JSON object, not a string"},
		{"too large", `{"name": "` + strings.Repeat("x", 100) + `"}`, Limits{MaxBytes: 50}, "the graph document is 112 bytes; the limit is 50 bytes"},
		{"too deep", strings.Repeat("[", 300) + strings.Repeat("]", 300), Limits{}, "values nested more than 256 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, probs, err := Parse([]byte(tt.data), tt.lim)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if g != nil || probs != nil {
				t.Fatalf("got a graph or problems with an error")
			}
		})
	}
	t.Run("too large matches ErrTooLarge", func(t *testing.T) {
		_, _, err := Parse(make([]byte, 3<<20), Limits{})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "the graph document is 3 MiB; the limit is 2 MiB") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseProblems(t *testing.T) {
	edge0 := 0
	tests := []struct {
		name string
		data string
		lim  Limits
		want []Problem
	}{
		{"clean", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b"}`), Limits{}, nil},
		{"unknown top-level field", `{"format":"trellis.graph/v1","colour":"red","nodes":[]}`, Limits{},
			[]Problem{{Field: "colour", Message: `unknown field "colour"; expected one of format, name, description, input, nodes, edges, output`}}},
		{"field names are case sensitive", `{"format":"trellis.graph/v1","Name":"x"}`, Limits{},
			[]Problem{{Field: "Name", Message: `unknown field "Name"`}}},
		{"unknown node field", doc(tr("a")+`,{"id":"b","kind":"transform","colour":"red"}`, ""), Limits{},
			[]Problem{{Node: "b", Field: "nodes[1].colour", Message: `unknown field "colour"; expected one of id, kind, label`}}},
		{"unknown node field without id", doc(`{"kind":"transform","colour":"red"}`, ""), Limits{},
			[]Problem{{Field: "nodes[0].colour", Message: `unknown field "colour"`}}},
		{"unknown edge field", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","weight":2}`), Limits{},
			[]Problem{{Edge: &edge0, Field: "edges[0].weight", Message: `unknown field "weight"; expected one of from, to, port, when`}}},
		{"unknown position and retry fields", doc(`{"id":"a","kind":"http","position":{"x":1,"z":2},"retry":{"tries":3}}`, ""), Limits{},
			[]Problem{{Node: "a", Field: "nodes[0].position.z", Message: `unknown field "z"; expected one of x, y`},
				{Node: "a", Field: "nodes[0].retry.tries", Message: `unknown field "tries"`}}},
		{"repeated field", `{"format":"trellis.graph/v1","name":"a","name":"b"}`, Limits{},
			[]Problem{{Field: "name", Message: `field "name" appears more than once; the last one is kept`}}},
		{"wrong types", `{"format":"trellis.graph/v1","name":5,"nodes":[{"id":7,"kind":"wait","position":{"x":"1"},"retry":{"max_attempts":1.5}}],"edges":{}}`, Limits{},
			[]Problem{{Field: "name", Message: "name must be a string, not a number"},
				{Field: "nodes[0].id", Message: "id must be a string, not a number"},
				{Field: "nodes[0].position.x", Message: "x must be a number, not a string"},
				{Field: "nodes[0].retry.max_attempts", Message: "max_attempts must be a whole number"},
				{Field: "edges", Message: "edges must be a list, not an object"}}},
		{"node not an object", doc(`3,`+tr("a"), ""), Limits{},
			[]Problem{{Field: "nodes[0]", Message: "nodes[0] must be an object, not a number; it was left out"}}},
		{"format wrong", `{"format":"trellis.graph/v2"}`, Limits{},
			[]Problem{{Field: "format", Message: `unknown format "trellis.graph/v2"; expected trellis.graph/v1`}}},
		{"format missing", `{"name":"x"}`, Limits{},
			[]Problem{{Field: "format", Message: "missing format; expected trellis.graph/v1"}}},
		{"too many nodes", doc(tr("a")+","+tr("b")+","+tr("c"), ""), Limits{MaxNodes: 2},
			[]Problem{{Field: "nodes", Message: "the graph has 3 nodes; the limit is 2"}}},
		{"nulls count as absent", `{"format":"trellis.graph/v1","name":null,"input":null,"nodes":[{"id":"a","kind":"transform","config":{"value":"1"},"label":null,"retry":null}],"edges":null}`, Limits{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, probs, err := Parse([]byte(tt.data), tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if g == nil {
				t.Fatal("no graph")
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("problems = %+v, want %+v", probs, tt.want)
			}
			for i, w := range tt.want {
				p := probs[i]
				if p.Node != w.Node || p.Field != w.Field || !strings.Contains(p.Message, w.Message) ||
					(p.Edge == nil) != (w.Edge == nil) || (p.Edge != nil && *p.Edge != *w.Edge) {
					t.Fatalf("problem %d = %+v, want %+v", i, p, w)
				}
			}
		})
	}
}

func TestParseKeepsTheDraft(t *testing.T) {
	data := `{"format":"x","name":"Draft","colour":1,"output":"nodes.a.output","input":{"type":"object"},
	  "nodes":[{"id":"a","kind":"llm","label":"L","colour":2,"position":{"x":1.5,"y":2},"config":{"prompt":"{{ input. }}","odd":true},
	            "retry":{"max_attempts":2,"initial_interval":"1s","backoff":1.5,"max_interval":"9s"},"timeout":"5s","join":"any","on_error":"continue"}],
	  "edges":[{"from":"a","to":"b","port":"error","when":"true","weight":1}]}`
	g, probs, err := Parse([]byte(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 4 { // format, colour, nodes[0].colour, edges[0].weight
		t.Fatalf("problems = %+v", probs)
	}
	n := g.Nodes[0]
	if g.Name != "Draft" || g.Output != "nodes.a.output" || string(g.Input) != `{"type":"object"}` ||
		n.ID != "a" || n.Kind != "llm" || n.Label != "L" || *n.Position != (Position{1.5, 2}) ||
		string(n.Config) != `{"prompt":"{{ input. }}","odd":true}` ||
		*n.Retry != (Retry{2, "1s", 1.5, "9s"}) || n.Timeout != "5s" || n.Join != "any" || n.OnError != "continue" ||
		g.Edges[0] != (Edge{From: "a", To: "b", Port: "error", When: "true"}) {
		t.Fatalf("graph = %+v", g)
	}
}

func TestParseCopiesTheInput(t *testing.T) {
	data := []byte(doc(tr("a"), ""))
	g, _, err := Parse(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = ' '
	}
	if string(g.Nodes[0].Config) != `{"value":"1"}` {
		t.Fatalf("config changed with the caller's buffer: %s", g.Nodes[0].Config)
	}
}

func TestParseAndValidateDropsRepeats(t *testing.T) {
	_, probs, err := ParseAndValidate([]byte(`{"format":"v9","nodes":[`+tr("a")+`]}`), Limits{}, ValidateEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].Field != "format" {
		t.Fatalf("problems = %+v", probs)
	}
}

func TestExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d examples in testdata, want at least 3", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			g, probs, err := ParseAndValidate(data, DefaultLimits, ValidateEnv{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range probs {
				t.Errorf("problem: %+v", p)
			}
			if _, err := TopoOrder(g); err != nil {
				t.Error(err)
			}
			for _, n := range g.Nodes {
				if _, err := DecodeConfig(n); err != nil {
					t.Errorf("node %s: %v", n.ID, err)
				}
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int]string{10: "10 bytes", 2048: "2 KiB", 2 << 20: "2 MiB", 2<<20 + 300<<10: "2.3 MiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func ExampleParse() {
	g, probs, err := Parse([]byte(`{"format":"trellis.graph/v1","nodes":[{"id":"a","kind":"transform","colour":"red","config":{"value":"1"}}]}`), DefaultLimits)
	fmt.Println(len(g.Nodes), err)
	for _, p := range probs {
		fmt.Printf("%s: %s\n", p.Field, p.Message)
	}
	// Output:
	// 1 <nil>
	// nodes[0].colour: unknown field "colour"; expected one of id, kind, label, position, config, retry, timeout, join, on_error
}
