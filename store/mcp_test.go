package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestMCPServers(t *testing.T) {
	db := MustOpenTest(t)
	ctx := context.Background()
	for _, bad := range []struct {
		s    MCPServer
		want string
	}{
		{MCPServer{Name: "Shop", URL: "https://x/mcp"}, `MCP server name "Shop" is not valid`},
		{MCPServer{Name: "shop"}, "needs a URL"},
		{MCPServer{Name: "shop", URL: "ftp://x/mcp"}, "must be an http or https URL"},
		{MCPServer{Name: "shop", URL: "https://ann:pw@x/mcp"}, "must not hold a user or password"},
		{MCPServer{Name: "shop", URL: "https://x/mcp", HeaderSecret: "lower"}, `secret name "lower" is not valid`},
	} {
		if err := db.SetMCPServer(ctx, bad.s); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want invalid saying %q", bad.s, err, bad.want)
		}
	}
	if err := db.SetMCPServer(ctx, MCPServer{Name: "shop", URL: " https://shop.example/mcp ", HeaderSecret: "SHOP_MCP"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMCPServer(ctx, MCPServer{Name: "docs", URL: "http://127.0.0.1:9/mcp"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMCPServer(ctx, MCPServer{Name: "shop", URL: "https://shop.example/v2/mcp", HeaderSecret: "SHOP_MCP"}); err != nil {
		t.Fatal(err)
	}
	s, err := db.GetMCPServer(ctx, "shop")
	if err != nil || s.URL != "https://shop.example/v2/mcp" || s.HeaderSecret != "SHOP_MCP" || s.UpdatedAt.IsZero() {
		t.Errorf("shop = %+v, %v", s, err)
	}
	list, err := db.ListMCPServers(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "docs" || list[1].Name != "shop" {
		t.Errorf("list = %+v, %v", list, err)
	}
	if err := db.DeleteMCPServer(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteMCPServer(ctx, "docs"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
	if _, err := db.GetMCPServer(ctx, "docs"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `MCP server "docs" is not configured`) {
		t.Errorf("get deleted = %v", err)
	}
}
