package designer

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func mustParse(t testing.TB, text string) *Graph {
	t.Helper()
	g, _, err := Parse([]byte(text), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustHash(t testing.TB, g *Graph) string {
	t.Helper()
	h, err := Hash(g)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const canonBase = `{"format":"trellis.graph/v1","name":"n","input":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"string"}}},
 "nodes":[{"id":"a","kind":"llm","position":{"x":1,"y":2},"config":{"prompt":"p <b> & {{ input.a }}","temperature":0.5,"max_tokens":10},"retry":{"max_attempts":2,"backoff":2}},
          {"id":"b","kind":"transform","config":{"value":{"x":[1,2],"y":"z"}}}],
 "edges":[{"from":"a","to":"b","when":"input.a > 1"}]}`

func TestHashIgnoresLayout(t *testing.T) {
	base := mustHash(t, mustParse(t, canonBase))
	same := []struct{ name, doc string }{
		{"whitespace", strings.NewReplacer(",", " ,\n\t", ":", " : ").Replace(canonBase)},
		{"key order", `{"edges":[{"when":"input.a > 1","to":"b","from":"a"}],"nodes":[
			{"config":{"max_tokens":10,"temperature":0.5,"prompt":"p <b> & {{ input.a }}"},"kind":"llm","id":"a","retry":{"backoff":2,"max_attempts":2},"position":{"y":2,"x":1}},
			{"kind":"transform","id":"b","config":{"value":{"y":"z","x":[1,2]}}}],
			"input":{"properties":{"b":{"type":"string"},"a":{"type":"number"}},"type":"object"},"name":"n","format":"trellis.graph/v1"}`},
		{"number spelling", strings.Replace(strings.Replace(canonBase, `"temperature":0.5`, `"temperature":5e-1`, 1), `"max_tokens":10`, `"max_tokens":10.0`, 1)},
		{"escapes", strings.Replace(canonBase, `"z"`, `"\u007a"`, 1)},
		{"null config is no config", strings.Replace(canonBase, `"edges"`, `"description":"","edges"`, 1)},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			if h := mustHash(t, mustParse(t, tt.doc)); h != base {
				t.Fatalf("hash changed: %s != %s", h, base)
			}
		})
	}
	changed := []struct{ name, old, new string }{
		{"label", `"id":"b",`, `"id":"b","label":"B",`},
		{"config value", `"max_tokens":10`, `"max_tokens":11`},
		{"nested config", `[1,2]`, `[2,1]`},
		{"input schema", `{"type":"string"}`, `{"type":"number"}`},
		{"edge when", `input.a > 1`, `input.a > 2`},
		{"position", `"x":1,`, `"x":3,`},
		{"retry", `"max_attempts":2`, `"max_attempts":3`},
		{"integer precision", `"max_tokens":10`, `"max_tokens":12345678901234567891`},
	}
	for _, tt := range changed {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(canonBase, tt.old, tt.new, 1)
			if text == canonBase {
				t.Fatal("the test did not change the document")
			}
			if h := mustHash(t, mustParse(t, text)); h == base {
				t.Fatal("hash did not change")
			}
		})
	}
	if !strings.HasPrefix(base, "sha256:") || len(base) != len("sha256:")+64 {
		t.Fatalf("hash %q is not sha256:<hex>", base)
	}
}

func TestCanonicalIsStructOrderJSON(t *testing.T) {
	// The canonical form is what encoding/json writes for the Graph (no HTML escaping),
	// once the raw parts are canonical.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	files = append(files, "")
	for _, f := range files {
		text := canonBase
		if f != "" {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			text = string(data)
		}
		g := mustParse(t, text)
		got, err := Canonical(g)
		if err != nil {
			t.Fatal(err)
		}
		c := *g
		c.Input = canonicalOrNil(t, g.Input)
		c.Nodes = append([]Node(nil), g.Nodes...)
		for i := range c.Nodes {
			c.Nodes[i].Config = canonicalOrNil(t, c.Nodes[i].Config)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&c); err != nil {
			t.Fatal(err)
		}
		if w := bytes.TrimSpace(want.Bytes()); !bytes.Equal(got, w) {
			t.Fatalf("%s:\ncanonical %s\nwant      %s", f, got, w)
		}
	}
}

func canonicalOrNil(t *testing.T, raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		return nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps are written with sorted keys
		t.Fatal(err)
	}
	return bytes.TrimSpace(b.Bytes())
}

func TestCanonicalGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "refund-approval.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := mustParse(t, string(data))
	got, err := Canonical(g)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "canonical", "refund-approval.golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("canonical form changed; stored hashes would no longer match.\ngot  %s\nwant %s", got, want)
	}
}

func TestCanonicalJSONValues(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":[true,null,"x"]}`, `{"a":[true,null,"x"],"b":1}`},
		{`{"a":1,"a":2}`, `{"a":2}`},
		{`[1.0, 1e2, -0, 0.000001, 1e-7, 1e21, 12345678901234567890, 1.5e400]`, `[1,100,0,0.000001,1e-7,1e+21,12345678901234567890,1.5e400]`},
		{`"<&>\u2028\u0001é\ud83d\ude00"`, "\"<&>\\u2028\\u0001é😀\""},
		{`"\ud800x"`, `"` + "\ufffd" + `x"`},
	}
	for _, tt := range tests {
		got, err := CanonicalJSON([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("CanonicalJSON(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalErrors(t *testing.T) {
	if _, err := Canonical(nil); err == nil {
		t.Fatal("no error for a nil graph")
	}
	g := &Graph{Format: Format, Nodes: []Node{{ID: "a", Kind: KindWait, Config: json.RawMessage(`{"duration":`)}}}
	if _, err := Hash(g); err == nil || !strings.Contains(err.Error(), `node "a"`) {
		t.Fatalf("err = %v", err)
	}
}
