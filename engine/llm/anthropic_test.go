package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newAnthropic(t *testing.T, p *provider, base string) *Client {
	t.Helper()
	c, err := New(Config{Kind: KindAnthropic, BaseURL: p.srv.URL + base, APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnthropicSuccess(t *testing.T) {
	tests := []struct {
		name, base string
	}{
		{"documented base URL", ""},
		{"base URL ending in /v1", "/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, reply{body: anthropicText("claude-sonnet-4-5-20250929", 25, 4, "Hello", " there.")})
			c := newAnthropic(t, p, tt.base)
			resp, err := c.Complete(context.Background(), Request{Model: "claude-sonnet-4-5", System: "Be brief.", Prompt: "Say hello.", Temperature: ptr(0.0)})
			if err != nil {
				t.Fatal(err)
			}
			want := &Response{Text: "Hello there.", Model: "claude-sonnet-4-5-20250929",
				Usage: Usage{PromptTokens: 25, CompletionTokens: 4}, StopReason: "end_turn", Calls: 1}
			if !reflect.DeepEqual(resp, want) {
				t.Errorf("response = %+v\nwant       %+v", resp, want)
			}
			r := p.requests()[0]
			if r.method != http.MethodPost || r.path != "/v1/messages" {
				t.Errorf("request %s %s, want POST /v1/messages", r.method, r.path)
			}
			if r.header.Get("X-Api-Key") != testKey || r.header.Get("Anthropic-Version") != "2023-06-01" {
				t.Errorf("headers x-api-key %q anthropic-version %q", r.header.Get("X-Api-Key"), r.header.Get("Anthropic-Version"))
			}
			if r.header.Get("Authorization") != "" {
				t.Error("Authorization header sent to Anthropic")
			}
			wantBody := map[string]any{
				"model": "claude-sonnet-4-5", "max_tokens": float64(DefaultMaxTokens), "system": "Be brief.",
				"temperature": 0.0,
				"messages": []any{map[string]any{"role": "user",
					"content": []any{map[string]any{"type": "text", "text": "Say hello."}}}},
			}
			if !reflect.DeepEqual(r.body, wantBody) {
				t.Errorf("body = %s\nwant   %s", jsonText(t, r.body), jsonText(t, wantBody))
			}
		})
	}
}

func TestAnthropicMaxTokens(t *testing.T) {
	p := newProvider(t, reply{body: anthropicText("claude", 1, 1, "x")})
	c := newAnthropic(t, p, "")
	if _, err := c.Complete(context.Background(), Request{Model: "claude", Prompt: "x", MaxTokens: 300}); err != nil {
		t.Fatal(err)
	}
	r := p.requests()[0]
	if r.body["max_tokens"] != float64(300) {
		t.Errorf("max_tokens = %v, want 300", r.body["max_tokens"])
	}
	if _, ok := r.body["system"]; ok {
		t.Error("empty system sent")
	}
}

func TestAnthropicStructuredOutput(t *testing.T) {
	p := newProvider(t, reply{body: anthropicToolAnswer("claude", "toolu_01", `{"reason": "damaged", "fraud_risk": "low"}`, 30, 12)})
	c := newAnthropic(t, p, "")
	resp, err := c.Complete(context.Background(), Request{Model: "claude", Prompt: "Classify.", JSONSchema: json.RawMessage(refundSchema)})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"reason": "damaged", "fraud_risk": "low"}; !reflect.DeepEqual(resp.JSON, want) {
		t.Errorf("JSON = %#v, want %#v", resp.JSON, want)
	}
	if resp.Text != `{"reason":"damaged","fraud_risk":"low"}` || resp.StopReason != "tool_use" {
		t.Errorf("text %q stop %q", resp.Text, resp.StopReason)
	}
	r := p.requests()[0]
	var schema any
	json.Unmarshal([]byte(refundSchema), &schema)
	wantTools := []any{map[string]any{"name": "answer",
		"description": "Give your answer. Its input is the answer, in the required shape.", "input_schema": schema}}
	if !reflect.DeepEqual(r.body["tools"], wantTools) {
		t.Errorf("tools = %s\nwant    %s", jsonText(t, r.body["tools"]), jsonText(t, wantTools))
	}
	if want := map[string]any{"type": "tool", "name": "answer"}; !reflect.DeepEqual(r.body["tool_choice"], want) {
		t.Errorf("tool_choice = %v", r.body["tool_choice"])
	}
}

func TestAnthropicWrappedSchema(t *testing.T) {
	p := newProvider(t, reply{body: anthropicToolAnswer("claude", "toolu_01", `{"value": 42}`, 1, 1)})
	c := newAnthropic(t, p, "")
	resp, err := c.Complete(context.Background(), Request{Model: "claude", Prompt: "How many?", JSONSchema: json.RawMessage(`{"type": "integer"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON != float64(42) || resp.Text != "42" {
		t.Errorf("JSON %#v text %q, want 42", resp.JSON, resp.Text)
	}
	if got := jsonPath(p.requests()[0].body, "tools.0.input_schema.properties.value.type"); got != "integer" {
		t.Errorf("input_schema does not wrap the schema under value: %v", got)
	}
}

func TestAnthropicSchemaMismatchIsFedBackAsToolResult(t *testing.T) {
	p := newProvider(t,
		reply{body: anthropicToolAnswer("claude", "toolu_01", `{"reason": "damaged"}`, 30, 10)},
		reply{body: anthropicToolAnswer("claude", "toolu_02", `{"reason": "damaged", "fraud_risk": "medium"}`, 60, 10)},
	)
	c := newAnthropic(t, p, "")
	resp, err := c.Complete(context.Background(), Request{Model: "claude", Prompt: "Classify.", JSONSchema: json.RawMessage(refundSchema)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Calls != 2 || resp.Usage != (Usage{90, 20}) || jsonPath(resp.JSON, "fraud_risk") != "medium" {
		t.Errorf("response %+v", resp)
	}
	msgs := p.requests()[1].body["messages"]
	want := []any{
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Classify."}}},
		map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "tool_use", "id": "toolu_01", "name": "answer",
			"input": map[string]any{"reason": "damaged"}}}},
		map[string]any{"role": "user", "content": []any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_01", "is_error": true,
			"content": "Your answer does not fit the required JSON schema: /fraud_risk: fraud_risk is required. Answer again with only JSON that fits the schema."}}},
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages = %s\nwant       %s", jsonText(t, msgs), jsonText(t, want))
	}
}

func TestAnthropicErrors(t *testing.T) {
	tests := []struct {
		name          string
		reply         reply
		wantType      string
		wantRetryable bool
		wantAfter     time.Duration
		wantMessage   string
	}{
		{"529 overloaded with retry-after",
			reply{status: 529, header: map[string]string{"retry-after": "12"}, body: `{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}`},
			TypeServerError, true, 12 * time.Second, "the provider failed (529 Overloaded): Overloaded (retry after 12s)"},
		{"429 rate limit",
			reply{status: 429, header: map[string]string{"retry-after": "1"}, body: `{"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}}`},
			TypeRateLimited, true, time.Second, ""},
		{"401 authentication",
			reply{status: 401, body: `{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}`},
			TypeAuth, false, 0, "the provider refused the API key (401): invalid x-api-key"},
		{"404 model",
			reply{status: 404, body: `{"type": "error", "error": {"type": "not_found_error", "message": "model: claude-9"}}`},
			TypeNotFound, false, 0, `unknown model "claude-9" (404): model: claude-9`},
		{"400 invalid request",
			reply{status: 400, body: `{"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: must be greater than 0"}}`},
			TypeBadRequest, false, 0, "the provider rejected the request (400 Bad Request): max_tokens: must be greater than 0"},
		{"refusal",
			reply{body: anthropicMessageJSON("claude", "refusal", []any{}, 1, 0)},
			TypeRefused, false, 0, "the model refused to answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.reply)
			c := newAnthropic(t, p, "")
			_, err := c.Complete(context.Background(), Request{Model: "claude-9", Prompt: "hi"})
			e := mustError(t, err)
			if e.Type != tt.wantType || e.Retryable != tt.wantRetryable || e.RetryAfter != tt.wantAfter {
				t.Errorf("error = %+v\nwant type %s retryable %v after %s", e, tt.wantType, tt.wantRetryable, tt.wantAfter)
			}
			if tt.wantMessage != "" && e.Message != tt.wantMessage {
				t.Errorf("message = %q\nwant      %q", e.Message, tt.wantMessage)
			}
			if strings.Contains(e.Message, testKey) {
				t.Error("key in message")
			}
		})
	}
}
