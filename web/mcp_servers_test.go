package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"trellis/designer"
	"trellis/store"
)

// TestMCPServersPage: an admin adds an MCP server (a bad URL comes back inline, nothing
// saved), sees it listed with its token secret marked not set, lists its tools as
// publishing would, and deletes it.
func TestMCPServersPage(t *testing.T) {
	var asked []string
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.MCPServers = db
		s.Deps.MCPTools = func(_ context.Context, server string) ([]designer.MCPToolInfo, error) {
			asked = append(asked, server)
			if server != "orders" {
				return nil, errors.New("connection refused")
			}
			return []designer.MCPToolInfo{{Name: "order_status", Description: "Says where an order is.",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"order":{"type":"string"}}}`)}}, nil
		}
	}))
	admin := app.signedIn("root", store.RoleAdmin)
	page := admin.get("/admin/mcp-servers")
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, `data-testid="mcp-empty"`) {
		t.Error("no empty state")
	}
	r := admin.postForm("/admin/mcp-servers", url.Values{"name": {"orders"}, "url": {"ftp://x/mcp"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, "must be an http or https URL") || !strings.Contains(r.Body, `value="ftp://x/mcp"`) {
		t.Errorf("refused form = %s", r.Body)
	}
	if list, _ := app.DB.ListMCPServers(context.Background()); len(list) != 0 {
		t.Fatalf("a refused form saved %+v", list)
	}
	r = admin.postForm("/admin/mcp-servers", url.Values{"name": {"orders"}, "url": {"https://orders.example/mcp"}, "header_secret": {"ORDERS_MCP"}})
	wantStatus(t, r, http.StatusSeeOther)
	page = admin.get(r.Header.Get("Location"))
	for _, want := range []string{`data-testid="mcp-saved"`, "https://orders.example/mcp", `data-testid="mcp-token-missing-orders"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("page after saving lacks %s", want)
		}
	}
	page = admin.get("/admin/mcp-servers?tools=orders")
	if !strings.Contains(page.Body, `data-testid="mcp-tool-order_status"`) || !strings.Contains(page.Body, "Says where an order is.") {
		t.Errorf("tools section = %s", page.Body)
	}
	if page = admin.get("/admin/mcp-servers?tools=nowhere"); len(asked) != 1 || strings.Contains(page.Body, `data-testid="mcp-tools"`) {
		t.Errorf("a server that is not configured was asked (%v)", asked)
	}
	edit := admin.get("/admin/mcp-servers?edit=orders")
	if !strings.Contains(edit.Body, "Edit MCP server orders") || !strings.Contains(edit.Body, `<option value="ORDERS_MCP" selected`) {
		t.Errorf("edit form = %s", edit.Body)
	}
	wantStatus(t, admin.get("/admin/mcp-servers?edit=nope"), http.StatusNotFound)
	r = admin.postForm("/admin/mcp-servers/orders/delete", nil)
	wantStatus(t, r, http.StatusSeeOther)
	if list, _ := app.DB.ListMCPServers(context.Background()); len(list) != 0 {
		t.Errorf("after delete: %+v", list)
	}
	wantStatus(t, admin.postForm("/admin/mcp-servers/orders/delete", nil), http.StatusNotFound)
}

// TestDraftTestRunPinsMCPTools: a test run of a draft reads its MCP tools' schemas from their
// servers as publishing does; a server that cannot be asked is a 422 naming it.
func TestDraftTestRunPinsMCPTools(t *testing.T) {
	var asked []string
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Graphs, s.Deps.Runs = db, &recordingStarter{}
		s.Deps.MCPTools = func(_ context.Context, server string) ([]designer.MCPToolInfo, error) {
			asked = append(asked, server)
			return nil, errors.New("connection refused")
		}
	}))
	ana := app.api("ana", store.RoleAnalyst)
	g := ana.createGraph("Order agent", `{"format": "trellis.graph/v1", "name": "Order agent", "nodes": [{"id": "agent", "kind": "agent",
		"config": {"prompt": "Where is my order?", "tools": [{"name": "status", "description": "Where an order is.",
		"mcp": {"server": "nowhere", "tool": "order_status"}}]}}], "edges": []}`)
	r := ana.send(http.MethodPost, "/graphs/"+g+"/draft/runs", map[string]any{"input": map[string]any{}})
	wantAPIError(t, r, http.StatusUnprocessableEntity, "invalid")
	if !strings.Contains(r.Body, "MCP server nowhere: connection refused") || len(asked) != 1 || asked[0] != "nowhere" {
		t.Errorf("test run = %s (asked %v)", r.Body, asked)
	}
}
