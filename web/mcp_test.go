package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"trellis/engine"
	"trellis/store"
)

// bearer adds an API token to every request of an MCP client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// mcpConnect connects the SDK's client to the app's /mcp with token ("" for none).
func mcpConnect(t *testing.T, app *testApp, token string) (*mcp.ClientSession, error) {
	t.Helper()
	hc := &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
	if token == "" {
		hc = http.DefaultClient
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "trellis-test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: app.URL + "/mcp", HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

func mcpText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestMCPServerStartsRuns: the SDK's client lists published graphs as tools and calls one:
// the run starts on the embedded server and its output comes back; input that does not fit
// comes back as a tool error naming the field; a run that outlasts the wait answers with its
// id and link; a user who may not start runs sees no tools; no token, no connection.
func TestMCPServerStartsRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	app, rc := newRunAppWith(t, engine.Deps{})
	app.Server.cfg.MCPWait = 60 * time.Second
	analyst := app.api("ana", store.RoleAnalyst)
	greet := analyst.createGraph("Greeting", greetDoc)
	analyst.publish(greet, "v1")
	slow := analyst.createGraph("Slow greeting", greetDocV2)
	analyst.publish(slow, "v1")
	analyst.createGraph("Never published", greetDoc)

	cs, err := mcpConnect(t, app, analyst.token)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.Name == greet {
			schema, _ := json.Marshal(tool.InputSchema)
			if !strings.Contains(string(schema), `"required":["name"]`) || tool.Title != "Greeting" || !strings.Contains(tool.Description, "Greets someone") {
				t.Errorf("tool %s: title %q, description %q, schema %s", tool.Name, tool.Title, tool.Description, schema)
			}
		}
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, " "), greet) || !strings.Contains(strings.Join(names, " "), slow) {
		t.Fatalf("tools = %v, want the two published graphs", names)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: greet, Arguments: map[string]any{"name": "Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	var ans mcpToolAnswer
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &ans)
	if res.IsError || ans.Status != engine.RunCompleted || fmt.Sprint(ans.Output) != "map[shout:HELLO ADA]" || ans.Version != 1 {
		t.Fatalf("call = %+v (%s), want the run's output", ans, mcpText(res))
	}
	if r := rc.waitRun(t, ans.RunID, "ended", runEnded); r.StartedBy != "ana" {
		t.Errorf("run started by %q, want the token's user", r.StartedBy)
	}

	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: greet, Arguments: map[string]any{"times": "many"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(mcpText(res), "/name") || !strings.Contains(mcpText(res), "/times") {
		t.Errorf("bad input: IsError %v, %q; want a tool error naming /name and /times", res.IsError, mcpText(res))
	}

	// A run that waits an hour outlasts the tool's wait: its id and a link come back.
	app.Server.cfg.MCPWait = 2 * time.Second
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: slow, Arguments: map[string]any{"name": "Bo"}})
	if err != nil {
		t.Fatal(err)
	}
	ans = mcpToolAnswer{}
	b, _ = json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &ans)
	if res.IsError || ans.RunID == "" || !strings.HasSuffix(ans.URL, "/runs/"+ans.RunID) || !strings.Contains(mcpText(res), "still going") {
		t.Fatalf("slow call = %+v (%s), want the run's id and link", ans, mcpText(res))
	}
	if err := rc.eng.CancelRun(ctx, ans.RunID, "test over"); err != nil {
		t.Fatal(err)
	}

	// A developer may read runs but not start them: no tools, and a call is refused.
	dev := app.api("dev", store.RoleDeveloper)
	dcs, err := mcpConnect(t, app, dev.token)
	if err != nil {
		t.Fatal(err)
	}
	if tools, err := dcs.ListTools(ctx, nil); err != nil || len(tools.Tools) != 0 {
		t.Errorf("developer's tools = %+v, %v; want none", tools, err)
	}
	if res, err := dcs.CallTool(ctx, &mcp.CallToolParams{Name: greet, Arguments: map[string]any{"name": "Ada"}}); err == nil && !res.IsError {
		t.Errorf("developer's call = %s, want it refused", mcpText(res))
	}

	if _, err := mcpConnect(t, app, ""); err == nil {
		t.Error("connected without a token")
	}
	if _, err := mcpConnect(t, app, "not-a-token"); err == nil {
		t.Error("connected with an unknown token")
	}
}
