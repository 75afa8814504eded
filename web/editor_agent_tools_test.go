package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/store"
)

// lookupOrderDoc is a small graph with an input schema, to be a graph tool.
const lookupOrderDoc = `{"format": "trellis.graph/v1", "name": "Lookup order",
	"input": {"type": "object", "required": ["order"], "properties": {"order": {"type": "string"}}},
	"nodes": [{"id": "found", "kind": "transform", "config": {"value": "{ order: input.order, status: 'shipped' }"}}],
	"edges": [], "output": "nodes.found.output"}`

// newAgentEditorApp is the editor with MCP servers: "orders" answers with one tool, any other
// server cannot be reached.
func newAgentEditorApp(t *testing.T) *testApp {
	t.Helper()
	return newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Graphs, s.Deps.MCPServers = db, db
		s.Deps.MCPTools = func(_ context.Context, server string) ([]designer.MCPToolInfo, error) {
			if server != "orders" {
				return nil, errors.New("connection refused")
			}
			return []designer.MCPToolInfo{{Name: "order_status", Description: "Says where an order is <b>now</b>.",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"order":{"type":"string"}}}`)}}, nil
		}
	}))
}

// TestEditorAgentToolsPicker: an agent's tools are a card each (a graph tool with the published
// graphs to choose from, an http tool with its arguments as rows, an MCP tool with the
// configured servers, a tool the cards cannot show as JSON); each problem the designer finds
// is shown beside the part of the tool it concerns; what users wrote is escaped.
func TestEditorAgentToolsPicker(t *testing.T) {
	app := newAgentEditorApp(t)
	ctx := context.Background()
	if err := app.DB.SetMCPServer(ctx, store.MCPServer{Name: "orders", URL: "https://orders.example/mcp"}); err != nil {
		t.Fatal(err)
	}
	ana := app.api("ana", store.RoleAnalyst)
	lookup := ana.createGraph("Lookup order", lookupOrderDoc)
	wantStatus(t, ana.send(http.MethodPost, "/graphs/"+lookup+"/versions", map[string]any{"note": "first"}), http.StatusCreated)
	id := createGraphIn(t, app, "Support", "")
	c := app.signedIn("ada", store.RoleAnalyst)

	node := rawNode(t, `{"id": "agent", "kind": "agent", "config": {"prompt": "Help.", "tools": [
		{"name": "lookup_order", "description": "", "graph": "`+lookup+`", "version": "latest"},
		{"name": "refund", "description": "<script>alert(1)</script>",
			"parameters": {"type": "object", "required": ["amount"], "properties": {
				"order": {"type": "string", "description": "The order's number"},
				"amount": {"type": "number", "minimum": 0}}},
			"http": {"method": "POST", "url": "", "headers": {"X-Key": "{{ secrets.KEY }}"}, "body": {"amount": "{{ args.amount }}"}},
			"approval": {"assignee": "finance", "due": "48h", "on_due": {"escalate_to": "group:managers"}}},
		{"name": "status", "description": "Says where.", "x_note": "kept", "mcp": {"server": "orders", "tool": "order_status"}},
		{"name": "both", "description": "Two kinds.", "graph": "x", "http": {"url": "https://x.example"}}
	]}}`)
	r := nodeForm(t, c, id, node)
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`data-control="tools"`, `data-mcp-tools-url="/graphs/` + id + `/edit/mcp-tools"`,
		`data-tool-kind="graph"`, `<option value="` + lookup + `" data-name="Lookup order" selected`,
		"The model gives the arguments of version 1&#39;s input: order (string, required).",
		`data-tool-kind="http"`, `data-testid="agent-arg-1-0"`, `data-testid="agent-arg-1-1"`, `value="The order&#39;s number"`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`, `value="X-Key"`, `value="48h"`, `value="group:managers"`,
		`<option value="escalate" selected`,
		`data-tool-kind="mcp"`, `<option value="orders" selected`,
		`data-tool-kind="json"`, `data-testid="agent-tool-add-mcp"`,
		// a JSON card says why it is one, and offers to go back to a form
		"Shown as JSON: It names more than one kind of tool: keep one of graph, http and mcp.", `data-testid="agent-tool-cards-3"`,
		// the problems, each beside its part
		`data-testid="error-config.tools.1.http.url"`, `data-testid="error-config.tools.1.approval.assignee"`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if strings.Contains(r.Body, "<script>alert") {
		t.Error("a tool's description is in the page as HTML")
	}
	errorOf := func(field string) string {
		i := strings.Index(r.Body, `data-testid="error-`+field+`"`)
		if i < 0 {
			return ""
		}
		rest := r.Body[i:]
		return rest[strings.Index(rest, ">")+1 : strings.Index(rest, "</p>")]
	}
	for field, want := range map[string]string{
		"config.tools.1.http.url":          "Url is required.",
		"config.tools.1.approval.assignee": "must be user:NAME or group:NAME",
		"config.tools.0.description":       "Description is required",
		"config.tools.2":                   "unknown field",
		"config.tools.3":                   "not both", // a JSON card has one line for all
	} {
		if got := errorOf(field); !strings.Contains(got, want) {
			t.Errorf("error of %s = %q, want %q", field, got, want)
		}
	}
	if got := errorOf("config.tools"); got != "" {
		t.Errorf("the tools' own line repeats the tools' problems: %q", got)
	}
	// The card keeps what it does not show: the script starts from the tool's JSON.
	if !strings.Contains(r.Body, `&#34;x_note&#34;:&#34;kept&#34;`) {
		t.Error("the mcp card does not carry the tool's JSON")
	}
	// A graph is not offered as a tool of itself, and tools that are not a list stay JSON.
	if strings.Contains(r.Body, `<option value="`+id+`"`) {
		t.Error("the graph itself is offered as a tool")
	}
	r = nodeForm(t, c, id, rawNode(t, `{"id": "agent", "kind": "agent", "config": {"prompt": "Help.", "tools": {"name": 1}}}`))
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.Body, `data-control="tools"`) || !strings.Contains(r.Body, `data-testid="input-config.tools"`) {
		t.Error("tools that are not a list are not shown as JSON")
	}
	r = nodeForm(t, c, id, rawNode(t, `{"id": "agent", "kind": "agent", "config": {"prompt": "Help.", "tools": []}}`))
	if !strings.Contains(r.Body, `data-testid="agent-tools-empty"`) || !strings.Contains(errorOf("config.tools"), "at least one tool") {
		t.Errorf("an agent without tools: %s", errorOf("config.tools"))
	}
}

// TestEditorMCPTools: the picker lists a configured server's tools on demand; a name that is
// not a server's, a server not configured and one that cannot be reached are clear refusals.
func TestEditorMCPTools(t *testing.T) {
	app := newAgentEditorApp(t)
	ctx := context.Background()
	for _, name := range []string{"orders", "down"} {
		if err := app.DB.SetMCPServer(ctx, store.MCPServer{Name: name, URL: "https://" + name + ".example/mcp"}); err != nil {
			t.Fatal(err)
		}
	}
	id := createGraphIn(t, app, "Support", "")
	c := app.signedIn("ada", store.RoleAnalyst)
	base := "/graphs/" + id + "/edit/mcp-tools?server="
	r := c.get(base + "orders")
	wantStatus(t, r, http.StatusOK)
	var got mcpToolsAnswer
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil || got.Server != "orders" || len(got.Tools) != 1 || got.Tools[0].Name != "order_status" {
		t.Errorf("tools = %s (%v)", r.Body, err)
	}
	wantStatus(t, c.get(base+"Bad%20Name"), http.StatusBadRequest)
	wantStatus(t, c.get(base+"nowhere"), http.StatusNotFound)
	r = c.get(base + "down")
	wantStatus(t, r, http.StatusBadGateway)
	if !strings.Contains(r.Body, "MCP server down could not be asked for its tools: connection refused") {
		t.Errorf("unreachable server: %s", r.Body)
	}
	wantStatus(t, c.get("/graphs/no-such-graph/edit/mcp-tools?server=orders"), http.StatusNotFound)
	wantStatus(t, app.signedIn("rev", store.RoleReviewer).get(base+"orders"), http.StatusForbidden)
}
