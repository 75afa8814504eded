package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"unknown kind", Config{Kind: "gemini", BaseURL: "https://x"}, `unknown provider kind "gemini" (use openai or anthropic)`},
		{"relative URL", Config{Kind: KindOpenAI, BaseURL: "/v1"}, `base URL "/v1" is not an absolute http(s) URL`},
		{"ftp URL", Config{Kind: KindOpenAI, BaseURL: "ftp://host/v1"}, `base URL "ftp://host/v1" is not an absolute http(s) URL`},
		{"query hides credentials", Config{Kind: KindOpenAI, BaseURL: "https://u:pw@host/v1?key=abc"}, `base URL "https://host/v1" must not have a query or fragment`},
		{"negative timeout", Config{Kind: KindOpenAI, BaseURL: "https://host", Timeout: -time.Second}, "timeout and concurrency must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("New = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRequestChecks(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		wantType string
		wantMsg  string
	}{
		{"no model", Request{Prompt: "hi"}, TypeBadRequest, "no model named"},
		{"no prompt", Request{Model: "m"}, TypeBadRequest, "the prompt is empty"},
		{"negative max tokens", Request{Model: "m", Prompt: "hi", MaxTokens: -1}, TypeBadRequest, "max_tokens must not be negative"},
		{"schema outside the subset", Request{Model: "m", Prompt: "hi", JSONSchema: json.RawMessage(`{"type": "object", "oneOf": []}`)}, TypeInvalidSchema, `json_schema: unsupported keyword "oneOf"`},
		{"schema not JSON", Request{Model: "m", Prompt: "hi", JSONSchema: json.RawMessage(`{`)}, TypeInvalidSchema, "json_schema: schema is not valid JSON"},
	}
	p := newProvider(t)
	c := newOpenAI(t, p, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Complete(context.Background(), tt.req)
			e := mustError(t, err)
			if e.Type != tt.wantType || e.Retryable || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("error = %+v, want non-retryable %s containing %q", e, tt.wantType, tt.wantMsg)
			}
		})
	}
	if n := len(p.requests()); n != 0 {
		t.Errorf("%d requests sent for requests that cannot succeed", n)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "20"}, 20 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": "Sat, 01 Mar 2025 12:01:30 GMT"}, 90 * time.Second},
		{"http date in the past", map[string]string{"Retry-After": "Sat, 01 Mar 2025 11:00:00 GMT"}, 0},
		{"milliseconds win", map[string]string{"Retry-After-Ms": "250", "Retry-After": "9"}, 250 * time.Millisecond},
		{"negative", map[string]string{"Retry-After": "-3"}, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := retryAfter(h, now); got != tt.want {
				t.Errorf("retryAfter = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	const key = "sk-proj-AbCdEfGh12345678"
	tests := []struct {
		name, in, want string
	}{
		{"whole key", "bad key " + key + " here", "bad key [redacted] here"},
		{"key inside a word", "Bearer:" + key + ".", "Bearer:[redacted]."},
		{"a fragment", "provided: sk-proj-AbCd****5678.", "provided: [redacted]"},
		{"short words stay", "the key sk-proj is wrong", "the key sk-proj is wrong"},
		{"nothing to hide", "invalid x-api-key", "invalid x-api-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in, key); got != tt.want {
				t.Errorf("redact = %q, want %q", got, tt.want)
			}
		})
	}
	if got := redact("short key abc", "abc"); got != "short key [redacted]" {
		t.Errorf("short key: %q", got)
	}
}

func TestStrictCompatible(t *testing.T) {
	tests := []struct {
		name, schema string
		want         bool
	}{
		{"closed and all required", `{"type": "object", "additionalProperties": false, "required": ["a"], "properties": {"a": {"type": "string"}}}`, true},
		{"open object", `{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}`, false},
		{"optional property", `{"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}}`, false},
		{"default is not strict", `{"type": "object", "additionalProperties": false, "required": ["a"], "properties": {"a": {"type": "string", "default": "x"}}}`, false},
		{"nested open object", `{"type": "object", "additionalProperties": false, "required": ["a"], "properties": {"a": {"type": "object"}}}`, false},
		{"array of closed objects", `{"type": "object", "additionalProperties": false, "required": ["a"], "properties": {"a": {"type": "array", "items": {"type": "object", "additionalProperties": false, "properties": {}}}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal([]byte(tt.schema), &s); err != nil {
				t.Fatal(err)
			}
			if got := strictCompatible(s); got != tt.want {
				t.Errorf("strictCompatible = %v, want %v", got, tt.want)
			}
		})
	}
}
