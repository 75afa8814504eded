package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"trellis/engine"
	"trellis/internal/testsvc"
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

// TestServeMCPTools is the wiring in serve: an MCP server set with the CLI (a real one, the
// SDK's, behind a bearer secret) has its tool pinned when a graph is published through the
// API; a graph naming a server that is not configured is a 422 naming it; remote workers
// read the server through the internal API.
func TestServeMCPTools(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "orders", Version: "1"}, nil)
	type in struct {
		Order string `json:"order"`
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "order_status", Description: "Says where an order is."},
		func(context.Context, *mcp.CallToolRequest, in) (*mcp.CallToolResult, any, error) {
			return nil, "shipped", nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	svc := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer mcp-s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
	data := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "worker.token")
	ctx, cancel := context.WithCancel(context.Background())
	app := startServe(t, ctx, data, "--worker-token-file", tokenFile, "--http-allow-private")
	// Serve must have stopped before the data dir is removed.
	defer func() {
		cancel()
		app.waitStopped(t)
	}()
	for _, args := range [][]string{
		{"mcp", "set", "orders", "--url", svc.URL + "/mcp", "--header-secret", "MCP_TOKEN", "--data", data},
		{"secret", "set", "MCP_TOKEN", "--value-stdin", "--data", data},
	} {
		if code, _, errOut := runCLI(t, "mcp-s3cret\n", args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	ana := cliTokens(t, data, "analyst")["analyst"]
	doc := func(server string) map[string]any {
		return map[string]any{"format": "trellis.graph/v1", "name": "Order agent " + server, "nodes": []any{map[string]any{
			"id": "agent", "kind": "agent", "config": map[string]any{"prompt": "Where is my order?", "tools": []any{map[string]any{
				"name": "status", "description": "Where an order is.", "mcp": map[string]any{"server": server, "tool": "order_status"}}}}}},
			"edges": []any{}}
	}
	g := app.api(t, ana, http.MethodPost, "/graphs", map[string]any{"name": "Order agent", "definition": doc("orders")}, http.StatusCreated)
	gid, _ := g["id"].(string)
	app.api(t, ana, http.MethodPost, "/graphs/"+gid+"/versions", map[string]any{"note": "first"}, http.StatusCreated)
	v := app.api(t, ana, http.MethodGet, "/graphs/"+gid+"/versions/1", nil, http.StatusOK)
	if def, _ := json.Marshal(v); !strings.Contains(string(def), `"parameters":{`) || !strings.Contains(string(def), `"order"`) {
		t.Errorf("published definition = %s, want the tool's schema pinned", def)
	}
	g = app.api(t, ana, http.MethodPost, "/graphs", map[string]any{"name": "Order agent nowhere", "definition": doc("nowhere")}, http.StatusCreated)
	gid, _ = g["id"].(string)
	refused := app.api(t, ana, http.MethodPost, "/graphs/"+gid+"/versions", map[string]any{"note": "first"}, http.StatusUnprocessableEntity)
	if b, _ := json.Marshal(refused); !strings.Contains(string(b), `MCP server nowhere`) {
		t.Errorf("publish with an unknown server = %s", b)
	}

	token, err := readWorkerToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newServeClient(app.url+"/", token)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sc.MCPServer(ctx, "orders")
	if err != nil || m.URL != svc.URL+"/mcp" || m.HeaderSecret != "MCP_TOKEN" {
		t.Errorf("server through the internal API = %+v, %v", m, err)
	}
	if _, err := sc.MCPServer(ctx, "nope"); !errors.Is(err, engine.ErrMCPServerNotFound) {
		t.Errorf("unknown server: %v, want ErrMCPServerNotFound", err)
	}
}
