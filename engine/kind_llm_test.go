package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"trellis/designer"
	"trellis/internal/testsvc"
)

const llmTestKey = "sk-engine-test-0123456789abcdef"

// memProviders is a ProviderSource over a map.
type memProviders map[string]ProviderConfig

func (m memProviders) Provider(_ context.Context, name string) (*ProviderConfig, error) {
	p, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("provider %s: %w", name, ErrProviderNotFound)
	}
	return &p, nil
}

// chatReply is one scripted Chat Completions answer.
type chatReply struct {
	status int
	header map[string]string
	body   string
}

// chatRequest is what the chat server received.
type chatRequest struct {
	path   string
	header http.Header
	body   map[string]any
}

// chatServer speaks the OpenAI Chat Completions protocol with scripted answers: answer
// gets the request number (from 1) and the decoded body.
type chatServer struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []chatRequest
	answer func(n int, body map[string]any) chatReply
}

func newChatServer(tb testing.TB, answer func(n int, body map[string]any) chatReply) *chatServer {
	s := &chatServer{answer: answer}
	s.Server = testsvc.New(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			tb.Errorf("chat request is not JSON: %s", raw)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, chatRequest{path: r.URL.Path, header: r.Header.Clone(), body: body})
		n := len(s.reqs)
		s.mu.Unlock()
		rep := s.answer(n, body)
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		if rep.status == 0 {
			rep.status = http.StatusOK
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *chatServer) requests() []chatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chatRequest(nil), s.reqs...)
}

// chatAnswer is a Chat Completions response.
func chatAnswer(model, content string, prompt, completion int) chatReply {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion},
	})
	return chatReply{body: string(b)}
}

// messageText is the content of the body's message i.
func messageText(body map[string]any, i int) string {
	msgs, _ := body["messages"].([]any)
	if i >= len(msgs) {
		return ""
	}
	m, _ := msgs[i].(map[string]any)
	s, _ := m["content"].(string)
	return s
}

type llmCase struct {
	name      string
	graph     string // $MODEL-free; the provider "default" points at the chat server
	input     any
	answer    func(n int, body map[string]any) chatReply
	providers func(url string) memProviders // nil: "default" at the chat server with a key
	secrets   memSecrets                    // nil: the key secret

	wantStatus string
	wantOut    string
	wantErr    string
	check      func(t *testing.T, r envResult, s *chatServer)
}

func defaultProviders(url string) memProviders {
	return memProviders{"default": {Name: "default", Kind: "openai", BaseURL: url + "/v1", Model: "gpt-test",
		APIKeySecret: "OPENAI_KEY", Prices: map[string]ModelPrice{"gpt-test": {PromptPerMTok: 2.5, CompletionPerMTok: 10}}}}
}

const classifySchema = `{"type": "object", "required": ["reason", "fraud_risk"],
	"properties": {"reason": {"type": "string"}, "fraud_risk": {"type": "string", "enum": ["low", "medium", "high"]}}}`

var llmCases = []llmCase{
	{
		name: "text answer with usage and cost",
		graph: `{"nodes": [{"id": "greet", "kind": "llm", "config": {"system": "You greet {{ input.lang }} speakers.",
			"prompt": "Greet {{ input.name }}.", "temperature": 0.3, "max_tokens": 50}}], "edges": []}`,
		input:   map[string]any{"name": "Ann", "lang": "English"},
		answer:  func(int, map[string]any) chatReply { return chatAnswer("gpt-test-2025", "Hello, Ann!", 1000, 200) },
		wantOut: `{"greet": {"text": "Hello, Ann!", "model": "gpt-test-2025", "usage": {"prompt_tokens": 1000, "completion_tokens": 200}, "cost": 0.0045}}`,
		check: func(t *testing.T, r envResult, s *chatServer) {
			reqs := s.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			q := reqs[0]
			if q.path != "/v1/chat/completions" || q.header.Get("Authorization") != "Bearer "+llmTestKey {
				t.Errorf("request to %s with Authorization %q", q.path, q.header.Get("Authorization"))
			}
			if q.body["model"] != "gpt-test" || q.body["temperature"] != 0.3 || q.body["max_tokens"] != 50.0 {
				t.Errorf("body = %s", toJSON(q.body))
			}
			if messageText(q.body, 0) != "You greet English speakers." || messageText(q.body, 1) != "Greet Ann." {
				t.Errorf("messages = %s", toJSON(q.body["messages"]))
			}
			if a := r.state.Nodes["greet"].Attempts; a != 1 {
				t.Errorf("attempts = %d", a)
			}
		},
	},
	{
		name: "structured output is validated, fixed and drives an edge",
		graph: `{"nodes": [
			{"id": "classify", "kind": "llm", "config": {"model": "gpt-mini", "prompt": "Classify: {{ input.msg }}", "json_schema": ` + classifySchema + `}},
			{"id": "risky", "kind": "transform", "config": {"value": "'review ' + nodes.classify.output.json.reason"}}],
		  "edges": [{"from": "classify", "to": "risky", "when": "nodes.classify.output.json.fraud_risk == 'high'"}],
		  "output": "{ risky: nodes.risky.output, usage: nodes.classify.output.usage, json: nodes.classify.output.json }"}`,
		input: map[string]any{"msg": "send me money"},
		answer: func(n int, _ map[string]any) chatReply {
			if n == 1 {
				return chatAnswer("gpt-mini", `{"reason": "odd", "fraud_risk": "extreme"}`, 10, 5)
			}
			return chatAnswer("gpt-mini", `{"reason": "odd", "fraud_risk": "high"}`, 20, 5)
		},
		wantOut: `{"risky": "review odd", "usage": {"prompt_tokens": 30, "completion_tokens": 10}, "json": {"reason": "odd", "fraud_risk": "high"}}`,
		check: func(t *testing.T, r envResult, s *chatServer) {
			reqs := s.requests()
			if len(reqs) != 2 || reqs[0].body["model"] != "gpt-mini" {
				t.Fatalf("requests = %d, model %v", len(reqs), reqs[0].body["model"])
			}
			if fb := messageText(reqs[1].body, 2); !strings.Contains(fb, "fraud_risk must be one of low, medium, high") {
				t.Errorf("feedback = %q", fb)
			}
			if a := r.state.Nodes["classify"].Attempts; a != 1 {
				t.Errorf("attempts = %d: a schema retry is a follow-up message, not an activity attempt", a)
			}
		},
	},
	{
		name: "429 with Retry-After then success",
		graph: `{"nodes": [{"id": "ask", "kind": "llm", "config": {"prompt": "hi"},
			"retry": {"max_attempts": 3, "initial_interval": "1s"}}], "edges": [], "output": "nodes.ask.output.text"}`,
		answer: func(n int, _ map[string]any) chatReply {
			if n == 1 {
				return chatReply{status: 429, header: map[string]string{"Retry-After": "2"}, body: `{"error": {"message": "Rate limit reached"}}`}
			}
			return chatAnswer("gpt-test", "hello", 1, 1)
		},
		wantOut: `"hello"`,
		check: func(t *testing.T, r envResult, s *chatServer) {
			if a, n := r.state.Nodes["ask"].Attempts, len(s.requests()); a != 2 || n != 2 {
				t.Errorf("attempts %d, requests %d; want 2 and 2", a, n)
			}
		},
	},
	{
		name: "401 fails at once with a clear message",
		graph: `{"nodes": [{"id": "ask", "kind": "llm", "config": {"prompt": "hi"},
			"retry": {"max_attempts": 5, "initial_interval": "1s"}}], "edges": []}`,
		answer: func(int, map[string]any) chatReply {
			return chatReply{status: 401, body: `{"error": {"message": "Incorrect API key provided: ` + llmTestKey + `", "code": "invalid_api_key"}}`}
		},
		wantStatus: RunFailed,
		wantErr:    `provider "default": the provider refused the API key (401): Incorrect API key provided: [redacted]`,
		check: func(t *testing.T, r envResult, s *chatServer) {
			if a, n := r.state.Nodes["ask"].Attempts, len(s.requests()); a != 1 || n != 1 {
				t.Errorf("attempts %d, requests %d; want 1 and 1", a, n)
			}
			if e := r.state.Nodes["ask"].Error; e == nil || e.Type != "LLMUnauthorized" {
				t.Errorf("node error = %+v, want type LLMUnauthorized", e)
			}
		},
	},
	{
		name: "an answer that never fits continues on the error port",
		graph: `{"nodes": [
			{"id": "classify", "kind": "llm", "on_error": "continue", "config": {"prompt": "x", "json_schema": ` + classifySchema + `}},
			{"id": "fallback", "kind": "transform", "config": {"value": "nodes.classify.output.error.type"}}],
		  "edges": [{"from": "classify", "to": "fallback", "port": "error"}]}`,
		answer:  func(int, map[string]any) chatReply { return chatAnswer("gpt-test", "I think it is fine.", 1, 1) },
		wantOut: `{"fallback": "LLMSchemaMismatch"}`,
		check: func(t *testing.T, r envResult, s *chatServer) {
			if a, n := r.state.Nodes["classify"].Attempts, len(s.requests()); a != 1 || n != 3 {
				t.Errorf("attempts %d, requests %d; want 1 attempt of 3 calls", a, n)
			}
		},
	},
	{
		name:       "no provider configured says how to configure one",
		graph:      `{"nodes": [{"id": "ask", "kind": "llm", "config": {"prompt": "hi"}}], "edges": []}`,
		providers:  func(string) memProviders { return memProviders{} },
		wantStatus: RunFailed,
		wantErr:    `no LLM provider named "default" is configured (the node names no provider, so it uses "default"); configure one with: trellis provider set default --kind openai --base-url http://127.0.0.1:11434/v1 --model llama3.2`,
		check: func(t *testing.T, r envResult, s *chatServer) {
			if a, n := r.state.Nodes["ask"].Attempts, len(s.requests()); a != 1 || n != 0 {
				t.Errorf("attempts %d, requests %d; want 1 and 0", a, n)
			}
		},
	},
	{
		name:       "a named provider that is missing",
		graph:      `{"nodes": [{"id": "ask", "kind": "llm", "config": {"provider": "claude", "prompt": "hi"}}], "edges": []}`,
		wantStatus: RunFailed,
		wantErr:    `no LLM provider named "claude" is configured; configure it with: trellis provider set claude`,
	},
	{
		name:       "a missing key secret is not retried",
		graph:      `{"nodes": [{"id": "ask", "kind": "llm", "config": {"prompt": "hi"}}], "edges": []}`,
		secrets:    memSecrets{},
		wantStatus: RunFailed,
		wantErr:    `the API key of provider "default" is not set: set it with: trellis secret set OPENAI_KEY --value-stdin`,
	},
	{
		name:  "no model anywhere",
		graph: `{"nodes": [{"id": "ask", "kind": "llm", "config": {"prompt": "hi"}}], "edges": []}`,
		providers: func(url string) memProviders {
			return memProviders{"default": {Name: "default", Kind: "openai", BaseURL: url}}
		},
		wantStatus: RunFailed,
		wantErr:    `no model: set config.model on the node, or give provider "default" a default model`,
	},
	{
		name:       "a prompt that fails to render",
		graph:      `{"nodes": [{"id": "ask", "kind": "llm", "config": {"prompt": "{{ int('x') }}"}}], "edges": []}`,
		wantStatus: RunFailed,
		wantErr:    "field prompt:",
	},
}

func TestLLMNode(t *testing.T) {
	for _, tc := range llmCases {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			if answer == nil {
				answer = func(int, map[string]any) chatReply { return chatAnswer("gpt-test", "ok", 1, 1) }
			}
			srv := newChatServer(t, answer)
			providers := defaultProviders(srv.URL)
			if tc.providers != nil {
				providers = tc.providers(srv.URL)
			}
			secrets := memSecrets{"OPENAI_KEY": llmTestKey}
			if tc.secrets != nil {
				secrets = tc.secrets
			}
			var inputs []string
			var mu sync.Mutex
			before := func(env *testsuite.TestWorkflowEnvironment) {
				env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
					var raw json.RawMessage
					if err := args.Get(&raw); err == nil {
						mu.Lock()
						inputs = append(inputs, string(raw))
						mu.Unlock()
					}
				})
			}
			r := runInTestEnv(t, mustGraph(t, tc.graph), tc.input, Deps{Providers: providers, Secrets: secrets, Logger: quietLogger()}, before)

			want := tc.wantStatus
			if want == "" {
				want = RunCompleted
			}
			if r.state.Status != want {
				t.Fatalf("status %s (error %v), want %s; nodes %s", r.state.Status, r.err, want, toJSON(r.state.Nodes))
			}
			if tc.wantErr != "" && (r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr)) {
				t.Errorf("error = %v\nwant it to contain %q", r.err, tc.wantErr)
			}
			if tc.wantOut != "" {
				var wantOut any
				if err := json.Unmarshal([]byte(tc.wantOut), &wantOut); err != nil {
					t.Fatal(err)
				}
				if got := toJSON(normalize(r.out)); got != toJSON(normalize(wantOut)) {
					t.Errorf("output = %s\nwant     %s", got, toJSON(normalize(wantOut)))
				}
			}
			// The key is read inside the activity: never in its input, the state or errors.
			mu.Lock()
			defer mu.Unlock()
			if len(inputs) == 0 {
				t.Error("no activity input was seen")
			}
			for _, in := range inputs {
				if strings.Contains(in, llmTestKey) {
					t.Errorf("activity input holds the key: %s", in)
				}
			}
			if strings.Contains(toJSON(r.state), llmTestKey[:12]) || (r.err != nil && strings.Contains(r.err.Error(), llmTestKey[:12])) {
				t.Error("the key leaked into the run state or error")
			}
			if tc.check != nil {
				tc.check(t, r, srv)
			}
		})
	}
}

func TestLLMRateLimitSetsNextRetryDelay(t *testing.T) {
	srv := newChatServer(t, func(int, map[string]any) chatReply {
		return chatReply{status: 429, header: map[string]string{"Retry-After": "42"}, body: `{}`}
	})
	var s testsuite.WorkflowTestSuite
	s.SetLogger(NewSDKLogger(quietLogger()))
	env := s.NewTestActivityEnvironment()
	act := newLLMActivity(&Deps{Providers: defaultProviders(srv.URL), Secrets: memSecrets{"OPENAI_KEY": llmTestKey}})
	env.RegisterActivityWithOptions(act.run, activity.RegisterOptions{Name: activityLLM})
	_, err := env.ExecuteActivity(activityLLM, llmRequest{RunID: "r", NodeID: "n", Config: mustLLMConfig(t, `{"prompt": "hi"}`)})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		t.Fatalf("error = %v, want an application error", err)
	}
	if app.Type() != "LLMRateLimited" || app.NonRetryable() || app.NextRetryDelay().Seconds() != 42 {
		t.Errorf("error type %s non-retryable %v next delay %s; want LLMRateLimited, retryable, 42s", app.Type(), app.NonRetryable(), app.NextRetryDelay())
	}
}

func TestLLMCompileProblems(t *testing.T) {
	tests := []struct {
		name, config, wantField, wantMsg string
	}{
		{"no prompt", `{"system": "x"}`, "config.prompt", "prompt is missing"},
		{"bad template", `{"prompt": "{{ input. }}"}`, "config.prompt", ""},
		{"bad system", `{"prompt": "x", "system": "{{ ) }}"}`, "config.system", ""},
		{"bad provider", `{"prompt": "x", "provider": "My Provider"}`, "config.provider", `"My Provider" is not a provider name`},
		{"temperature", `{"prompt": "x", "temperature": 3}`, "config.temperature", "temperature must be from 0 to 2"},
		{"schema", `{"prompt": "x", "json_schema": {"type": "object", "oneOf": []}}`, "config.json_schema", `unsupported keyword "oneOf"`},
		{"secret in prompt", `{"prompt": "key {{ secrets.K }}"}`, "config.prompt", "secrets may be used only in http nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, field, err := compileLLM(mustLLMConfig(t, tt.config))
			if err == nil || field != tt.wantField || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("compileLLM = %q, %v; want field %s and %q", field, err, tt.wantField, tt.wantMsg)
			}
		})
	}
}

func mustLLMConfig(tb testing.TB, s string) designer.LLMConfig {
	tb.Helper()
	var c designer.LLMConfig
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		tb.Fatal(err)
	}
	return c
}
