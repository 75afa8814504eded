package designer

import (
	"strings"
	"testing"
)

func TestValidateMap(t *testing.T) {
	mapNode := func(config string) string { return doc(node("m", "map", config), "") }
	inline := func(body string, extra ...string) string {
		return mapNode(`{"items":"input.docs","node":` + body + strings.Join(extra, "") + `}`)
	}
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"inline transform reads item and index", inline(`{"kind":"transform","config":{"value":"{ n: index, v: item.x }"}}`), nil},
		{"inline http with retry", inline(`{"kind":"http","config":{"url":"https://x.test/{{ item.id }}"},"retry":{"max_attempts":2},"timeout":"5s"}`), nil},
		{"graph body with input", mapNode(`{"items":"input.docs","graph":"child","version":2,"input":"{ doc: item, at: index }"}`), nil},
		{"items required", mapNode(`{"node":{"kind":"transform","config":{"value":"item"}}}`),
			[]want{nw("m", "config.items", "items is required")}},
		{"items does not compile", mapNode(`{"items":"input.docs +","node":{"kind":"transform","config":{"value":"item"}}}`),
			[]want{nc("m", "config.items", 12, "unexpected token")}},
		{"items may not read item", mapNode(`{"items":"item.list","node":{"kind":"transform","config":{"value":"1"}}}`),
			[]want{nc("m", "config.items", 1, "item can be used only in a map node's body")}},
		{"no body", mapNode(`{"items":"input.docs"}`),
			[]want{nw("m", "config.node", "a map needs a body")}},
		{"both bodies", mapNode(`{"items":"input.docs","graph":"child","node":{"kind":"transform","config":{"value":"1"}}}`),
			[]want{nw("m", "config.node", "either node (one step) or graph, not both")}},
		{"input without a graph", inline(`{"kind":"transform","config":{"value":"1"}}`, `,"input":"item"`),
			[]want{nw("m", "config.input", "input applies only to a graph body")}},
		{"node not an object", mapNode(`{"items":"input.docs","node":"llm"}`),
			[]want{nw("m", "config.node", "node must be an object")}},
		{"inline kind missing", inline(`{"config":{}}`), []want{nw("m", "config.node.kind", "the map's node has no kind")}},
		{"inline kind not allowed", inline(`{"kind":"wait","config":{"duration":"1s"}}`),
			[]want{nw("m", "config.node.kind", `may be llm, http, transform, approval, not "wait"`)}},
		{"inline kind map not allowed", inline(`{"kind":"map","config":{}}`),
			[]want{nw("m", "config.node.kind", `not "map"`)}},
		{"inline unknown member", inline(`{"kind":"transform","colour":1,"config":{"value":"1"}}`),
			[]want{nw("m", "config.node.colour", `unknown field "colour" for a map's node`)}},
		{"inline config checked by its kind", inline(`{"kind":"http","config":{"url":"ftp://x"}}`),
			[]want{nw("m", "config.node.config.url", "url must start with http:// or https://")}},
		{"inline required field", inline(`{"kind":"llm","config":{}}`),
			[]want{nw("m", "config.node.config.prompt", "prompt is required")}},
		{"inline template column", inline(`{"kind":"llm","config":{"prompt":"Doc {{ item. }}"}}`),
			[]want{nc("m", "config.node.config.prompt", 13, "")}},
		{"inline reads state", inline(`{"kind":"transform","config":{"value":"state"}}`),
			[]want{nc("m", "config.node.config.value", 1, "state can be used only in a loop node's until")}},
		{"inline reads its own map", inline(`{"kind":"transform","config":{"value":"nodes.m.output"}}`),
			[]want{nc("m", "config.node.config.value", 1, `node "m" reads its own result`)}},
		{"inline retry on approval", inline(`{"kind":"approval","config":{"title":"t","assignee":"group:g"},"retry":{"max_attempts":2}}`),
			[]want{nw("m", "config.node.retry", "retry applies only to llm and http nodes, not approval nodes")}},
		{"inline bad timeout", inline(`{"kind":"http","config":{"url":"https://x.test"},"timeout":"soon"}`),
			[]want{nw("m", "config.node.timeout", `timeout "soon" is not a duration`)}},
		{"inline retry ill-typed", inline(`{"kind":"http","config":{"url":"https://x.test"},"retry":{"max_attempts":"2"}}`),
			[]want{nw("m", "config.node", "node must be {kind, config, retry, timeout}")}},
		{"concurrency 0", inline(`{"kind":"transform","config":{"value":"1"}}`, `,"concurrency":0`),
			[]want{nw("m", "config.concurrency", "concurrency must be from 1 to 100, not 0")}},
		{"concurrency 101", inline(`{"kind":"transform","config":{"value":"1"}}`, `,"concurrency":101`),
			[]want{nw("m", "config.concurrency", "concurrency must be from 1 to 100, not 101")}},
		{"concurrency 100", inline(`{"kind":"transform","config":{"value":"1"}}`, `,"concurrency":100`), nil},
		{"concurrency not whole", inline(`{"kind":"transform","config":{"value":"1"}}`, `,"concurrency":1.5`),
			[]want{nw("m", "config.concurrency", "concurrency must be a whole number")}},
		{"on_item_error unknown", inline(`{"kind":"transform","config":{"value":"1"}}`, `,"on_item_error":"skip"`),
			[]want{nw("m", "config.on_item_error", "on_item_error must be one of fail, continue")}},
		{"graph body input reads state", mapNode(`{"items":"input.docs","graph":"child","input":"state"}`),
			[]want{nc("m", "config.input", 1, "state can be used only in a loop node's until")}},
		{"item outside a map", doc(node("t", "transform", `{"value":"item"}`), ""),
			[]want{nc("t", "config.value", 1, "item can be used only in a map node's body")}},
		{"index in an edge", doc(tr("a")+","+tr("b"), `{"from":"a","to":"b","when":"index > 0"}`),
			[]want{{node: "", edge: 0, field: "when", col: 1, msg: "index can be used only in a map node's body"}}},
		{"unknown name in a body lists item and index", inline(`{"kind":"transform","config":{"value":"foo"}}`),
			[]want{nc("m", "config.node.config.value", 1, `unknown name "foo"; expressions can read input, nodes, run, item and index`)}},
		{"map node retry", doc(node("m", "map", `{"items":"input.docs","node":{"kind":"transform","config":{"value":"1"}}}`, `"retry":{"max_attempts":2}`), ""),
			[]want{nw("m", "retry", "retry applies only to llm and http nodes, not map nodes")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}

func TestValidateLoop(t *testing.T) {
	loop := func(config string) string { return doc(node("l", "loop", config), "") }
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"ok", loop(`{"graph":"body","init":"{ n: input.n }","until":"state.done || iteration >= 3","max_iterations":5}`), nil},
		{"until optional", loop(`{"graph":"body","max_iterations":5}`), nil},
		{"max_iterations required", loop(`{"graph":"body"}`),
			[]want{nw("l", "config.max_iterations", "max_iterations is required")}},
		{"max_iterations 0", loop(`{"graph":"body","max_iterations":0}`),
			[]want{nw("l", "config.max_iterations", "max_iterations must be from 1 to 1000, not 0")}},
		{"max_iterations 1001", loop(`{"graph":"body","max_iterations":1001}`),
			[]want{nw("l", "config.max_iterations", "max_iterations must be from 1 to 1000, not 1001")}},
		{"max_iterations 1000", loop(`{"graph":"body","max_iterations":1000}`), nil},
		{"max_iterations text", loop(`{"graph":"body","max_iterations":"4"}`),
			[]want{nw("l", "config.max_iterations", "max_iterations must be a whole number, not a string")}},
		{"graph required", loop(`{"max_iterations":2}`), []want{nw("l", "config.graph", "graph is required")}},
		{"inline node not allowed", loop(`{"graph":"body","max_iterations":2,"node":{}}`),
			[]want{nw("l", "config.node", `unknown field "node" for a loop node`)}},
		{"until does not compile", loop(`{"graph":"body","max_iterations":2,"until":"state.("}`),
			[]want{nc("l", "config.until", 7, "")}},
		{"init does not compile", loop(`{"graph":"body","max_iterations":2,"init":"{ a: }"}`),
			[]want{nc("l", "config.init", 6, "")}},
		{"init may not read state", loop(`{"graph":"body","max_iterations":2,"init":"state"}`),
			[]want{nc("l", "config.init", 1, "state can be used only in a loop node's until")}},
		{"until may not read item", loop(`{"graph":"body","max_iterations":2,"until":"item"}`),
			[]want{nc("l", "config.until", 1, "item can be used only in a map node's body")}},
		{"until unknown name", loop(`{"graph":"body","max_iterations":2,"until":"done"}`),
			[]want{nc("l", "config.until", 1, `unknown name "done"; expressions can read input, nodes, run, state and iteration`)}},
		{"exhausted port", doc(node("l", "loop", `{"graph":"body","max_iterations":2}`)+","+tr("m"), `{"from":"l","to":"m","port":"exhausted"}`), nil},
		{"map has no exhausted port", doc(node("l", "map", `{"items":"input.l","graph":"body"}`)+","+tr("m"), `{"from":"l","to":"m","port":"exhausted"}`),
			[]want{ew(0, "port", `node "l" has no port "exhausted"; its ports are out, error`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), ValidateEnv{}), tt.want)
		})
	}
}

// TestValidateBodyGraphEnv: map and loop bodies are checked as subgraphs are: the graph
// exists, is not this one, and graphs do not include each other through any of the three.
func TestValidateBodyGraphEnv(t *testing.T) {
	graphs := map[string][]string{"body": nil, "parent": {"mid"}, "mid": {"self"}, "self": nil}
	env := ValidateEnv{
		SelfID:       "self",
		GraphExists:  func(id string) bool { _, ok := graphs[id]; return ok },
		SubgraphDeps: func(id string) []string { return graphs[id] },
	}
	mapOf := func(graph string) string {
		return doc(node("m", "map", `{"items":"input.l","graph":"`+graph+`"}`), "")
	}
	loopOf := func(graph string) string {
		return doc(node("l", "loop", `{"graph":"`+graph+`","max_iterations":3}`), "")
	}
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{"map known", mapOf("body"), nil},
		{"map unknown", mapOf("nope"), []want{nw("m", "config.graph", `unknown graph "nope"`)}},
		{"map of itself", mapOf("self"), []want{nw("m", "config.graph", "a graph cannot include itself")}},
		{"map chain", mapOf("parent"), []want{nw("m", "config.graph", "graphs include each other: self → parent → mid → self")}},
		{"loop unknown", loopOf("nope"), []want{nw("l", "config.graph", `unknown graph "nope"`)}},
		{"loop chain", loopOf("parent"), []want{nw("l", "config.graph", "graphs include each other: self → parent → mid → self")}},
		{"inline map asks nothing", doc(node("m", "map", `{"items":"input.l","node":{"kind":"transform","config":{"value":"1"}}}`), ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, Validate(decodeGraph(t, tt.doc), env), tt.want)
		})
	}
}

func TestResolveBodyVersions(t *testing.T) {
	g := decodeGraph(t, doc(node("m", "map", `{"items":"x","graph":"body","version":"latest"}`)+","+
		node("l", "loop", `{"graph":"body","max_iterations":2}`)+","+
		node("i", "map", `{"items":"x","node":{"kind":"transform","config":{"value":"1"}}}`)+","+
		node("n", "loop", `{"graph":"never","max_iterations":2}`), ""))
	probs := ResolveSubgraphVersions(g, func(id string) (int, bool) { return 7, id == "body" })
	checkProblems(t, probs, []want{nw("n", "config.version", `graph "never" has no published version`)})
	for _, id := range []string{"m", "l"} {
		n, _ := g.NodeByID(id)
		if !strings.Contains(string(n.Config), `"version":7`) {
			t.Errorf("node %s config = %s, want version 7", id, n.Config)
		}
	}
	if n, _ := g.NodeByID("i"); strings.Contains(string(n.Config), "version") {
		t.Errorf("an inline map got a version: %s", n.Config)
	}
}
