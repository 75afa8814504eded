package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"trellis/actions"
	"trellis/designer"
	"trellis/store/storetest"
)

const mcpAgentDoc = `{"format": "trellis.graph/v1", "name": "Support",
  "nodes": [{"id": "support", "kind": "agent", "config": {"prompt": "Help", "tools": [
    {"name": "status", "description": "Where an order is.", "mcp": {"server": "shop", "tool": "order_status"}}]}}], "edges": []}`

// TestPublishPinsMCPTools: publishing sets an MCP tool's parameters from its server's list,
// so the version keeps them; a server that cannot be asked, or no MCP client, is a 422
// naming the server; an unchanged server and draft publish nothing new.
func TestPublishPinsMCPTools(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	newGraph(t, db, "support", mcpAgentDoc)

	noClient := refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "support"})), actions.Invalid)
	if len(noClient.Graph) != 1 || noClient.Graph[0].Field != "config.tools.0.mcp.server" || !strings.Contains(noClient.Message, "MCP server shop") {
		t.Errorf("without a client = %+v", noClient)
	}
	down := true
	schema := `{"type":"object","required":["order"],"properties":{"order":{"type":"string"}}}`
	a.SetMCPTools(func(_ context.Context, server string) ([]designer.MCPToolInfo, error) {
		if down || server != "shop" {
			return nil, errors.New("connection refused")
		}
		return []designer.MCPToolInfo{{Name: "order_status", Description: "d", InputSchema: json.RawMessage(schema)}}, nil
	})
	unreachable := refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "support"})), actions.Invalid)
	if !strings.Contains(unreachable.Message, "MCP server shop: connection refused") {
		t.Errorf("unreachable = %q", unreachable.Message)
	}
	down = false
	v, err := a.Publish(ctx, actions.PublishRequest{GraphID: "support"})
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := designer.Parse(v.Definition, actions.GraphLimits)
	if err != nil {
		t.Fatal(err)
	}
	var cfg designer.AgentConfig
	if err := json.Unmarshal(g.Nodes[0].Config, &cfg); err != nil || string(cfg.Tools[0].Parameters) != schema {
		t.Errorf("published config = %s", g.Nodes[0].Config)
	}
	if h, _ := designer.Hash(g); h != v.Hash {
		t.Errorf("version hash %s is not its definition's (%s)", v.Hash, h)
	}
	refusal(t, errOf(a.Publish(ctx, actions.PublishRequest{GraphID: "support"})), actions.Conflict)
}
