package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"trellis/designer"
	"trellis/internal/testsvc"
)

// memMCP is MCPServerSource over a map.
type memMCP map[string]MCPServerConfig

func (m memMCP) MCPServer(_ context.Context, name string) (*MCPServerConfig, error) {
	c, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrMCPServerNotFound, name)
	}
	return &c, nil
}

const mcpTestToken = "mcp-test-token-5521"

type orderIn struct {
	Order string `json:"order" jsonschema:"the order's id"`
}

type orderOut struct {
	Order  string `json:"order"`
	Status string `json:"status"`
}

// newOrderMCP is an MCP server from the official SDK over streamable HTTP, with one tool,
// order_status, behind a bearer token. It counts the calls that reach the tool.
func newOrderMCP(t *testing.T, calls *atomic.Int32) string {
	srv := mcp.NewServer(&mcp.Implementation{Name: "orders", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "order_status", Description: "Says where an order is."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in orderIn) (*mcp.CallToolResult, orderOut, error) {
			calls.Add(1)
			if in.Order == "none" {
				return nil, orderOut{}, errors.New("no order none")
			}
			return nil, orderOut{Order: in.Order, Status: "shipped"}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	svc := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+mcpTestToken {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
	return svc.URL + "/mcp"
}

func mcpAgentGraph(retry string) string {
	return `{"nodes": [{"id": "support", "kind": "agent"` + retry + `, "config": {"prompt": "{{ input.message }}", "max_steps": 4,
		"tools": [{"name": "status", "description": "Where an order is.", "mcp": {"server": "orders", "tool": "order_status"}}]}}],
		"edges": []}`
}

// TestAgentMCPTool: publishing pins the tool's input schema from a real MCP server (the
// SDK's, over streamable HTTP with a bearer secret); the agent calls it through the SDK's
// client as an activity, the structured result and a tool error go back to the model.
func TestAgentMCPTool(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	var calls atomic.Int32
	url := newOrderMCP(t, &calls)
	servers := memMCP{"orders": {Name: "orders", URL: url, HeaderSecret: "MCP_TOKEN"}}
	secrets := memSecrets{"OPENAI_KEY": llmTestKey, "MCP_TOKEN": mcpTestToken}
	client, err := NewMCPClient(servers, secrets, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGraph(t, mcpAgentGraph(""))
	lister := func(s string) ([]designer.MCPToolInfo, error) { return client.Tools(context.Background(), s) }
	if probs := designer.PinMCPTools(&g, lister); len(probs) > 0 {
		t.Fatalf("pin: %+v", probs)
	}
	if cfg := string(g.Nodes[0].Config); !strings.Contains(cfg, `"parameters":{"additionalProperties":false,"properties":{"order"`) {
		t.Errorf("pinned config = %s", cfg)
	}
	bad := mustGraph(t, strings.Replace(mcpAgentGraph(""), "order_status", "order_stats", 1))
	if probs := designer.PinMCPTools(&bad, lister); len(probs) != 1 || !strings.Contains(probs[0].Message, `has no tool "order_stats"; it has order_status`) {
		t.Errorf("unknown tool: %+v", probs)
	}
	gone := mustGraph(t, strings.Replace(mcpAgentGraph(""), `"server": "orders"`, `"server": "nowhere"`, 1))
	if probs := designer.PinMCPTools(&gone, lister); len(probs) != 1 || probs[0].Field != "config.tools.0.mcp.server" || !strings.Contains(probs[0].Message, "nowhere") {
		t.Errorf("unknown server: %+v", probs)
	}

	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		if n == 1 {
			return chatToolCalls("status", `{"order":"A-7"}`, "status", `{"order":"none"}`)
		}
		return chatAnswer("gpt-test", "A-7 has shipped.", 10, 3)
	})
	cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: secrets, MCPServers: servers, Logger: quietLogger()})
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "g", Version: 1, Definition: g,
		Input: map[string]any{"message": "Where is A-7?"}})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		t.Fatalf("status %s (%+v)", run.Status, run.Error)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the MCP tool ran %d times, want 2", n)
	}
	reqs := chat.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d turns", len(reqs))
	}
	if tools := toJSON(reqs[0].body["tools"]); !strings.Contains(tools, `"required":["order"]`) {
		t.Errorf("tools offered = %s, want the pinned schema", tools)
	}
	results := toolMessages(reqs[1].body)
	if got := results["call_status_a"]; got != `{"order":"A-7","status":"shipped"}` {
		t.Errorf("result = %q", got)
	}
	if got := results["call_status_b"]; !strings.Contains(got, "no order none") {
		t.Errorf("tool error's result = %q", got)
	}
	out := toJSON(run.Nodes["support"].Output)
	if !strings.Contains(out, `"error":"no order none","name":"status","status":"failed"`) {
		t.Errorf("output = %s", out)
	}
}

// TestAgentMCPServerUnreachable: a server that cannot be reached is retried, then the node
// fails naming it; one the outbound policy refuses (loopback) fails at once, never called.
func TestAgentMCPServerUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	var calls atomic.Int32
	url := newOrderMCP(t, &calls)
	closed := testsvc.Func(t, func(http.ResponseWriter, *http.Request) {})
	closed.Close()
	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		return chatToolCalls("status", `{"order":"A-7"}`)
	})
	secrets := memSecrets{"OPENAI_KEY": llmTestKey, "MCP_TOKEN": mcpTestToken}
	retry := `, "retry": {"max_attempts": 2, "initial_interval": "1s"}`
	for _, tc := range []struct {
		name, url string
		outbound  *OutboundPolicy
		want      string
	}{
		{"down", closed.URL + "/mcp", nil, "MCP server orders ("},
		{"blocked", url, &OutboundPolicy{}, "MCP server orders: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			servers := memMCP{"orders": {Name: "orders", URL: tc.url, HeaderSecret: "MCP_TOKEN"}}
			cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: secrets, MCPServers: servers,
				Outbound: tc.outbound, Logger: quietLogger()})
			g := mustGraph(t, mcpAgentGraph(retry))
			id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "g", Version: 1, Definition: g,
				Input: map[string]any{"message": "Where is A-7?"}})
			if err != nil {
				t.Fatal(err)
			}
			run := waitRun(t, cl.eng, id, "ended", ended)
			if run.Status != RunFailed || run.Error == nil || !strings.Contains(run.Error.Message, tc.want) {
				t.Errorf("run = %s %+v, want failed saying %q", run.Status, run.Error, tc.want)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the blocked server's tool ran %d times", n)
	}
}
