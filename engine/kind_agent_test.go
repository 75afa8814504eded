package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/designer"
	"trellis/internal/testsvc"
)

// chatToolCalls is a Chat Completions answer that calls tools: pairs of name and arguments.
func chatToolCalls(calls ...string) chatReply {
	var tcs []any
	for i := 0; i+1 < len(calls); i += 2 {
		tcs = append(tcs, map[string]any{"id": "call_" + calls[i] + "_" + string(rune('a'+i/2)), "type": "function",
			"function": map[string]any{"name": calls[i], "arguments": calls[i+1]}})
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls",
			"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": tcs}}},
		"usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5},
	})
	return chatReply{body: string(b)}
}

// shopService is the web service the agent's tools call. Its lookup answers only once a
// refund request is in flight too, so two calls of one turn pass only if they run in
// parallel (a sequential agent would wait out the lookup's 30 s and get a 504).
type shopService struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	refund   chan struct{}
}

func newShopService(t *testing.T) *shopService {
	s := &shopService{refund: make(chan struct{})}
	var once sync.Once
	s.Server = testsvc.New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(body)))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/orders/"):
			select {
			case <-s.refund:
			case <-time.After(30 * time.Second):
				w.WriteHeader(http.StatusGatewayTimeout)
				return
			}
			io.WriteString(w, `{"id": "`+strings.TrimPrefix(r.URL.Path, "/orders/")+`", "total": 40}`)
		case r.URL.Path == "/refunds":
			once.Do(func() { close(s.refund) })
			io.WriteString(w, `{"refunded": true}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shopService) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func agentGraph(shop string, maxSteps int) string {
	return `{"nodes": [{"id": "support", "kind": "agent", "config": {
		"system": "You help customers of the shop.", "prompt": "{{ input.message }}", "max_steps": ` + jsonInt(maxSteps) + `,
		"json_schema": {"type": "object", "required": ["done"], "properties": {"done": {"type": "boolean"}}},
		"tools": [
			{"name": "lookup_order", "description": "Finds an order by id.",
			 "parameters": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
			 "http": {"url": "` + shop + `/orders/{{ args.id }}"}},
			{"name": "refund", "description": "Refunds an amount.",
			 "parameters": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}},
			 "http": {"method": "POST", "url": "` + shop + `/refunds", "body": {"amount": "{{ args.amount }}"}}},
			{"name": "check_stock", "description": "Says whether an item is in stock.", "graph": "stock", "version": 1}]}}],
		"edges": []}`
}

// stockGraph is the graph behind the check_stock tool.
const stockGraph = `{"input": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"},
	"warehouse": {"type": "string", "default": "north"}}},
	"nodes": [{"id": "check", "kind": "transform", "config": {"value": "{in_stock: input.sku == 'X', warehouse: input.warehouse}"}}],
	"edges": [], "output": "nodes.check.output"}`

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// toolMessages are the role-tool messages of a Chat Completions request: call id → content.
func toolMessages(body map[string]any) map[string]string {
	out := map[string]string{}
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if mm["role"] == "tool" {
			id, _ := mm["tool_call_id"].(string)
			c, _ := mm["content"].(string)
			out[id] = c
		}
	}
	return out
}

// TestAgentNode: on the embedded server, a model turn calls two tools at once (they run in
// parallel), the next turn names a tool that does not exist and gives arguments that do
// not fit (both go back to the model as error results, not failures), and the third
// answers in the required shape.
func TestAgentNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded server")
	}
	shop := newShopService(t)
	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		switch n {
		case 1:
			return chatToolCalls("lookup_order", `{"id":"A-7"}`, "refund", `{"amount":40}`)
		case 2:
			return chatToolCalls("teleport", `{}`, "lookup_order", `{"order":"A-7"}`, "check_stock", `{"sku":"X"}`)
		default:
			return chatAnswer("gpt-test", `{"done": true}`, 30, 4)
		}
	})
	cl := startCluster(t, t.TempDir(), Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
		Versions: memVersions{"stock@1": mustGraph(t, stockGraph)}, Logger: quietLogger()})
	id, err := cl.eng.StartRun(context.Background(), StartRunRequest{GraphID: "g", Version: 1,
		Definition: mustGraph(t, agentGraph(shop.URL, 10)), Input: map[string]any{"message": "Refund order A-7."}})
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, cl.eng, id, "ended", ended)
	if run.Status != RunCompleted {
		h, _ := cl.eng.RunHistory(context.Background(), id)
		t.Fatalf("status %s (%+v); nodes %s\n%s", run.Status, run.Error, toJSON(run.Nodes), h)
	}
	out := run.Nodes["support"].Output.(map[string]any)
	if got := toJSON(out["json"]); got != `{"done":true}` || out["steps"] != float64(3) {
		t.Errorf("output = %s", toJSON(out))
	}
	var statuses []string
	for _, c := range out["tool_calls"].([]any) {
		statuses = append(statuses, c.(map[string]any)["name"].(string)+":"+c.(map[string]any)["status"].(string))
	}
	if got := strings.Join(statuses, " "); got != "lookup_order:completed refund:completed teleport:refused lookup_order:refused check_stock:completed" {
		t.Errorf("tool calls = %s", got)
	}
	if got := toJSON(out["usage"]); got != `{"completion_tokens":14,"prompt_tokens":50}` {
		t.Errorf("usage = %s", got)
	}
	if out["cost"] == nil {
		t.Error("no cost, though every turn's model has a price")
	}
	calls := shop.calls()
	if len(calls) != 2 || !slicesContain(calls, "GET /orders/A-7 ") || !slicesContain(calls, `POST /refunds {"amount":40}`) {
		t.Errorf("shop got %q", calls)
	}

	reqs := chat.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model turns, want 3", len(reqs))
	}
	if tools := toJSON(reqs[0].body["tools"]); !strings.Contains(tools, `"name":"lookup_order"`) || !strings.Contains(tools, `"name":"refund"`) ||
		!strings.Contains(tools, `"parameters":{"properties":{"sku":{"type":"string"},"warehouse":{"default":"north","type":"string"}},"required":["sku"],"type":"object"}`) {
		t.Errorf("tools offered = %s", tools)
	}
	second := toolMessages(reqs[1].body)
	if !strings.Contains(second["call_lookup_order_a"], `"total":40`) || !strings.Contains(second["call_refund_b"], `"refunded":true`) {
		t.Errorf("results sent back = %v", second)
	}
	third := toolMessages(reqs[2].body)
	if !strings.Contains(third["call_teleport_a"], `there is no tool \"teleport\"`) && !strings.Contains(third["call_teleport_a"], `there is no tool "teleport"`) {
		t.Errorf("unknown tool's result = %q", third["call_teleport_a"])
	}
	if !strings.Contains(third["call_lookup_order_b"], "/id") {
		t.Errorf("bad arguments' result = %q, want the missing /id named", third["call_lookup_order_b"])
	}
	// The graph tool ran as the child run RUN.NODE.STEP.CALL, its schema's default filled in.
	if got := third["call_check_stock_c"]; got != `{"in_stock":true,"warehouse":"north"}` {
		t.Errorf("graph tool's result = %q", got)
	}
	if child := waitRun(t, cl.eng, id+".support.2.2", "ended", ended); child.Status != RunCompleted || child.Graph != "stock" {
		t.Errorf("child run = %+v", child)
	}
}

// TestAgentExhausted: a model that keeps calling tools stops at max_steps, on the exhausted
// port; the calls of the last turn are not run.
func TestAgentExhausted(t *testing.T) {
	shop := newShopService(t)
	close(shop.refund) // lookups need not wait here
	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		return chatToolCalls("lookup_order", `{"id":"A-`+jsonInt(n)+`"}`)
	})
	g := mustGraph(t, agentGraph(shop.URL, 2))
	g.Nodes = append(g.Nodes, designer.Node{ID: "gave_up", Kind: designer.KindTransform, Config: json.RawMessage(`{"value": "nodes.support.output.steps"}`)})
	g.Edges = append(g.Edges, designer.Edge{From: "support", To: "gave_up", Port: designer.PortExhausted})
	r := runInTestEnv(t, g, map[string]any{"message": "Where is my order?"},
		Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
			Versions: memVersions{"stock@1": mustGraph(t, stockGraph)}, Logger: quietLogger()}, nil)
	if r.state.Status != RunCompleted {
		t.Fatalf("status %s (%v); nodes %s", r.state.Status, r.err, toJSON(r.state.Nodes))
	}
	if n := r.state.Nodes["support"]; n.Port != designer.PortExhausted {
		t.Errorf("support ended on %q, want exhausted", n.Port)
	}
	if got := r.state.Nodes["gave_up"].Output; got != float64(2) {
		t.Errorf("gave_up = %v, want 2 steps", got)
	}
	if calls := shop.calls(); len(calls) != 1 || calls[0] != "GET /orders/A-1 " {
		t.Errorf("shop got %q, want only the first turn's call", calls)
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestAgentTurnRetriedAfterRateLimit: a 429 in the middle of the loop is retried after the
// provider's Retry-After, and the loop goes on where it was: the tool is not called again.
func TestAgentTurnRetriedAfterRateLimit(t *testing.T) {
	shop := newShopService(t)
	close(shop.refund)
	chat := newChatServer(t, func(n int, body map[string]any) chatReply {
		switch n {
		case 1:
			return chatToolCalls("lookup_order", `{"id":"A-7"}`)
		case 2:
			return chatReply{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "2"},
				body: `{"error": {"message": "slow down", "type": "rate_limit_error"}}`}
		default:
			return chatAnswer("gpt-test", `{"done": true}`, 30, 4)
		}
	})
	r := runInTestEnv(t, mustGraph(t, agentGraph(shop.URL, 5)), map[string]any{"message": "Where is A-7?"},
		Deps{Providers: defaultProviders(chat.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey},
			Versions: memVersions{"stock@1": mustGraph(t, stockGraph)}, Logger: quietLogger()}, nil)
	if r.state.Status != RunCompleted {
		t.Fatalf("status %s (%v); nodes %s", r.state.Status, r.err, toJSON(r.state.Nodes))
	}
	if n := len(chat.requests()); n != 3 {
		t.Errorf("%d model calls, want 3 (a turn, a 429, its retry)", n)
	}
	if calls := shop.calls(); len(calls) != 1 {
		t.Errorf("shop got %q, want one lookup", calls)
	}
	if out := r.state.Nodes["support"].Output.(map[string]any); out["steps"] != float64(2) || toJSON(out["json"]) != `{"done":true}` {
		t.Errorf("output = %s", toJSON(out))
	}
}
