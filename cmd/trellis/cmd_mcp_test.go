package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"trellis/engine"
)

func TestMCPUsageErrors(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("TRELLIS_DATA", data)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"mcp", "set", "--url", "https://x/mcp"}, "trellis: mcp set: want one server name, got 0 arguments; usage: trellis " + mcpSetSynopsis},
		{"no url", []string{"mcp", "set", "shop"}, "trellis: mcp set: --url is required"},
		{"bad name", []string{"mcp", "set", "Shop", "--url", "https://x/mcp"}, `trellis: mcp set: MCP server name "Shop" is not valid: use 1 to 32 lowercase letters, digits, '_' or '-', starting with a letter`},
		{"bad url", []string{"mcp", "set", "shop", "--url", "x/mcp"}, `trellis: mcp set: the URL of MCP server shop must be an http or https URL, not "x/mcp"`},
		{"token in url", []string{"mcp", "set", "shop", "--url", "https://a:tok@x/mcp"}, "trellis: mcp set: the URL of MCP server shop must not hold a user or password: put the token in a secret (--header-secret)"},
		{"bad secret", []string{"mcp", "set", "shop", "--url", "https://x/mcp", "--header-secret", "tok"}, `trellis: mcp set: secret name "tok" is not valid`},
		{"rm without name", []string{"mcp", "rm"}, "trellis: mcp rm: want one server name, got 0 arguments; usage: trellis " + mcpRmSynopsis},
		{"list with argument", []string{"mcp", "list", "x"}, "trellis: mcp list: takes no arguments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != 2 || stdout != "" || stderr != tt.want+"\n" {
				t.Errorf("code %d stdout %q stderr %q\nwant code 2 stderr %q", code, stdout, stderr, tt.want)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed command created the data dir (%v)", err)
			}
		})
	}
}

func TestMCPSetListRm(t *testing.T) {
	dir := t.TempDir()
	for _, st := range []struct {
		name         string
		args         []string
		code         int
		stdout, errs string
	}{
		{"empty list", []string{"mcp", "list", "--data", dir}, 0,
			"no MCP servers; configure one with: trellis mcp set NAME --url https://mcp.example.com/mcp [--header-secret SECRET]\n", ""},
		{"set with a secret not yet set", []string{"mcp", "set", "shop", "--url", "https://shop.example/mcp", "--header-secret", "SHOP_MCP", "--data", dir}, 0,
			"MCP server shop set: https://shop.example/mcp\nnote: secret SHOP_MCP is not set yet; set it with: trellis secret set SHOP_MCP --value-stdin\n", ""},
		{"set open", []string{"mcp", "set", "docs", "--url", "http://127.0.0.1:8811/mcp", "--data", dir}, 0, "MCP server docs set: http://127.0.0.1:8811/mcp\n", ""},
		{"list", []string{"mcp", "list", "--data", dir}, 0,
			"NAME  URL                        HEADER SECRET\ndocs  http://127.0.0.1:8811/mcp  -\nshop  https://shop.example/mcp   SHOP_MCP\n", ""},
		{"rm unknown", []string{"mcp", "rm", "nope", "--data", dir}, 1, "", "trellis: mcp rm: MCP server \"nope\" is not configured\n"},
		{"rm", []string{"mcp", "rm", "docs", "--data", dir}, 0, "MCP server docs removed\n", ""},
	} {
		t.Run(st.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", st.args...)
			if code != st.code || stdout != st.stdout || stderr != st.errs {
				t.Errorf("got code %d stdout %q stderr %q\nwant code %d stdout %q stderr %q", code, stdout, stderr, st.code, st.stdout, st.errs)
			}
		})
	}
	db := openData(t, dir)
	got, err := engineMCP{db}.MCPServer(context.Background(), "shop")
	if err != nil || *got != (engine.MCPServerConfig{Name: "shop", URL: "https://shop.example/mcp", HeaderSecret: "SHOP_MCP"}) {
		t.Errorf("engine's view of shop = %+v, %v", got, err)
	}
	if _, err := (engineMCP{db}).MCPServer(context.Background(), "docs"); !errors.Is(err, engine.ErrMCPServerNotFound) {
		t.Errorf("removed server = %v, want ErrMCPServerNotFound", err)
	}
}
