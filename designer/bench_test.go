package designer

import (
	"encoding/json"
	"fmt"
	"testing"
)

// bigGraph builds a layered DAG of n nodes mixing every kind, with templates in configs
// and when-expressions on some edges, as a realistic worst case for the limits.
func bigGraph(n int) *Graph {
	const width = 20
	g := &Graph{Format: Format, Name: "Big", Description: "A generated graph for benchmarks.",
		Input:  json.RawMessage(`{"type":"object","required":["amount"],"properties":{"amount":{"type":"number"},"customer":{"type":"string"}}}`),
		Output: "{ total: input.amount }"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i)
		layer, col := i/width, i%width
		node := Node{ID: id, Label: fmt.Sprintf("Step %d", i), Position: &Position{X: float64(layer * 200), Y: float64(col * 80)}}
		prev := fmt.Sprintf("n%d", (layer-1)*width+col)
		if layer == 0 {
			prev = ""
		}
		ref := "input.customer"
		if prev != "" {
			ref = "nodes." + prev + ".output"
		}
		switch i % 6 {
		case 0:
			node.Kind = KindLLM
			node.Config = json.RawMessage(fmt.Sprintf(`{"model":"gpt-4o-mini","system":"You are helpful.","prompt":"Summarise {{ %s }} for {{ input.customer }} (amount {{ input.amount }})","temperature":0.2,"max_tokens":500}`, ref))
			node.Retry = &Retry{MaxAttempts: 3, InitialInterval: "1s", Backoff: 2, MaxInterval: "1m"}
			node.Timeout = "45s"
		case 1:
			node.Kind = KindHTTP
			node.Config = json.RawMessage(fmt.Sprintf(`{"method":"POST","url":"https://api.example.com/items/{{ input.customer }}","headers":{"Authorization":"Bearer {{ secrets.TOKEN }}","X-Step":"%s"},"body":{"value":"{{ %s }}","n":%d},"expect":[200,"2xx"]}`, id, ref, i))
		case 2:
			node.Kind = KindTransform
			node.Config = json.RawMessage(fmt.Sprintf(`{"value":"{ step: %d, prev: %s, amount: input.amount * 2 }"}`, i, ref))
		case 3:
			node.Kind = KindApproval
			node.Config = json.RawMessage(`{"title":"Check {{ input.customer }}","instructions":"Amount **{{ input.amount }}**","assignee":"group:reviewers","form":{"type":"object","properties":{"note":{"type":"string"}}},"outcomes":["approve","reject"],"due":"24h","on_due":{"outcome":"reject"}}`)
		case 4:
			node.Kind = KindWait
			node.Config = json.RawMessage(`{"duration":"10s"}`)
		case 5:
			node.Kind = KindTransform
			node.Join = JoinAny
			node.Config = json.RawMessage(fmt.Sprintf(`{"value":{"text":"done {{ %s }}","n":%d}}`, ref, i))
		}
		g.Nodes = append(g.Nodes, node)
		if prev != "" {
			pn := g.Nodes[(layer-1)*width+col]
			port := ""
			if pn.Kind == KindApproval {
				port = "approve"
			}
			e := Edge{From: prev, To: id, Port: port}
			if i%3 == 0 {
				e.When = fmt.Sprintf("input.amount > %d && %s != nil", i, ref)
			}
			g.Edges = append(g.Edges, e)
			if col > 0 && pn.Kind != KindApproval {
				g.Edges = append(g.Edges, Edge{From: fmt.Sprintf("n%d", (layer-1)*width+col-1), To: id, Port: portFor(g.Nodes[(layer-1)*width+col-1])})
			}
		}
	}
	return g
}

func portFor(n Node) string {
	if n.Kind == KindApproval {
		return "reject"
	}
	return ""
}

func BenchmarkParseValidateHash2000(b *testing.B) {
	data, err := json.Marshal(bigGraph(2000))
	if err != nil {
		b.Fatal(err)
	}
	if _, probs, err := ParseAndValidate(data, DefaultLimits, ValidateEnv{}); err != nil || len(probs) > 0 {
		b.Fatalf("the benchmark graph is not valid: %v %v", err, probs)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, probs, err := Parse(data, DefaultLimits)
		if err != nil || len(probs) > 0 {
			b.Fatal(err, probs)
		}
		if probs := Validate(g, ValidateEnv{}); len(probs) > 0 {
			b.Fatal(probs)
		}
		if _, err := Hash(g); err != nil {
			b.Fatal(err)
		}
	}
}
