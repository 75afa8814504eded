package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"trellis/engine"
	"trellis/internal/testsvc"
	"trellis/store"
)

// Browser tests of an agent's tools picker in the editor's settings panel.

// pickOption chooses value in the select id as a person does, so that its input event fires.
func (b *browser) pickOption(id, value string) {
	b.t.Helper()
	b.do("choose "+value+" in "+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.querySelector('[data-testid=%q]');
		s.focus();
		s.value = %q;
		s.dispatchEvent(new Event("input", { bubbles: true }));
		s.dispatchEvent(new Event("change", { bubbles: true }));
	})()`, id, value)))
}

// draftTools is the tools of node id in the stored draft.
func draftTools(t *testing.T, app *testApp, graphID, id string) []map[string]any {
	t.Helper()
	cfg, _ := draftNode(t, app, graphID, id)["config"].(map[string]any)
	list, _ := cfg["tools"].([]any)
	var out []map[string]any
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}

// activeToolField is the data-tool-field of the focused control.
func (b *browser) activeToolField() string {
	b.t.Helper()
	return evalJS[string](b, `document.activeElement?.dataset?.toolField || document.activeElement?.dataset?.testid || ""`)
}

// TestBrowserAgentToolsPicker builds an agent's tools with the picker: a published graph
// chosen from the list (named after it), a web request with arguments added and one removed,
// an approval whose missing assignee the designer reports beside it, an MCP server's tool
// picked from the list the server gives; a tool removed; then the graph publishes.
func TestBrowserAgentToolsPicker(t *testing.T) {
	app := newAgentEditorApp(t)
	if err := app.DB.SetMCPServer(context.Background(), store.MCPServer{Name: "orders", URL: "https://orders.example/mcp"}); err != nil {
		t.Fatal(err)
	}
	ana := app.api("ada", store.RoleAnalyst)
	lookup := ana.createGraph("Lookup order", lookupOrderDoc)
	ana.publish(lookup, "v1")
	id := createGraphIn(t, app, "Support", `{"format":"trellis.graph/v1","name":"Support","nodes":[],"edges":[]}`)
	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.click("palette-agent")
	b.waitVisible("node-agent_1")
	b.waitJS("agent form", `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "agent_1"`)
	b.typeInto("input-config.prompt", "Answer {{ input.question }}")
	b.waitVisible("agent-tools-empty")

	// A graph tool: the new card's graph list has focus; choosing fills the name.
	b.click("agent-tool-add-graph")
	b.waitVisible("agent-tool-0")
	if got := b.activeToolField(); got != "config.tools.0.graph" {
		t.Fatalf("focus after adding a graph tool is on %q", got)
	}
	b.pickOption("input-config.tools.0.graph", lookup)
	// The card is drawn again with what the graph asks of the model; focus stays on the list.
	b.waitVisible("agent-graph-args-0")
	if got := b.text("agent-graph-args-0"); !strings.Contains(got, "order (string, required)") {
		t.Fatalf("graph arguments = %q", got)
	}
	if got := b.activeToolField(); got != "config.tools.0.graph" {
		t.Fatalf("focus after choosing the graph is on %q", got)
	}
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.tools.0.name"]').value`); got != lookup {
		t.Fatalf("tool name = %q", got)
	}
	b.waitSaved()
	tools := draftTools(t, app, id, "agent_1")
	if len(tools) != 1 || tools[0]["graph"] != lookup || tools[0]["version"] != "latest" || tools[0]["description"] != "Runs the graph Lookup order." {
		t.Fatalf("tools = %v", tools)
	}

	// A web request: arguments are rows; one removed is gone from the schema.
	b.click("agent-tool-add-http")
	b.waitVisible("agent-tool-1")
	b.typeInto("input-config.tools.1.name", "refund")
	b.typeInto("input-config.tools.1.description", "Refunds an order.")
	b.typeInto("input-config.tools.1.http.url", "https://shop.example/refunds")
	// A body that is not JSON yet is flagged beside it and kept as typed until it is.
	b.typeInto("input-config.tools.1.http.body", `{"amount": `)
	b.waitVisible("error-config.tools.1.http.body")
	if got := b.text("error-config.tools.1.http.body"); !strings.Contains(got, "not valid JSON") {
		t.Fatalf("body error = %q", got)
	}
	b.typeInto("input-config.tools.1.http.body", `{"amount": "{{ args.amount }}"}`)
	b.do("body error gone", chromedp.WaitNotVisible(testID("error-config.tools.1.http.body")))
	b.click("agent-header-add-1")
	b.keys("X-Key")
	b.do("header value", chromedp.SendKeys(`[data-testid="input-config.tools.1.http.headers"] [data-part="value"]`, "{{ secrets.SHOP }}"))
	for i, arg := range []string{"amount", "note"} {
		b.click("agent-arg-add-1")
		b.waitVisible(fmt.Sprintf("agent-arg-1-%d", i))
		b.keys(arg)
	}
	b.do("amount is required", chromedp.Click(`[data-testid="agent-arg-1-0"] [data-arg-part="required"]`, chromedp.NodeVisible))
	// A second argument of the same name is flagged and not saved until renamed.
	b.click("agent-arg-add-1")
	b.waitVisible("agent-arg-1-2")
	b.keys("amount")
	b.waitVisible("error-config.tools.1.parameters")
	if got := b.text("error-config.tools.1.parameters"); !strings.Contains(got, "Two arguments are named amount") {
		t.Fatalf("parameters error = %q", got)
	}
	b.click("agent-arg-remove-1-2")
	b.do("duplicate error gone", chromedp.WaitNotVisible(testID("error-config.tools.1.parameters")))
	// Drawn again from the draft, the form shows the row as the draft has it, without the
	// problem of the text it could not hold.
	b.click("agent-arg-add-1")
	b.waitVisible("agent-arg-1-2")
	b.keys("amount")
	b.waitVisible("error-config.tools.1.parameters")
	b.do("draw the form again", chromedp.Evaluate[chromedp.Void](`window.trellisEditor.panel.show({ reload: true })`))
	// (the draft has the name as it was before its last letter: "amoun")
	b.waitJS("the form drawn again from the draft", `document.querySelector('[data-testid="agent-arg-1-2"] input')?.value === "amoun"`)
	b.do("no problem left", chromedp.WaitNotVisible(testID("error-config.tools.1.parameters")))
	b.click("agent-arg-remove-1-2")
	b.waitJS("the row removed", `document.querySelector('[data-testid="agent-arg-1-2"]') === null`)
	b.waitSaved()
	refund := draftTools(t, app, id, "agent_1")[1]
	if h, _ := refund["http"].(map[string]any); fmt.Sprint(h["body"]) != "map[amount:{{ args.amount }}]" || fmt.Sprint(h["headers"]) != "map[X-Key:{{ secrets.SHOP }}]" {
		t.Fatalf("http = %v", refund["http"])
	}
	params, _ := refund["parameters"].(map[string]any)
	props, _ := params["properties"].(map[string]any)
	if len(props) != 2 || fmt.Sprint(params["required"]) != "[amount]" {
		t.Fatalf("parameters = %v", params)
	}
	b.click("agent-arg-remove-1-1")
	b.waitJS("note gone", `document.querySelector('[data-testid="agent-arg-1-1"]') === null`)
	b.waitSaved()
	params, _ = draftTools(t, app, id, "agent_1")[1]["parameters"].(map[string]any)
	if props, _ = params["properties"].(map[string]any); len(props) != 1 || props["amount"] == nil {
		t.Fatalf("after removing note: %v", params)
	}

	// An approval without an assignee: the designer's message is beside the field.
	b.click("input-config.tools.1.approval")
	b.waitVisible("input-config.tools.1.approval.assignee")
	b.waitVisible("error-config.tools.1.approval.assignee")
	if got := b.text("error-config.tools.1.approval.assignee"); !strings.Contains(got, "ssignee is required") {
		t.Fatalf("assignee error = %q", got)
	}
	b.typeInto("input-config.tools.1.approval.assignee", "group:finance")
	b.typeInto("input-config.tools.1.approval.due", "48h")
	b.waitSaved()
	b.do("assignee error gone", chromedp.WaitNotVisible(testID("error-config.tools.1.approval.assignee")))
	if a, _ := draftTools(t, app, id, "agent_1")[1]["approval"].(map[string]any); a["assignee"] != "group:finance" || a["due"] != "48h" {
		t.Fatalf("approval = %v", a)
	}
	b.screenshot("editor-agent-tools")

	// An MCP server's tool, picked from the tools the server lists; its description is text.
	// From the keyboard: Enter on the button adds the card and focuses its server list.
	b.do("focus add mcp", chromedp.Focus(testID("agent-tool-add-mcp")))
	b.keys(kb.Enter)
	b.waitVisible("agent-tool-2")
	b.waitJS("focus on the server list", `document.activeElement?.dataset?.toolField === "config.tools.2.mcp.server"`)
	b.pickOption("input-config.tools.2.mcp.server", "orders")
	b.click("agent-mcp-list-2")
	b.waitVisible("agent-mcp-use-order_status")
	b.click("agent-mcp-use-order_status")
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.tools.2.description"]').value`); got != "Says where an order is <b>now</b>." {
		t.Fatalf("description = %q", got)
	}
	if evalJS[bool](b, `document.querySelector('#node-panel b') !== null`) {
		t.Fatal("the server's description was put into the page as HTML")
	}
	b.waitSaved()
	if m, _ := draftTools(t, app, id, "agent_1")[2]["mcp"].(map[string]any); m["server"] != "orders" || m["tool"] != "order_status" {
		t.Fatalf("mcp tool = %v", draftTools(t, app, id, "agent_1")[2])
	}

	// Remove the web request: the others move up, focus stays in the list.
	b.click("agent-tool-remove-1")
	b.waitJS("two tools", `document.querySelectorAll('[data-tool-card]').length === 2`)
	b.waitSaved()
	if tools = draftTools(t, app, id, "agent_1"); len(tools) != 2 || tools[1]["name"] != "order_status" {
		t.Fatalf("after removing: %v", tools)
	}
	if got := b.activeToolField(); got != "agent-tool-remove-1" {
		t.Fatalf("focus after removing is on %q", got)
	}
	// Removing is a step of undo and redo; the tools picked before it stay.
	b.keys("z", chromedp.ModifierCtrl)
	b.waitJS("undo brings the tool back", `document.querySelectorAll('[data-tool-card]').length === 3`)
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.tools.1.approval.due"]')?.value || ""`); got != "48h" {
		t.Fatalf("after undo the tool's due is %q", got)
	}
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.tools.2.mcp.tool"]')?.value || ""`); got != "order_status" {
		t.Fatalf("after undo the MCP tool is %q", got)
	}
	b.keys("y", chromedp.ModifierCtrl)
	b.waitJS("redo removes it again", `document.querySelectorAll('[data-tool-card]').length === 2`)
	b.waitJS("no problems", `document.querySelectorAll('[data-testid="problem"]').length === 0`)

	b.click("publish-open")
	b.waitVisible("publish-dialog")
	b.click("publish-submit")
	b.waitVisible("publish-done")
	v, err := app.DB.LatestVersion(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Nodes []struct {
			Config struct {
				Tools []json.RawMessage `json:"tools"`
			} `json:"config"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(v.Definition, &def); err != nil || len(def.Nodes) != 1 || len(def.Nodes[0].Config.Tools) != 2 {
		t.Fatalf("published %s (%v)", v.Definition, err)
	}
	if !strings.Contains(string(def.Nodes[0].Config.Tools[0]), `"version":1`) || !strings.Contains(string(def.Nodes[0].Config.Tools[1]), `"parameters"`) {
		t.Errorf("publishing did not pin the tools: %s", v.Definition)
	}
}

// TestBrowserAgentRunWithTool builds an agent with a graph tool through the picker, publishes
// it, runs it against a local model server speaking the OpenAI protocol (which calls the tool
// once, then answers) and finds the call, and the model's words of each turn, in the run's
// inspector.
func TestBrowserAgentRunWithTool(t *testing.T) {
	var toolName string
	var mu sync.Mutex
	var asked []string
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		asked = append(asked, string(b))
		name := toolName
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(b), `"role":"tool"`) {
			fmt.Fprintf(w, `{"id": "c1", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 7, "completion_tokens": 3},
				"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Let me look order A-7 up.",
				"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": %q, "arguments": "{\"order\":\"A-7\"}"}}]}}]}`, name)
			return
		}
		io.WriteString(w, `{"id": "c2", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 9, "completion_tokens": 4},
			"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Order A-7 has shipped."}}]}`)
	})
	versions := &lateVersions{}
	app, rc := newRunAppWith(t, engine.Deps{Providers: oneProvider{chat.URL}, Versions: versions})
	versions.db = app.DB
	ana := app.api("ada", store.RoleAnalyst, store.RoleDeveloper)
	lookup := ana.createGraph("Lookup order", lookupOrderDoc)
	ana.publish(lookup, "v1")
	mu.Lock()
	toolName = lookup // the picker names a graph tool after its graph
	mu.Unlock()
	id := createGraphIn(t, app, "Support", `{"format":"trellis.graph/v1","name":"Support","nodes":[],"edges":[]}`)

	b := newBrowser(t, app)
	b.viewport(1440, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.click("palette-agent")
	b.waitJS("agent form", `document.querySelector('[data-testid="node-form"]')?.dataset.nodeId === "agent_1"`)
	b.typeInto("input-config.prompt", "Where is order {{ input.order }}?")
	b.click("agent-tool-add-graph")
	b.waitVisible("input-config.tools.0.graph")
	b.pickOption("input-config.tools.0.graph", lookup)
	b.waitSaved()
	b.waitJS("no problems", `document.querySelectorAll('[data-testid="problem"]').length === 0`)
	b.click("publish-open")
	b.waitVisible("publish-dialog")
	b.click("publish-submit")
	b.waitVisible("publish-done")

	runID := ana.startRun(id, map[string]any{"order": "A-7"})
	run := rc.waitRun(t, runID, "it ends", runEnded)
	if run.Status != engine.RunCompleted {
		t.Fatalf("run ended %s: %+v", run.Status, run.Error)
	}
	mu.Lock()
	if len(asked) != 2 || !strings.Contains(asked[1], `shipped`) {
		t.Errorf("the model was asked %d times; the second time with %q", len(asked), asked[len(asked)-1])
	}
	mu.Unlock()

	b.open("/runs/" + runID + "?node=agent_1")
	b.waitVisible("inspector-tool-call-1-0")
	if got := b.text("inspector-tool-call-1-0"); !strings.Contains(got, lookup) || !strings.Contains(got, `"order":"A-7"`) {
		t.Errorf("tool call in the inspector = %q", got)
	}
	// The model's words of each turn, beside the calls of that turn.
	if got := b.text("inspector-turn-text-1"); got != "Let me look order A-7 up." {
		t.Errorf("turn 1 says %q", got)
	}
	if got := b.text("inspector-turn-text-2"); got != "Order A-7 has shipped." {
		t.Errorf("turn 2 says %q", got)
	}
	if !evalJS[bool](b, `document.querySelector('[data-testid="inspector-turn-1"] [data-testid="inspector-tool-call-1-0"]') !== null`) {
		t.Error("the tool call is not in its turn")
	}
	// The call's result as the model got it: the child run's output, folded until opened.
	b.click("inspector-tool-result-1-0")
	if got := b.text("inspector-tool-result-1-0"); !strings.Contains(got, `"status": "shipped"`) {
		t.Errorf("the call's result = %q", got)
	}
	b.screenshot("run-agent-inspector")
	// The timeline: a row per turn and per call under the agent's, the call named by its tool.
	if got := b.text("tl-row-agent_1/1/0"); !strings.Contains(got, "agent_1 · turn 1 · "+lookup) {
		t.Errorf("the tool call's timeline row says %q", got)
	}
	if !evalJS[bool](b, `[...document.querySelectorAll('.tl-names li')].map(li => li.dataset.testid).join(' ') === 'tl-row-agent_1 tl-row-agent_1/1 tl-row-agent_1/1/0 tl-row-agent_1/2'`) {
		t.Error("the agent's timeline rows are not its turns and call in order")
	}
}

// TestBrowserAgentToolsJSONBackToCard (issue 17): a tool the picker can only show as JSON says
// why; fixed to name no kind, "Show as a form" keeps it JSON and says what is still wrong;
// fixed to a graph tool, it turns back into a card, with the focus on its first field, and the
// draft has the fixed tool.
func TestBrowserAgentToolsJSONBackToCard(t *testing.T) {
	requireChromium(t)
	app := newAgentEditorApp(t)
	app.user("ada", store.RoleAnalyst)
	ana := app.api("ada", store.RoleAnalyst)
	lookup := ana.createGraph("Lookup order", lookupOrderDoc)
	ana.publish(lookup, "v1")
	id := createGraphIn(t, app, "Support", `{"format":"trellis.graph/v1","name":"Support","nodes":[{"id":"agent","kind":"agent","position":{"x":0,"y":0},
		"config":{"prompt":"Help.","tools":[{"name":"lookup","description":"Looks an order up","graph":"`+lookup+`","http":{"url":"https://x.example"}}]}}],"edges":[]}`)
	b := newBrowser(t, app)
	b.viewport(1280, 900)
	b.login("ada", testPassword)
	b.openEditor(id)
	b.selectNode("agent")
	b.waitVisible("agent-tool-json-why-0")
	if got := b.text("agent-tool-json-why-0"); !strings.Contains(got, "more than one kind") {
		t.Errorf("the JSON card says %q", got)
	}

	// Still no kind: it stays JSON and says so.
	b.typeInto("input-config.tools.0.json", `{"name": "lookup", "description": "Looks an order up"}`)
	b.click("agent-tool-cards-0")
	b.waitJS("the reason changes", `document.querySelector('[data-testid="agent-tool-json-why-0"]')?.textContent.includes("names no kind")`)
	if got := b.activeTestID(); got != "input-config.tools.0.json" {
		t.Errorf("after a refused switch the focus is on %q", got)
	}

	// A graph tool: a card again.
	b.typeInto("input-config.tools.0.json", `{"name": "lookup", "description": "Looks an order up", "graph": "`+lookup+`", "version": "latest"}`)
	b.click("agent-tool-cards-0")
	b.waitJS("a card", `document.querySelector('[data-testid="agent-tool-0"]')?.dataset.toolKind === "graph"`)
	if got := b.activeToolField(); got != "config.tools.0.name" {
		t.Errorf("after the switch the focus is on %q", got)
	}
	if got := evalJS[string](b, `document.querySelector('[data-testid="input-config.tools.0.graph"]').value`); got != lookup {
		t.Errorf("the card's graph is %q", got)
	}
	b.waitSaved()
	tools := draftTools(t, app, id, "agent")
	if len(tools) != 1 || tools[0]["graph"] != lookup || tools[0]["http"] != nil {
		t.Fatalf("stored tools = %v", tools)
	}
	b.waitJS("no problems", `document.querySelectorAll('[data-testid="problem"]').length === 0`)
}
