package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk-test-0123456789abcdefSECRET"

const refundSchema = `{"type": "object", "required": ["reason", "fraud_risk"],
	"properties": {"reason": {"type": "string"},
	               "fraud_risk": {"type": "string", "enum": ["low", "medium", "high"]}}}`

func newOpenAI(t *testing.T, p *provider, cfg Config) *Client {
	t.Helper()
	cfg.Kind = KindOpenAI
	cfg.BaseURL = p.srv.URL + "/v1"
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestOpenAISuccess(t *testing.T) {
	p := newProvider(t, reply{body: openAIAnswer("gpt-4o-mini-2024-07-18", "Hello there.", 12, 3)})
	c := newOpenAI(t, p, Config{})
	resp, err := c.Complete(context.Background(), Request{
		Model: "gpt-4o-mini", System: "Be brief.", Prompt: "Say hello.",
		Temperature: ptr(0.2), MaxTokens: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Response{Text: "Hello there.", Model: "gpt-4o-mini-2024-07-18",
		Usage: Usage{PromptTokens: 12, CompletionTokens: 3}, StopReason: "stop", Calls: 1}
	if !reflect.DeepEqual(resp, want) {
		t.Errorf("response = %+v\nwant       %+v", resp, want)
	}

	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/v1/chat/completions" {
		t.Errorf("request %s %s, want POST /v1/chat/completions", r.method, r.path)
	}
	if got := r.header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	wantBody := map[string]any{
		"model": "gpt-4o-mini",
		"messages": []any{
			map[string]any{"role": "system", "content": "Be brief."},
			map[string]any{"role": "user", "content": "Say hello."},
		},
		"temperature": 0.2,
		"max_tokens":  float64(100),
	}
	if !reflect.DeepEqual(r.body, wantBody) {
		t.Errorf("body = %s\nwant   %s", jsonText(t, r.body), jsonText(t, wantBody))
	}
}

func TestOpenAIOmitsUnsetFields(t *testing.T) {
	p := newProvider(t, reply{body: openAIAnswer("llama3.2", "hi", 1, 1)})
	c, err := New(Config{Kind: KindOpenAI, BaseURL: p.srv.URL + "/v1/"}) // no key: a local server
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Complete(context.Background(), Request{Model: "llama3.2", Prompt: "hi"}); err != nil {
		t.Fatal(err)
	}
	r := p.requests()[0]
	if r.path != "/v1/chat/completions" {
		t.Errorf("path = %s", r.path)
	}
	if h := r.header.Get("Authorization"); h != "" {
		t.Errorf("Authorization sent without a key: %q", h)
	}
	for _, f := range []string{"temperature", "max_tokens", "response_format"} {
		if _, ok := r.body[f]; ok {
			t.Errorf("body has %s although the request did not set it", f)
		}
	}
	if n := len(r.body["messages"].([]any)); n != 1 {
		t.Errorf("%d messages, want only the user's (no empty system message)", n)
	}
}

func TestOpenAIStructuredOutput(t *testing.T) {
	tests := []struct {
		name       string
		schema     string
		answer     string
		wantStrict bool
		wantWire   string // the schema as sent; "" means the schema itself
		wantJSON   any
		wantText   string
	}{
		{
			name:   "open object is sent non-strict",
			schema: refundSchema, answer: `{"reason": "damaged", "fraud_risk": "low"}`,
			wantJSON: map[string]any{"reason": "damaged", "fraud_risk": "low"},
			wantText: `{"reason": "damaged", "fraud_risk": "low"}`,
		},
		{
			name: "closed object is sent strict",
			schema: `{"type": "object", "additionalProperties": false, "required": ["ok"],
				"properties": {"ok": {"type": "boolean", "description": "yes or no"}}}`,
			answer: `{"ok": true}`, wantStrict: true, wantJSON: map[string]any{"ok": true}, wantText: `{"ok": true}`,
		},
		{
			name:   "array is wrapped in an object",
			schema: `{"type": "array", "items": {"type": "string"}}`,
			answer: `{"value": ["a", "b"]}`, wantStrict: true,
			wantWire: `{"type": "object", "properties": {"value": {"type": "array", "items": {"type": "string"}}},
				"required": ["value"], "additionalProperties": false}`,
			wantJSON: []any{"a", "b"}, wantText: `["a","b"]`,
		},
		{
			name:   "code fence is dropped",
			schema: refundSchema, answer: "```json\n{\"reason\": \"late\", \"fraud_risk\": \"medium\"}\n```",
			wantJSON: map[string]any{"reason": "late", "fraud_risk": "medium"},
			wantText: "```json\n{\"reason\": \"late\", \"fraud_risk\": \"medium\"}\n```",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, reply{body: openAIAnswer("gpt-4o-mini", tt.answer, 20, 10)})
			c := newOpenAI(t, p, Config{})
			resp, err := c.Complete(context.Background(), Request{Model: "gpt-4o-mini", Prompt: "Classify.", JSONSchema: json.RawMessage(tt.schema)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(resp.JSON, tt.wantJSON) || resp.Text != tt.wantText {
				t.Errorf("JSON = %#v, text %q; want %#v, %q", resp.JSON, resp.Text, tt.wantJSON, tt.wantText)
			}
			format, _ := p.requests()[0].body["response_format"].(map[string]any)
			wire := tt.wantWire
			if wire == "" {
				wire = tt.schema
			}
			var wantSchema any
			json.Unmarshal([]byte(wire), &wantSchema)
			wantFormat := map[string]any{"type": "json_schema", "json_schema": map[string]any{
				"name": "answer", "strict": tt.wantStrict, "schema": wantSchema}}
			if !reflect.DeepEqual(format, wantFormat) {
				t.Errorf("response_format = %s\nwant              %s", jsonText(t, format), jsonText(t, wantFormat))
			}
		})
	}
}

func TestOpenAISchemaMismatchIsFedBack(t *testing.T) {
	p := newProvider(t,
		reply{body: openAIAnswer("gpt-4o-mini", `{"reason": "damaged", "fraud_risk": "extreme"}`, 20, 10)},
		reply{body: openAIAnswer("gpt-4o-mini", `{"reason": "damaged", "fraud_risk": "high"}`, 40, 10)},
	)
	c := newOpenAI(t, p, Config{})
	resp, err := c.Complete(context.Background(), Request{Model: "gpt-4o-mini", System: "Triage.", Prompt: "Classify.", JSONSchema: json.RawMessage(refundSchema)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Calls != 2 || resp.Usage != (Usage{PromptTokens: 60, CompletionTokens: 20}) {
		t.Errorf("calls %d, usage %+v; want 2 calls and the usage of both", resp.Calls, resp.Usage)
	}
	if got := jsonPath(resp.JSON, "fraud_risk"); got != "high" {
		t.Errorf("fraud_risk = %v, want the fixed answer", got)
	}
	msgs, _ := p.requests()[1].body["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("second request has %d messages, want system, user, assistant, user: %s", len(msgs), jsonText(t, msgs))
	}
	if jsonPath(msgs, "2.role") != "assistant" || jsonPath(msgs, "2.content") != `{"reason": "damaged", "fraud_risk": "extreme"}` {
		t.Errorf("third message is not the rejected answer: %s", jsonText(t, msgs[2]))
	}
	fb, _ := jsonPath(msgs, "3.content").(string)
	if jsonPath(msgs, "3.role") != "user" || !strings.Contains(fb, "fraud_risk must be one of low, medium, high") {
		t.Errorf("feedback = %q, want the validation error", fb)
	}
}

func TestOpenAISchemaMismatchGivesUp(t *testing.T) {
	bad := reply{body: openAIAnswer("gpt-4o-mini", `{"reason": 3}`, 1, 1)}
	tests := []struct {
		name      string
		retries   int
		wantCalls int
	}{
		{"default retries", 0, 3},
		{"one retry", 1, 2},
		{"no retries", -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replies := make([]reply, tt.wantCalls)
			for i := range replies {
				replies[i] = bad
			}
			p := newProvider(t, replies...)
			c := newOpenAI(t, p, Config{SchemaRetries: tt.retries})
			_, err := c.Complete(context.Background(), Request{Model: "m", Prompt: "x", JSONSchema: json.RawMessage(refundSchema)})
			e := mustError(t, err)
			if e.Type != TypeSchemaMismatch || e.Retryable {
				t.Errorf("error %+v, want a non-retryable schema mismatch", e)
			}
			if !strings.Contains(e.Message, "did not match the JSON schema") || !strings.Contains(e.Message, "fraud_risk is required") {
				t.Errorf("message = %q", e.Message)
			}
			if n := len(p.requests()); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name          string
		reply         reply
		wantType      string
		wantRetryable bool
		wantStatus    int
		wantAfter     time.Duration
		wantMessage   string
	}{
		{"429 with Retry-After seconds",
			reply{status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}`},
			TypeRateLimited, true, 429, 7 * time.Second, "rate limited by the provider (429): Rate limit reached for requests (retry after 7s)"},
		{"429 with retry-after-ms",
			reply{status: 429, header: map[string]string{"Retry-After-Ms": "1500", "Retry-After": "2"}, body: `{}`},
			TypeRateLimited, true, 429, 1500 * time.Millisecond, "rate limited by the provider (429) (retry after 1.5s)"},
		{"500",
			reply{status: 500, body: `{"error": {"message": "The server had an error", "type": "server_error"}}`},
			TypeServerError, true, 500, 0, "the provider failed (500 Internal Server Error): The server had an error"},
		{"503 with Retry-After",
			reply{status: 503, header: map[string]string{"Retry-After": "30"}, body: `overloaded`},
			TypeServerError, true, 503, 30 * time.Second, "the provider failed (503 Service Unavailable) (retry after 30s)"},
		{"408",
			reply{status: 408, body: ``},
			TypeTimeout, true, 408, 0, "the provider timed out the request (408)"},
		{"401",
			reply{status: 401, body: `{"error": {"message": "Invalid authentication", "type": "invalid_request_error", "code": "invalid_api_key"}}`},
			TypeAuth, false, 401, 0, "the provider refused the API key (401): Invalid authentication"},
		{"401 ignores Retry-After",
			reply{status: 401, header: map[string]string{"Retry-After": "5"}, body: ``},
			TypeAuth, false, 401, 0, "the provider refused the API key (401)"},
		{"403",
			reply{status: 403, body: `{"error": {"message": "Country not supported"}}`},
			TypeForbidden, false, 403, 0, "the provider denied access (403): Country not supported"},
		{"404 unknown model",
			reply{status: 404, body: `{"error": {"message": "model \"gpt-9\" not found, try pulling it first", "type": "api_error"}}`},
			TypeNotFound, false, 404, 0, `unknown model "gpt-9" (404): model "gpt-9" not found, try pulling it first`},
		{"404 wrong base URL",
			reply{status: 404, header: map[string]string{"Content-Type": "text/plain"}, body: `404 page not found`},
			TypeNotFound, false, 404, 0, "the provider has no endpoint at /v1/chat/completions (404): check the base URL"},
		{"400",
			reply{status: 400, body: `{"error": {"message": "Invalid schema for response_format 'answer'", "type": "invalid_request_error"}}`},
			TypeBadRequest, false, 400, 0, "the provider rejected the request (400 Bad Request): Invalid schema for response_format 'answer'"},
		{"200 that is not JSON",
			reply{header: map[string]string{"Content-Type": "text/html"}, body: `<html>login</html>`},
			TypeBadResponse, false, 200, 0, ""},
		{"200 without choices",
			reply{body: `{"choices": []}`},
			TypeBadResponse, false, 200, 0, "the provider's answer has no choices"},
		{"refusal",
			reply{body: `{"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}, "finish_reason": "stop"}]}`},
			TypeRefused, false, 200, 0, "the model refused to answer: I can't help with that."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.reply)
			c := newOpenAI(t, p, Config{})
			resp, err := c.Complete(context.Background(), Request{Model: "gpt-9", Prompt: "hi"})
			if resp != nil {
				t.Errorf("response %+v with an error", resp)
			}
			e := mustError(t, err)
			if e.Type != tt.wantType || e.Retryable != tt.wantRetryable || e.Status != tt.wantStatus || e.RetryAfter != tt.wantAfter {
				t.Errorf("error = %+v\nwant type %s retryable %v status %d after %s", e, tt.wantType, tt.wantRetryable, tt.wantStatus, tt.wantAfter)
			}
			if tt.wantMessage != "" && e.Message != tt.wantMessage {
				t.Errorf("message = %q\nwant      %q", e.Message, tt.wantMessage)
			}
			if n := len(p.requests()); n != 1 {
				t.Errorf("%d calls, want 1: the client itself never retries", n)
			}
		})
	}
}

func TestOpenAIRateLimitedThenSucceeds(t *testing.T) {
	p := newProvider(t,
		reply{status: 429, header: map[string]string{"Retry-After": "3"}, body: `{"error": {"message": "slow down"}}`},
		reply{body: openAIAnswer("gpt-4o-mini", "done", 5, 1)},
	)
	c := newOpenAI(t, p, Config{})
	req := Request{Model: "gpt-4o-mini", Prompt: "hi"}
	_, err := c.Complete(context.Background(), req)
	if e := mustError(t, err); !e.Retryable || e.RetryAfter != 3*time.Second {
		t.Fatalf("first call: %+v, want retryable after 3s", e)
	}
	// The caller's retry policy waits RetryAfter and calls again.
	resp, err := c.Complete(context.Background(), req)
	if err != nil || resp.Text != "done" {
		t.Fatalf("second call = %+v, %v", resp, err)
	}
}

func TestOpenAITimeoutIsRetryable(t *testing.T) {
	p := newProvider(t, reply{hang: true})
	c := newOpenAI(t, p, Config{Timeout: 50 * time.Millisecond})
	_, err := c.Complete(context.Background(), Request{Model: "m", Prompt: "hi"})
	e := mustError(t, err)
	if e.Type != TypeTimeout || !e.Retryable || !strings.Contains(e.Message, "did not answer within 50ms") {
		t.Errorf("error = %+v, want a retryable timeout", e)
	}
}

func TestCallerCancellationIsNotClassified(t *testing.T) {
	p := newProvider(t, reply{hang: true})
	c := newOpenAI(t, p, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(p.requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Complete(ctx, Request{Model: "m", Prompt: "hi"})
	if err != context.Canceled {
		t.Errorf("error = %v (%T), want context.Canceled", err, err)
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	p := newProvider(t)
	url := p.srv.URL
	p.srv.Close()
	c, err := New(Config{Kind: KindOpenAI, BaseURL: url + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Complete(context.Background(), Request{Model: "m", Prompt: "hi"})
	e := mustError(t, err)
	if e.Type != TypeUnreachable || !e.Retryable || !strings.Contains(e.Message, "cannot reach the provider at "+url) {
		t.Errorf("error = %+v, want retryable unreachable", e)
	}
}

func TestKeyIsRedacted(t *testing.T) {
	partial := testKey[:10] + "****" + testKey[len(testKey)-4:]
	tests := []struct {
		name  string
		reply reply
	}{
		{"401 echoing the whole key", reply{status: 401, body: `{"error": {"message": "Incorrect API key provided: ` + testKey + `. Find your key at https://example.com."}}`}},
		{"401 echoing part of the key", reply{status: 401, body: `{"error": {"message": "Incorrect API key provided: ` + partial + `."}}`}},
		{"500 echoing the header", reply{status: 500, body: `{"error": {"message": "upstream said: Authorization: Bearer ` + testKey + `"}}`}},
		{"400 with the key as a string error", reply{status: 400, body: `{"error": "bad key ` + testKey + `"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.reply)
			c := newOpenAI(t, p, Config{})
			_, err := c.Complete(context.Background(), Request{Model: "m", Prompt: "hi"})
			e := mustError(t, err)
			for i := 0; i+8 <= len(testKey); i++ {
				if strings.Contains(e.Error(), testKey[i:i+8]) {
					t.Fatalf("error leaks part of the key (%q): %s", testKey[i:i+8], e.Error())
				}
			}
			if !strings.Contains(e.Error(), "[redacted]") {
				t.Errorf("message lost its redaction marker: %s", e.Error())
			}
		})
	}
}

func TestConcurrencyLimit(t *testing.T) {
	const limit, calls = 2, 6
	var (
		mu            sync.Mutex
		inFlight, top int
	)
	arrived := make(chan struct{}, calls)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		top = max(top, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(openAIAnswer("m", "ok", 1, 1)))
	}))
	defer srv.Close()
	c, err := New(Config{Kind: KindOpenAI, BaseURL: srv.URL, Concurrency: limit})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Complete(context.Background(), Request{Model: "m", Prompt: "hi"})
			errs <- err
		}()
	}
	// Let calls through one at a time once the limit is reached.
	for i := 0; i < calls; i++ {
		<-arrived
		if i >= limit-1 {
			release <- struct{}{}
		}
	}
	for i := 0; i < limit-1; i++ {
		release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if top > limit {
		t.Errorf("%d calls were in flight at once, limit %d", top, limit)
	}
}
