package designer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// doc builds a graph document from node and edge JSON.
func doc(nodes, edges string) string {
	return `{"format":"trellis.graph/v1","name":"t","nodes":[` + nodes + `],"edges":[` + edges + `]}`
}

// tr is a valid transform node.
func tr(id string) string {
	return `{"id":"` + id + `","kind":"transform","config":{"value":"1"}}`
}

// node builds a node of a kind with a config (and optional extra top-level fields).
func node(id, kind, config string, extra ...string) string {
	s := `{"id":"` + id + `","kind":"` + kind + `","config":` + config
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// want is one expected problem; msg is a substring of the message. edge -1 means none.
type want struct {
	node  string
	edge  int
	field string
	col   int
	msg   string
}

func nw(node, field, msg string) want { return want{node: node, edge: -1, field: field, msg: msg} }
func nc(node, field string, col int, m string) want {
	return want{node: node, edge: -1, field: field, col: col, msg: m}
}
func ew(edge int, field, msg string) want { return want{edge: edge, field: field, msg: msg} }
func gw(field, msg string) want           { return want{edge: -1, field: field, msg: msg} }

func decodeGraph(t testing.TB, text string) *Graph {
	t.Helper()
	var g Graph
	if err := json.Unmarshal([]byte(text), &g); err != nil {
		t.Fatalf("test document is not JSON: %v\n%s", err, text)
	}
	return &g
}

func checkProblems(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	show := func() string {
		var b strings.Builder
		for _, p := range got {
			e := -1
			if p.Edge != nil {
				e = *p.Edge
			}
			fmt.Fprintf(&b, "\n  node=%q edge=%d field=%q col=%d: %s", p.Node, e, p.Field, p.Column, p.Message)
		}
		return b.String()
	}
	if len(got) != len(wants) {
		t.Fatalf("got %d problems, want %d:%s", len(got), len(wants), show())
	}
	for i, w := range wants {
		p := got[i]
		e := -1
		if p.Edge != nil {
			e = *p.Edge
		}
		if p.Node != w.node || e != w.edge || p.Field != w.field || p.Column != w.col || !strings.Contains(p.Message, w.msg) {
			t.Fatalf("problem %d = node %q edge %d field %q col %d %q; want node %q edge %d field %q col %d containing %q%s",
				i, p.Node, e, p.Field, p.Column, p.Message, w.node, w.edge, w.field, w.col, w.msg, show())
		}
	}
}

func TestValidateGraphLevel(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"format ok", doc(tr("a"), ""), nil},
		{"format wrong", strings.Replace(doc(tr("a"), ""), "trellis.graph/v1", "x", 1),
			[]want{gw("format", `unknown format "x"; expected trellis.graph/v1`)}},
		{"format missing", `{"name":"t","nodes":[` + tr("a") + `]}`,
			[]want{gw("format", "missing format; expected trellis.graph/v1")}},
		{"input schema ok", `{"format":"trellis.graph/v1","input":{"type":"object","properties":{"n":{"type":"integer","minimum":1}}},"nodes":[` + tr("a") + `]}`, nil},
		{"input schema bad keyword", `{"format":"trellis.graph/v1","input":{"type":"object","oneOf":[]},"nodes":[` + tr("a") + `]}`,
			[]want{gw("input", `unsupported keyword "oneOf" at the top level`)}},
		{"input schema not an object", `{"format":"trellis.graph/v1","input":{"type":"string"},"nodes":[` + tr("a") + `]}`,
			[]want{gw("input", `must describe an object`)}},
		{"output ok", `{"format":"trellis.graph/v1","output":"{ a: nodes.a.output }","nodes":[` + tr("a") + `]}`, nil},
		{"output does not compile", `{"format":"trellis.graph/v1","output":"nodes.a.output +","nodes":[` + tr("a") + `]}`,
			[]want{{edge: -1, field: "output", col: 16, msg: "unexpected token"}}},
		{"output reads a missing node", `{"format":"trellis.graph/v1","output":"nodes.zz.output","nodes":[` + tr("a") + `]}`,
			[]want{{edge: -1, field: "output", col: 1, msg: `unknown node "zz"`}}},
		{"output reads an unknown root", `{"format":"trellis.graph/v1","output":"1 + foo","nodes":[` + tr("a") + `]}`,
			[]want{{edge: -1, field: "output", col: 5, msg: `unknown name "foo"`}}},
		{"output reads $env", `{"format":"trellis.graph/v1","output":"$env","nodes":[` + tr("a") + `]}`,
			[]want{{edge: -1, field: "output", col: 1, msg: `unknown name "$env"`}}},
		{"output reads a secret", `{"format":"trellis.graph/v1","output":"secrets.TOKEN","nodes":[` + tr("a") + `]}`,
			[]want{{edge: -1, field: "output", col: 1, msg: "secrets can be used only in an http node's url, query, headers and body"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}

func TestValidateNodes(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"id ok at 63 characters", doc(tr(long), ""), nil},
		{"id missing", doc(`{"kind":"transform","config":{"value":"1"}}`, ""), []want{nw("", "id", "has no id")}},
		{"id malformed", doc(tr("Bad-Id"), ""), []want{nw("Bad-Id", "id", "must start with a lowercase letter")}},
		{"id too long", doc(tr(long+"a"), ""), []want{nw(long+"a", "id", "at most 63 characters")}},
		{"id starts with a digit", doc(tr("1a"), ""), []want{nw("1a", "id", "must start with a lowercase letter")}},
		{"id duplicate", doc(tr("a")+","+tr("a"), ""), []want{nw("a", "id", `duplicate id "a": nodes[0] has it already`)}},
		{"kind missing", doc(`{"id":"a"}`, ""), []want{nw("a", "kind", "has no kind")}},
		{"kind unknown", doc(`{"id":"a","kind":"email"}`, ""), []want{nw("a", "kind", `unknown kind "email"; expected one of transform, http, llm, agent, approval, wait, subgraph`)}},
		{"config not an object", doc(node("a", "transform", "[1]"), ""), []want{nw("a", "config", "config must be an object, not a list")}},
		{"config unknown field", doc(node("a", "transform", `{"value":"1","colour":"red"}`), ""),
			[]want{nw("a", "config.colour", `unknown field "colour" for a transform node; expected one of value`)}},
		{"config field names are case sensitive", doc(node("a", "llm", `{"Prompt":"hi","prompt":"hi"}`), ""),
			[]want{nw("a", "config.Prompt", `unknown field "Prompt"`)}},
		{"config field repeated", doc(node("a", "transform", `{"value":"1","value":"2"}`), ""),
			[]want{nw("a", "config.value", "appears more than once")}},

		{"transform value required", doc(node("a", "transform", `{}`), ""), []want{nw("a", "config.value", "value is required")}},
		{"transform value expression ok", doc(node("a", "transform", `{"value":"let x = input.n; x * 2"}`), ""), nil},
		{"transform value expression error", doc(node("a", "transform", `{"value":"input.n *"}`), ""),
			[]want{nc("a", "config.value", 9, "unexpected token")}},
		{"transform value JSON with templates", doc(node("a", "transform", `{"value":{"items":[1,"{{ input.n }}"],"n":2}}`), ""), nil},
		{"transform value JSON template error", doc(node("a", "transform", `{"value":{"items":[1,"x {{ input. }}"]}}`), ""),
			[]want{nc("a", "config.value.items[1]", 12, "")}},
		{"transform reads itself", doc(node("a", "transform", `{"value":"nodes.a.output"}`), ""),
			[]want{nc("a", "config.value", 1, `node "a" reads its own result`)}},
		{"transform reads a secret", doc(node("a", "transform", `{"value":"secrets.KEY"}`), ""),
			[]want{nc("a", "config.value", 1, "secrets can be used only")}},

		{"llm ok", doc(node("a", "llm", `{"provider":"default","model":"m","system":"be brief","prompt":"hi {{ input.name }}","temperature":0.5,"max_tokens":100,"json_schema":{"type":"object"}}`), ""), nil},
		{"llm prompt required", doc(node("a", "llm", `{"model":"m"}`), ""), []want{nw("a", "config.prompt", "prompt is required")}},
		{"llm prompt empty", doc(node("a", "llm", `{"prompt":"  "}`), ""), []want{nw("a", "config.prompt", "prompt is required")}},
		{"llm prompt does not compile", doc(node("a", "llm", `{"prompt":"Hi {{ input. }}"}`), ""),
			[]want{nc("a", "config.prompt", 13, "")}},
		{"llm prompt unclosed", doc(node("a", "llm", `{"prompt":"Hi {{ input.x"}`), ""),
			[]want{nc("a", "config.prompt", 4, "unclosed {{")}},
		{"llm prompt reads a missing node", doc(node("a", "llm", `{"prompt":"{{ nodes.zz.output }}"}`), ""),
			[]want{nc("a", "config.prompt", 4, `unknown node "zz"`)}},
		{"llm prompt reads a secret", doc(node("a", "llm", `{"prompt":"key {{ secrets.KEY }}"}`), ""),
			[]want{nc("a", "config.prompt", 8, "secrets can be used only")}},
		{"llm system does not compile", doc(node("a", "llm", `{"prompt":"x","system":"{{ }}"}`), ""),
			[]want{nc("a", "config.system", 3, "expression is empty")}},
		{"llm temperature wrong type", doc(node("a", "llm", `{"prompt":"x","temperature":"hot"}`), ""),
			[]want{nw("a", "config.temperature", "temperature must be a number, not a string")}},
		{"llm temperature out of range", doc(node("a", "llm", `{"prompt":"x","temperature":3}`), ""),
			[]want{nw("a", "config.temperature", "from 0 to 2")}},
		{"llm max_tokens not whole", doc(node("a", "llm", `{"prompt":"x","max_tokens":1.5}`), ""),
			[]want{nw("a", "config.max_tokens", "must be a whole number")}},
		{"llm max_tokens zero", doc(node("a", "llm", `{"prompt":"x","max_tokens":0}`), ""),
			[]want{nw("a", "config.max_tokens", "from 1 to")}},
		{"llm json_schema bad keyword", doc(node("a", "llm", `{"prompt":"x","json_schema":{"type":"object","properties":{"a":{"$ref":"#"}}}}`), ""),
			[]want{nw("a", "config.json_schema", `invalid answer schema: unsupported keyword "$ref" at /properties/a`)}},

		{"http ok", doc(node("a", "http", `{"method":"POST","url":"https://x.test/{{ input.id }}?k={{ secrets.K }}","headers":{"Authorization":"Bearer {{ secrets.TOKEN }}"},"body":{"id":"{{ input.id }}","token":"{{ secrets.T }}"},"expect":[200,"2xx","404"]}`), ""), nil},
		{"http url required", doc(node("a", "http", `{"method":"GET"}`), ""), []want{nw("a", "config.url", "url is required")}},
		{"http url without scheme", doc(node("a", "http", `{"url":"example.com/x"}`), ""), []want{nw("a", "config.url", "must start with http:// or https://")}},
		{"http url other scheme", doc(node("a", "http", `{"url":"ftp://{{ input.host }}/x"}`), ""), []want{nw("a", "config.url", "must start with http:// or https://")}},
		{"http url from an expression", doc(node("a", "http", `{"url":"{{ input.base }}/x"}`), ""), nil},
		{"http method unknown", doc(node("a", "http", `{"url":"https://x.test","method":"FETCH"}`), ""),
			[]want{nw("a", "config.method", `method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, not "FETCH"`)}},
		{"http header template error", doc(node("a", "http", `{"url":"https://x.test","headers":{"Authorization":"Bearer {{ secrets. }}"}}`), ""),
			[]want{nc("a", "config.headers.Authorization", 19, "")}},
		{"http header not text", doc(node("a", "http", `{"url":"https://x.test","headers":{"X-N":5}}`), ""),
			[]want{nw("a", "config.headers.X-N", "X-N must be text, not a number")}},
		{"http header name invalid", doc(node("a", "http", `{"url":"https://x.test","headers":{"Bad Name":"x"}}`), ""),
			[]want{nw("a", "config.headers.Bad Name", "not a valid header name")}},
		{"http body template error", doc(node("a", "http", `{"url":"https://x.test","body":{"a":["{{ input. }}"]}}`), ""),
			[]want{nc("a", "config.body.a[0]", 10, "")}},
		{"http body text template", doc(node("a", "http", `{"url":"https://x.test","body":"id={{ input.id }}"}`), ""), nil},
		{"http expect bad entries", doc(node("a", "http", `{"url":"https://x.test","expect":["abc",99,"6xx",201.5]}`), ""),
			[]want{nw("a", "config.expect[0]", "is not a status"), nw("a", "config.expect[1]", "is not a status"),
				nw("a", "config.expect[2]", "is not a status"), nw("a", "config.expect[3]", "is not a status")}},
		{"http expect empty", doc(node("a", "http", `{"url":"https://x.test","expect":[]}`), ""),
			[]want{nw("a", "config.expect", "at least one status")}},
		{"http expect not a list", doc(node("a", "http", `{"url":"https://x.test","expect":"2xx"}`), ""),
			[]want{nw("a", "config.expect", "must be a list of statuses")}},

		{"approval ok", doc(node("a", "approval", `{"title":"t","instructions":"**{{ input.x }}**","assignee":"user:ann","outcomes":["sign","send_back"],"due":"24h","on_due":{"outcome":"send_back"},"form":{"type":"object","properties":{"n":{"type":"string"}}}}`), ""), nil},
		{"approval assignee template", doc(node("a", "approval", `{"title":"t","assignee":"{{ input.reviewer }}"}`), ""), nil},
		{"approval title and assignee required", doc(node("a", "approval", `{}`), ""),
			[]want{nw("a", "config.title", "title is required"), nw("a", "config.assignee", "assignee is required")}},
		{"approval assignee malformed", doc(node("a", "approval", `{"title":"t","assignee":"bob"}`), ""),
			[]want{nw("a", "config.assignee", `assignee "bob" must be user:NAME or group:NAME`)}},
		{"approval outcomes repeated and malformed", doc(node("a", "approval", `{"title":"t","assignee":"group:g","outcomes":["ok","Yes!","ok"]}`), ""),
			[]want{nw("a", "config.outcomes[1]", `outcome "Yes!" must start`), nw("a", "config.outcomes[2]", `outcome "ok" is listed twice`)}},
		{"approval outcomes empty", doc(node("a", "approval", `{"title":"t","assignee":"group:g","outcomes":[]}`), ""),
			[]want{nw("a", "config.outcomes", "outcomes is empty")}},
		{"approval outcomes not texts", doc(node("a", "approval", `{"title":"t","assignee":"group:g","outcomes":["a",2]}`), ""),
			[]want{nw("a", "config.outcomes[1]", "outcomes[1] must be text, not a number")}},
		{"approval due malformed", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"3 days"}`), ""),
			[]want{nw("a", "config.due", `due "3 days" is not a duration`)}},
		{"approval due negative", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"-1h"}`), ""),
			[]want{nw("a", "config.due", "due must be longer than zero")}},
		{"approval on_due outcome not an outcome", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":{"outcome":"maybe"}}`), ""),
			[]want{nw("a", "config.on_due.outcome", `on_due.outcome "maybe" is not one of the outcomes (approve, reject)`)}},
		{"approval on_due escalates", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":{"escalate_to":"group:managers"}}`), ""), nil},
		{"approval on_due without due", doc(node("a", "approval", `{"title":"t","assignee":"group:g","on_due":{"outcome":"reject"}}`), ""),
			[]want{nw("a", "config.on_due", "on_due needs a due time")}},
		{"approval on_due both", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":{"outcome":"reject","escalate_to":"group:m"}}`), ""),
			[]want{nw("a", "config.on_due", "either outcome or escalate_to, not both")}},
		{"approval on_due neither", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":{}}`), ""),
			[]want{nw("a", "config.on_due", "needs an outcome")}},
		{"approval on_due escalate_to malformed", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":{"escalate_to":"managers"}}`), ""),
			[]want{nw("a", "config.on_due.escalate_to", "must be user:NAME or group:NAME")}},
		{"approval on_due not an object", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":"reject"}`), ""),
			[]want{nw("a", "config.on_due", "on_due must be an object, not a string")}},
		{"approval on_due unknown field", doc(node("a", "approval", `{"title":"t","assignee":"group:g","due":"1h","on_due":{"outcome":"reject","after":"1h"}}`), ""),
			[]want{nw("a", "config.on_due.after", `unknown field "on_due.after" for an approval node; expected one of outcome, escalate_to`)}},
		{"approval form bad keyword", doc(node("a", "approval", `{"title":"t","assignee":"group:g","form":{"type":"object","properties":{"n":{"type":"string","pattern":"x"}}}}`), ""),
			[]want{nw("a", "config.form", `invalid form schema: unsupported keyword "pattern" at /properties/n`)}},
		{"approval form not an object schema", doc(node("a", "approval", `{"title":"t","assignee":"group:g","form":{"type":"array"}}`), ""),
			[]want{nw("a", "config.form", "must describe an object")}},

		{"wait duration ok", doc(node("a", "wait", `{"duration":"10m"}`), ""), nil},
		{"wait until ok", doc(node("a", "wait", `{"until":"input.deadline"}`), ""), nil},
		{"wait neither", doc(node("a", "wait", `{}`), ""), []want{nw("a", "config.duration", "needs a duration")}},
		{"wait both", doc(node("a", "wait", `{"duration":"1m","until":"input.t"}`), ""), []want{nw("a", "config", "either duration or until, not both")}},
		{"wait duration zero", doc(node("a", "wait", `{"duration":"0s"}`), ""), []want{nw("a", "config.duration", "longer than zero")}},
		{"wait until blank", doc(node("a", "wait", `{"until":"  "}`), ""), []want{nc("a", "config.until", 1, "expression is empty")}},
		{"wait until empty is left out", doc(node("a", "wait", `{"duration":"1s","until":""}`), ""), nil},
		{"wait until does not compile", doc(node("a", "wait", `{"until":"input.t +"}`), ""), []want{nc("a", "config.until", 9, "")}},

		{"subgraph ok", doc(node("a", "subgraph", `{"graph":"child","version":2,"input":"{ x: input.x }"}`), ""), nil},
		{"subgraph latest", doc(node("a", "subgraph", `{"graph":"child","version":"latest"}`), ""), nil},
		{"subgraph graph required", doc(node("a", "subgraph", `{"version":1}`), ""), []want{nw("a", "config.graph", "graph is required")}},
		{"subgraph version zero", doc(node("a", "subgraph", `{"graph":"child","version":0}`), ""), []want{nw("a", "config.version", "1 or more")}},
		{"subgraph version word", doc(node("a", "subgraph", `{"graph":"child","version":"newest"}`), ""),
			[]want{nw("a", "config.version", `version must be a version number or "latest", not "newest"`)}},
		{"subgraph input does not compile", doc(node("a", "subgraph", `{"graph":"child","input":"{ x: }"}`), ""), []want{nc("a", "config.input", 6, "")}},

		{"retry on llm ok", doc(node("a", "llm", `{"prompt":"x"}`, `"retry":{"max_attempts":5,"initial_interval":"1s","backoff":2,"max_interval":"1m"}`, `"timeout":"30s"`), ""), nil},
		{"retry on transform", doc(node("a", "transform", `{"value":"1"}`, `"retry":{"max_attempts":2}`), ""),
			[]want{nw("a", "retry", "retry applies only to llm and http nodes, not transform nodes")}},
		{"timeout on wait", doc(node("a", "wait", `{"duration":"1s"}`, `"timeout":"5s"`), ""),
			[]want{nw("a", "timeout", "timeout applies only to llm and http nodes")}},
		{"retry values insane", doc(node("a", "http", `{"url":"https://x.test"}`, `"retry":{"max_attempts":101,"initial_interval":"soon","backoff":0.5,"max_interval":"-1s"}`), ""),
			[]want{nw("a", "retry.max_attempts", "from 1 to 100"), nw("a", "retry.initial_interval", `"soon" is not a duration`),
				nw("a", "retry.max_interval", "longer than zero"), nw("a", "retry.backoff", "from 1 to 100")}},
		{"retry max below initial", doc(node("a", "http", `{"url":"https://x.test"}`, `"retry":{"initial_interval":"1m","max_interval":"1s"}`), ""),
			[]want{nw("a", "retry.max_interval", "must not be shorter than retry.initial_interval")}},
		{"timeout malformed", doc(node("a", "http", `{"url":"https://x.test"}`, `"timeout":"forever"`), ""),
			[]want{nw("a", "timeout", `timeout "forever" is not a duration`)}},
		{"join any ok", doc(node("a", "transform", `{"value":"1"}`, `"join":"any"`), ""), nil},
		{"join unknown", doc(node("a", "transform", `{"value":"1"}`, `"join":"some"`), ""),
			[]want{nw("a", "join", `join must be "all" or "any", not "some"`)}},
		{"on_error unknown", doc(node("a", "transform", `{"value":"1"}`, `"on_error":"ignore"`), ""),
			[]want{nw("a", "on_error", `on_error must be "fail", "continue" or "hold", not "ignore"`)}},
		{"on_error continue without an error port", doc(node("a", "wait", `{"duration":"1s"}`, `"on_error":"continue"`), ""),
			[]want{nw("a", "on_error", "needs an error port, which wait nodes do not have")}},
		{"on_error hold", doc(node("a", "wait", `{"duration":"1s"}`, `"on_error":"hold"`), ""), nil},
		{"on_error continue on http", doc(node("a", "http", `{"url":"https://x.test"}`, `"on_error":"continue"`), ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}

func TestValidateEdges(t *testing.T) {
	appr := node("r", "approval", `{"title":"t","assignee":"group:g","outcomes":["sign","send_back"]}`)
	cont := node("h", "http", `{"url":"https://x.test"}`, `"on_error":"continue"`)
	fail := node("f", "http", `{"url":"https://x.test"}`)
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"edge ok", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","when":"nodes.a.output > 1"}`), nil},
		{"edge from a missing node", doc(tr("a"), `{"from":"x","to":"a"}`), []want{ew(0, "from", `comes from node "x", which does not exist`)}},
		{"edge to a missing node", doc(tr("a"), `{"from":"a","to":"x"}`), []want{ew(0, "to", `goes to node "x", which does not exist`)}},
		{"edge without ends", doc(tr("a"), `{}`), []want{ew(0, "from", "no from node"), ew(0, "to", "no to node")}},
		{"edge to itself", doc(tr("a"), `{"from":"a","to":"a"}`), []want{ew(0, "to", `connects node "a" to itself`)}},
		{"port the kind lacks", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","port":"approve"}`),
			[]want{ew(0, "port", `node "a" has no port "approve"; its ports are out, error`)}},
		{"approval outcome port ok", doc(appr+","+tr("b"), `{"from":"r","to":"b","port":"sign"}`), nil},
		{"approval default port is not an outcome", doc(appr+","+tr("b"), `{"from":"r","to":"b"}`),
			[]want{ew(0, "port", `node "r" has no port "out"; its ports are sign, send_back`)}},
		{"approval default outcomes", doc(node("r", "approval", `{"title":"t","assignee":"group:g"}`)+","+tr("b"), `{"from":"r","to":"b","port":"reject"}`), nil},
		{"error port with on_error continue", doc(cont+","+tr("b"), `{"from":"h","to":"b","port":"error"}`), nil},
		{"error port with on_error fail", doc(fail+","+tr("b"), `{"from":"f","to":"b","port":"error"}`),
			[]want{ew(0, "port", `followed only when node "f" has on_error "continue"`)}},
		{"duplicate edge", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b"},{"from":"a","to":"b","port":"out","when":"true"}`),
			[]want{ew(1, "", `duplicate edge: edges[0] already connects "a" to "b" on port "out"`)}},
		{"same ends on other ports", doc(cont+","+tr("b"), `{"from":"h","to":"b"},{"from":"h","to":"b","port":"error"}`), nil},
		{"when does not compile", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","when":"nodes.a.output >"}`),
			[]want{{edge: 0, field: "when", col: 16, msg: "unexpected token"}}},
		{"when reads a missing node", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","when":"input.x && nodes.zz.output"}`),
			[]want{{edge: 0, field: "when", col: 12, msg: `unknown node "zz"`}}},
		{"when reads a secret", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","when":"secrets.K == 'x'"}`),
			[]want{{edge: 0, field: "when", col: 1, msg: "secrets can be used only"}}},
		{"cycle", doc(tr("a")+","+tr("b")+","+tr("c")+","+tr("d"), `{"from":"a","to":"b"},{"from":"b","to":"c"},{"from":"c","to":"a"},{"from":"c","to":"d"}`),
			[]want{nw("a", "", "cycle: a → b → c → a")}},
		{"cycle named by its first node", doc(tr("b")+","+tr("a"), `{"from":"a","to":"b"},{"from":"b","to":"a"}`),
			[]want{nw("b", "", "cycle: b → a → b")}},
		{"two cycles", doc(tr("a")+","+tr("b")+","+tr("c")+","+tr("d"), `{"from":"d","to":"c"},{"from":"c","to":"d"},{"from":"a","to":"b"},{"from":"b","to":"a"}`),
			[]want{nw("a", "", "cycle: a → b → a"), nw("c", "", "cycle: c → d → c")}},
		{"diamond is no cycle", doc(tr("a")+","+tr("b")+","+tr("c")+","+tr("d"), `{"from":"a","to":"b"},{"from":"a","to":"c"},{"from":"b","to":"d"},{"from":"c","to":"d"}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}

func TestValidateSubgraphEnv(t *testing.T) {
	graphs := map[string][]string{"child": nil, "parent": {"mid"}, "mid": {"self"}, "loop_a": {"loop_b"}, "loop_b": {"loop_a"}, "self": nil}
	env := ValidateEnv{
		SelfID:       "self",
		GraphExists:  func(id string) bool { _, ok := graphs[id]; return ok },
		SubgraphDeps: func(id string) []string { return graphs[id] },
	}
	sub := func(graph string) string { return doc(node("s", "subgraph", `{"graph":"`+graph+`"}`), "") }
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"known graph", sub("child"), nil},
		{"unknown graph", sub("nope"), []want{nw("s", "config.graph", `unknown graph "nope"`)}},
		{"includes itself", sub("self"), []want{nw("s", "config.graph", "a graph cannot include itself")}},
		{"graphs include each other", sub("parent"), []want{nw("s", "config.graph", "graphs include each other: self → parent → mid → self")}},
		{"includes a loop", sub("loop_a"), []want{nw("s", "config.graph", `graph "loop_a" includes itself: loop_a → loop_b → loop_a`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), env), tt.want)
		})
	}
	t.Run("no env skips the checks", func(t *testing.T) {
		checkProblems(t, Validate(decodeGraph(t, sub("nope")), ValidateEnv{}), nil)
	})
}

func TestValidateOrder(t *testing.T) {
	text := `{"format":"v0","output":"nodes.","nodes":[` +
		tr("a") + `,{"id":"B","kind":"transform","config":{"value":"nodes.x"}},` + tr("c") +
		`],"edges":[{"from":"a","to":"zz"},{"from":"c","to":"a"},{"from":"a","to":"c"}]}`
	checkProblems(t, Validate(decodeGraph(t, text), ValidateEnv{}), []want{
		gw("format", "unknown format"),
		{edge: -1, field: "output", col: 6, msg: ""},
		nw("a", "", "cycle: a → c → a"),
		nw("B", "id", "must start with a lowercase letter"),
		nc("B", "config.value", 1, `unknown node "x"`),
		ew(0, "to", "does not exist"),
	})
}

func TestValidateLargeGraphInParallel(t *testing.T) {
	// Over parallelMin nodes, the work is split; problems must keep document order.
	g := bigGraph(3 * parallelMin)
	g.Nodes[5].Config = json.RawMessage(`{"value":"nodes.missing"}`)
	g.Nodes[2].Kind = KindTransform
	g.Nodes[2].Config = json.RawMessage(`{"value":"1 +"}`)
	last := len(g.Nodes) - 1
	g.Nodes[last].Join = "x"
	probs := Validate(g, ValidateEnv{})
	if len(probs) != 3 || probs[0].Node != "n2" || probs[1].Node != "n5" || probs[2].Node != g.Nodes[last].ID {
		t.Fatalf("problems = %+v", probs)
	}
}

func TestValidateNil(t *testing.T) {
	if probs := Validate(nil, ValidateEnv{}); len(probs) != 1 {
		t.Fatalf("problems = %+v", probs)
	}
}
