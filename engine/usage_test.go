package engine

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func TestNodeUsage(t *testing.T) {
	tests := []struct {
		name   string
		output any
		want   Usage
		ok     bool
	}{
		{"from workflow code", map[string]any{"usage": map[string]any{"prompt_tokens": 1000.0, "completion_tokens": 200.0}, "cost": 0.0045},
			Usage{PromptTokens: 1000, CompletionTokens: 200, Cost: 0.0045, HasCost: true}, true},
		{"ints without cost", map[string]any{"usage": map[string]any{"prompt_tokens": 3, "completion_tokens": int64(4)}},
			Usage{PromptTokens: 3, CompletionTokens: 4}, true},
		{"json numbers", map[string]any{"usage": map[string]any{"prompt_tokens": json.Number("7"), "completion_tokens": json.Number("1")}, "cost": json.Number("0.5")},
			Usage{PromptTokens: 7, CompletionTokens: 1, Cost: 0.5, HasCost: true}, true},
		{"error output of a node that continued", map[string]any{"error": map[string]any{"message": "x"}}, Usage{}, false},
		{"usage of the wrong shape", map[string]any{"usage": map[string]any{"prompt_tokens": "many"}}, Usage{}, false},
		{"not a map", "text", Usage{}, false},
		{"nil", nil, Usage{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NodeUsage(tc.output)
			if got != tc.want || ok != tc.ok {
				t.Errorf("NodeUsage = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAddUsage(t *testing.T) {
	priced := Usage{PromptTokens: 10, CompletionTokens: 5, Cost: 0.1, HasCost: true}
	unpriced := Usage{PromptTokens: 1, CompletionTokens: 2}
	tests := []struct {
		name  string
		parts []Usage
		want  Usage
		ok    bool
	}{
		{"none", nil, Usage{}, false},
		{"all priced", []Usage{priced, priced, priced}, Usage{PromptTokens: 30, CompletionTokens: 15, Cost: 0.3, HasCost: true}, true},
		{"one without a price has no cost", []Usage{priced, unpriced}, Usage{PromptTokens: 11, CompletionTokens: 7}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := AddUsage(tc.parts)
			if got != tc.want || ok != tc.ok {
				t.Errorf("AddUsage = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestUsageSearchAttributes: a run with llm nodes records its summed tokens and cost as
// search attributes when it ends, completed or failed; a run without llm usage does not
// even ask for the version, so its history is as before; an old run (DefaultVersion)
// upserts nothing.
func TestUsageSearchAttributes(t *testing.T) {
	const twoLLM = `{"nodes": [
		{"id": "a", "kind": "llm", "config": {"prompt": "one"}},
		{"id": "b", "kind": "llm", "config": {"prompt": "two"}},
		{"id": "t", "kind": "transform", "config": {"value": "nodes.a.output.text + nodes.b.output.text"}}],
	  "edges": [{"from": "a", "to": "t"}, {"from": "b", "to": "t"}]}`
	noPrice := func(url string) memProviders {
		p := defaultProviders(url)
		d := p["default"]
		d.Prices = nil
		p["default"] = d
		return p
	}
	tests := []struct {
		name      string
		graph     string
		providers func(url string) memProviders
		version   workflow.Version
		status    string
		// wantTokens < 0: no usage attributes at all; wantCost < 0: no cost.
		wantTokens  int64
		wantCost    float64
		wantVersion bool
	}{
		{name: "two llm nodes with prices", graph: twoLLM, version: 1, status: RunCompleted,
			wantTokens: 2 * (1000 + 200), wantCost: 0.009, wantVersion: true},
		{name: "no price: tokens only", graph: twoLLM, providers: noPrice, version: 1, status: RunCompleted,
			wantTokens: 2400, wantCost: -1, wantVersion: true},
		{name: "failed run after an llm node", version: 1, status: RunFailed,
			graph: `{"nodes": [{"id": "a", "kind": "llm", "config": {"prompt": "one"}},
				{"id": "bad", "kind": "transform", "config": {"value": "int('abc')"}}],
			  "edges": [{"from": "a", "to": "bad"}]}`,
			wantTokens: 1200, wantCost: 0.0045, wantVersion: true},
		{name: "run from before the change", graph: twoLLM, version: workflow.DefaultVersion, status: RunCompleted,
			wantTokens: -1, wantVersion: true},
		{name: "no llm nodes", version: 1, status: RunCompleted,
			graph:      `{"nodes": [{"id": "t", "kind": "transform", "config": {"value": "1"}}], "edges": []}`,
			wantTokens: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newChatServer(t, func(int, map[string]any) chatReply { return chatAnswer("gpt-test", "ok", 1000, 200) })
			providers := defaultProviders(srv.URL)
			if tc.providers != nil {
				providers = tc.providers(srv.URL)
			}
			var mu sync.Mutex
			var upserts []temporal.SearchAttributes
			askedVersion := false
			before := func(env *testsuite.TestWorkflowEnvironment) {
				env.OnGetVersion("usage-search-attributes", workflow.DefaultVersion, workflow.Version(1)).
					Run(func(mock.Arguments) { askedVersion = true }).Return(tc.version)
				env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
					mu.Lock()
					defer mu.Unlock()
					upserts = append(upserts, args.Get(0).(temporal.SearchAttributes))
				}).Return(nil)
			}
			r := runInTestEnv(t, mustGraph(t, tc.graph), nil,
				Deps{Providers: providers, Secrets: memSecrets{"OPENAI_KEY": llmTestKey}, Logger: quietLogger()}, before)
			if r.state.Status != tc.status {
				t.Fatalf("status %s (error %v), want %s", r.state.Status, r.err, tc.status)
			}
			if askedVersion != tc.wantVersion {
				t.Errorf("GetVersion called: %v, want %v", askedVersion, tc.wantVersion)
			}
			mu.Lock()
			defer mu.Unlock()
			var tokens []int64
			var costs []float64
			for _, sa := range upserts {
				if v, ok := sa.GetInt64(tokensKey); ok {
					tokens = append(tokens, v)
				}
				if v, ok := sa.GetFloat64(costKey); ok {
					costs = append(costs, v)
				}
			}
			switch {
			case tc.wantTokens < 0:
				if len(tokens)+len(costs) > 0 {
					t.Errorf("usage upserted: tokens %v, cost %v", tokens, costs)
				}
				return
			case len(tokens) != 1 || tokens[0] != tc.wantTokens:
				t.Errorf("tokens upserted %v, want [%d]", tokens, tc.wantTokens)
			}
			if tc.wantCost < 0 {
				if len(costs) > 0 {
					t.Errorf("cost upserted %v without prices", costs)
				}
			} else if len(costs) != 1 || costs[0] != tc.wantCost {
				t.Errorf("cost upserted %v, want [%v]", costs, tc.wantCost)
			}
		})
	}
}
