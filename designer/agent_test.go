package designer

import (
	"encoding/json"
	"strings"
	"testing"
)

func agentNode(tools string) string {
	return `{"id":"a","kind":"agent","config":{"prompt":"Help {{ input.name }}","tools":` + tools + `}}`
}

const lookupToolJSON = `{"name":"lookup_order","description":"Finds an order.",
	"parameters":{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}},
	"http":{"url":"https://shop.example/orders/{{ args.id }}","headers":{"Authorization":"Bearer {{ secrets.SHOP }}"}}}`

func TestValidateAgent(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"http tool ok", doc(agentNode(`[`+lookupToolJSON+`]`), ""), nil},
		{"max_steps over the limit", doc(`{"id":"a","kind":"agent","config":{"prompt":"p","max_steps":51,"tools":[`+lookupToolJSON+`]}}`, ""),
			[]want{nw("a", "config.max_steps", "from 1 to 50")}},
		{"tools missing", doc(`{"id":"a","kind":"agent","config":{"prompt":"p"}}`, ""), []want{nw("a", "config.tools", "tools is required")}},
		{"tools empty", doc(agentNode(`[]`), ""), []want{nw("a", "config.tools", "at least one tool")}},
		{"tool name bad and twice", doc(agentNode(`[`+lookupToolJSON+`,`+lookupToolJSON+`,{"name":"has space","description":"d","http":{"url":"https://x"}}]`), ""),
			[]want{nw("a", "config.tools.1.name", `tool "lookup_order" is listed twice`), nw("a", "config.tools.2.name", `tool name "has space"`)}},
		{"tool without description or request", doc(agentNode(`[{"name":"t"}]`), ""),
			[]want{nw("a", "config.tools.0.description", "description is required"), nw("a", "config.tools.0.http", "is required: what the tool does")}},
		{"tool parameters not an object", doc(agentNode(`[{"name":"t","description":"d","parameters":{"type":"string"},"http":{"url":"https://x"}}]`), ""),
			[]want{nw("a", "config.tools.0.parameters", "must be a JSON Schema of an object")}},
		{"tool url template broken", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x/{{ args.id "}}]`), ""),
			[]want{nw("a", "config.tools.0.http.url", "")}},
		{"tool unknown field", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x"},"colour":"red"}]`), ""),
			[]want{nw("a", "config.tools.0", `unknown field "colour"`)}},
		{"graph tool ok", doc(agentNode(`[{"name":"t","description":"d","graph":"orders","version":2}]`), ""), nil},
		{"graph tool unknown", doc(agentNode(`[{"name":"t","description":"d","graph":"nowhere"}]`), ""),
			[]want{nw("a", "config.tools.0.graph", `unknown graph "nowhere"`)}},
		{"graph tool of itself", doc(agentNode(`[{"name":"t","description":"d","graph":"self"}]`), ""),
			[]want{nw("a", "config.tools.0.graph", "cannot include itself")}},
		{"graph tool with parameters and a bad version", doc(agentNode(`[{"name":"t","description":"d","graph":"orders","version":"newest","parameters":{"type":"object"}}]`), ""),
			[]want{nw("a", "config.tools.0.parameters", "leave parameters out"), nw("a", "config.tools.0.version", `not "newest"`)}},
		{"mcp tool ok", doc(agentNode(`[{"name":"t","description":"d","mcp":{"server":"orders","tool":"order_status"}},
			{"name":"u","description":"d","mcp":{"server":"orders","tool":"x"},"parameters":{"type":"object","additionalProperties":false}}]`), ""), nil},
		{"mcp tool bad", doc(agentNode(`[{"name":"t","description":"d","mcp":{"server":"Orders!","tool":""}},
			{"name":"u","description":"d","mcp":{"server":"a","tool":"x"},"http":{"url":"https://x"}},
			{"name":"v","description":"d","mcp":{"server":"a","tool":"x"},"parameters":{"type":"array"}}]`), ""),
			[]want{nw("a", "config.tools.0.mcp.server", `server "Orders!"`), nw("a", "config.tools.0.mcp.tool", "tool is required"),
				nw("a", "config.tools.1.mcp", "one of mcp, graph or http"), nw("a", "config.tools.2.parameters", "publishing sets it")}},
		{"approval ok", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x"},
			"approval":{"assignee":"group:g","due":"1h","on_due":{"outcome":"reject"}}}]`), ""), nil},
		{"approval bad", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x"},"approval":{"assignee":"finance","on_due":{"outcome":"maybe"}}},
			{"name":"u","description":"d","http":{"url":"https://x"},"approval":{"assignee":"user:ann","due":"soon","colour":1}},
			{"name":"v","description":"d","http":{"url":"https://x"},"approval":{"assignee":"user:ann","due":"2h","on_due":{"outcome":"approve","escalate_to":"user:bo"}}}]`), ""),
			[]want{nw("a", "config.tools.0.approval.assignee", `assignee "finance" must be`), nw("a", "config.tools.0.approval.on_due", "needs a due time"),
				nw("a", "config.tools.1", `unknown field "colour"`), nw("a", "config.tools.2.approval.on_due", "either outcome or escalate_to")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := ValidateEnv{SelfID: "self", GraphExists: func(id string) bool { return id == "orders" || id == "self" }}
			checkProblems(t, Validate(decodeGraph(t, tt.doc), env), tt.want)
		})
	}
}

func TestAgentGraphToolsPinnedAndListed(t *testing.T) {
	g := decodeGraph(t, doc(agentNode(`[{"name":"a","description":"d","graph":"orders"},
		{"name":"b","description":"d","graph":"stock","version":"latest"},
		{"name":"c","description":"d","graph":"pinned","version":4},
		{"name":"d","description":"d","graph":"unpublished"}]`), ""))
	latest := map[string]int{"orders": 3, "stock": 7, "pinned": 9}
	probs := ResolveSubgraphVersions(g, func(id string) (int, bool) { n, ok := latest[id]; return n, ok })
	if len(probs) != 1 || probs[0].Field != "config.tools.3.version" {
		t.Errorf("problems = %+v, want the unpublished graph's", probs)
	}
	var cfg AgentConfig
	if err := json.Unmarshal(g.Nodes[0].Config, &cfg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tool := range cfg.Tools {
		got = append(got, tool.Graph+"@"+string(tool.Version))
	}
	if strings.Join(got, " ") != "orders@3 stock@7 pinned@4 unpublished@" {
		t.Errorf("pinned = %v", got)
	}
	doc, _ := json.Marshal(g)
	if refs := SubgraphRefs(doc); strings.Join(refs, " ") != "orders stock pinned unpublished" {
		t.Errorf("refs = %v", refs)
	}
}
