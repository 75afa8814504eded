package designer

import "testing"

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
			[]want{nw("a", "config.tools.0.description", "description is required"), nw("a", "config.tools.0.http", "http is required")}},
		{"tool parameters not an object", doc(agentNode(`[{"name":"t","description":"d","parameters":{"type":"string"},"http":{"url":"https://x"}}]`), ""),
			[]want{nw("a", "config.tools.0.parameters", "must be a JSON Schema of an object")}},
		{"tool url template broken", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x/{{ args.id "}}]`), ""),
			[]want{nw("a", "config.tools.0.http.url", "")}},
		{"tool unknown field", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x"},"colour":"red"}]`), ""),
			[]want{nw("a", "config.tools.0", `unknown field "colour"`)}},
		{"graph tool not yet", doc(agentNode(`[{"name":"t","description":"d","graph":"orders","version":2}]`), ""),
			[]want{nw("a", "config.tools.0.graph", "not available yet")}},
		{"approval not yet", doc(agentNode(`[{"name":"t","description":"d","http":{"url":"https://x"},"approval":{"assignee":"group:g"}}]`), ""),
			[]want{nw("a", "config.tools.0.approval", "not available yet")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}
