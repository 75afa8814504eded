package llm

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

var lookupTool = Tool{Name: "lookup_order", Description: "Finds an order by its id.",
	Parameters: map[string]any{"type": "object", "required": []any{"order_id"},
		"properties": map[string]any{"order_id": map[string]any{"type": "string"}}}}

var refundTool = Tool{Name: "refund", Description: "Refunds an amount."}

// jsonOf re-encodes a recorded request part, for comparing with what the protocol wants.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOpenAIToolCalls: tools go out as functions; two calls in one answer come back in order
// with their arguments; the next request carries the assistant's calls and one "tool"
// message per result, an error result marked so.
func TestOpenAIToolCalls(t *testing.T) {
	calls := map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "tool_calls",
			"message": map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{
				map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "lookup_order", "arguments": `{"order_id":"A-7"}`}},
				map[string]any{"id": "call_2", "type": "function", "function": map[string]any{"name": "refund", "arguments": `{"amount":40}`}},
			}}}},
		"usage": map[string]any{"prompt_tokens": 30, "completion_tokens": 9},
	}
	b, _ := json.Marshal(calls)
	p := newProvider(t, reply{body: string(b)}, reply{body: openAIAnswer("gpt-4o", `{"done":true}`, 50, 4)})
	c := newOpenAI(t, p, Config{})
	ctx := context.Background()
	req := Request{Model: "gpt-4o", System: "You help.", Prompt: "Refund order A-7.", Tools: []Tool{lookupTool, refundTool}}
	resp, err := c.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolCall{{ID: "call_1", Name: "lookup_order", Args: json.RawMessage(`{"order_id":"A-7"}`)},
		{ID: "call_2", Name: "refund", Args: json.RawMessage(`{"amount":40}`)}}
	if !reflect.DeepEqual(resp.ToolCalls, want) || resp.StopReason != "tool_calls" {
		t.Fatalf("tool calls = %+v (%s), want %+v", resp.ToolCalls, resp.StopReason, want)
	}
	first := p.requests()[0].body
	if got := jsonOf(t, first["tools"]); got != `[{"function":{"description":"Finds an order by its id.","name":"lookup_order","parameters":{"properties":{"order_id":{"type":"string"}},"required":["order_id"],"type":"object"}},"type":"function"},{"function":{"description":"Refunds an amount.","name":"refund","parameters":{"properties":{},"type":"object"}},"type":"function"}]` {
		t.Errorf("tools sent = %s", got)
	}

	// The schema does not apply to an answer that calls tools, only to the final one.
	req.JSONSchema = json.RawMessage(`{"type":"object","required":["done"],"properties":{"done":{"type":"boolean"}}}`)
	req.Messages = []Message{
		{Role: RoleAssistant, ToolCalls: resp.ToolCalls},
		{Role: RoleUser, ToolResults: []ToolResult{{CallID: "call_1", Name: "lookup_order", Content: `{"total":40}`},
			{CallID: "call_2", Name: "refund", Content: "rejected by a reviewer: too much", IsError: true}}},
	}
	final, err := c.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(final.ToolCalls) != 0 || !reflect.DeepEqual(final.JSON, map[string]any{"done": true}) {
		t.Errorf("final = %+v", final)
	}
	msgs := jsonOf(t, p.requests()[1].body["messages"])
	wantMsgs := `[{"content":"You help.","role":"system"},{"content":"Refund order A-7.","role":"user"},` +
		`{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"{\"order_id\":\"A-7\"}","name":"lookup_order"},"id":"call_1","type":"function"},{"function":{"arguments":"{\"amount\":40}","name":"refund"},"id":"call_2","type":"function"}]},` +
		`{"content":"{\"total\":40}","role":"tool","tool_call_id":"call_1"},{"content":"Error: rejected by a reviewer: too much","role":"tool","tool_call_id":"call_2"}]`
	if msgs != wantMsgs {
		t.Errorf("messages = %s\nwant       %s", msgs, wantMsgs)
	}
}

// TestAnthropicToolCalls: tools go out with input_schema; tool_use blocks come back as calls;
// the calls and results go back as tool_use and tool_result blocks; with a JSON schema beside
// the tools the model must call a tool (tool_choice any), and the answer tool is the final
// answer.
func TestAnthropicToolCalls(t *testing.T) {
	blocks := []any{
		map[string]any{"type": "text", "text": "Let me look."},
		map[string]any{"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": map[string]any{"order_id": "A-7"}},
	}
	p := newProvider(t,
		reply{body: anthropicMessageJSON("claude-x", "tool_use", blocks, 20, 5)},
		reply{body: anthropicToolAnswer("claude-x", "toolu_2", `{"done":true}`, 40, 3)})
	c := newAnthropic(t, p, "")
	ctx := context.Background()
	req := Request{Model: "claude-x", Prompt: "Refund order A-7.", Tools: []Tool{lookupTool},
		JSONSchema: json.RawMessage(`{"type":"object","required":["done"],"properties":{"done":{"type":"boolean"}}}`)}
	resp, err := c.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := []ToolCall{{ID: "toolu_1", Name: "lookup_order", Args: json.RawMessage(`{"order_id":"A-7"}`)}}
	if !reflect.DeepEqual(resp.ToolCalls, want) || resp.Text != "Let me look." || resp.Calls != 1 {
		t.Fatalf("response = %+v, want the call and the text, no schema retry", resp)
	}
	first := p.requests()[0].body
	if got := jsonOf(t, first["tool_choice"]); got != `{"type":"any"}` {
		t.Errorf("tool_choice = %s", got)
	}
	if got := jsonOf(t, first["tools"]); got != `[{"description":"Finds an order by its id.","input_schema":{"properties":{"order_id":{"type":"string"}},"required":["order_id"],"type":"object"},"name":"lookup_order"},{"description":"Give your answer. Its input is the answer, in the required shape.","input_schema":{"properties":{"done":{"type":"boolean"}},"required":["done"],"type":"object"},"name":"answer"}]` {
		t.Errorf("tools = %s", got)
	}

	req.Messages = []Message{
		{Role: RoleAssistant, Content: resp.Text, ToolCalls: resp.ToolCalls},
		{Role: RoleUser, ToolResults: []ToolResult{{CallID: "toolu_1", Name: "lookup_order", Content: "no such order", IsError: true}}},
	}
	final, err := c.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(final.JSON, map[string]any{"done": true}) || len(final.ToolCalls) != 0 {
		t.Errorf("final = %+v", final)
	}
	msgs := jsonOf(t, p.requests()[1].body["messages"])
	wantMsgs := `[{"content":[{"text":"Refund order A-7.","type":"text"}],"role":"user"},` +
		`{"content":[{"text":"Let me look.","type":"text"},{"id":"toolu_1","input":{"order_id":"A-7"},"name":"lookup_order","type":"tool_use"}],"role":"assistant"},` +
		`{"content":[{"content":"no such order","is_error":true,"tool_use_id":"toolu_1","type":"tool_result"}],"role":"user"}]`
	if msgs != wantMsgs {
		t.Errorf("messages = %s\nwant       %s", msgs, wantMsgs)
	}
}

func TestToolsRefusedBeforeSending(t *testing.T) {
	p := newProvider(t)
	c := newOpenAI(t, p, Config{})
	for _, tools := range [][]Tool{
		{{Name: "has space"}},
		{{Name: answerName}},
		{lookupTool, lookupTool},
		{{Name: "list", Parameters: map[string]any{"type": "array"}}},
	} {
		if _, err := c.Complete(context.Background(), Request{Model: "m", Prompt: "p", Tools: tools}); err == nil {
			t.Errorf("tools %+v accepted", tools)
		}
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("%d requests sent for refused tools", n)
	}
}
