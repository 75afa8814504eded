// Package llm calls large language models over their HTTP APIs: the OpenAI Chat
// Completions protocol (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, compatible
// gateways) and Anthropic's Messages API. It asks for structured output, checks the answer
// against a JSON Schema, and classifies failures so that callers know what to retry.
//
// The package never retries failed HTTP calls itself: that is the caller's retry policy
// (Temporal's, in Trellis), which Error.Retryable and Error.RetryAfter inform. The one
// retry it does make is a conversational one: an answer that does not fit the schema is
// sent back with the problem, a bounded number of times.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"trellis/designer"
)

// Provider kinds.
const (
	KindOpenAI    = "openai"
	KindAnthropic = "anthropic"
)

// Kinds lists the provider kinds New accepts.
var Kinds = []string{KindOpenAI, KindAnthropic}

// Defaults for Config and Request fields left zero.
const (
	DefaultTimeout       = 60 * time.Second
	DefaultConcurrency   = 4
	DefaultSchemaRetries = 2
	// DefaultMaxTokens is sent to Anthropic, which requires max_tokens, when the request
	// names none. OpenAI-protocol requests leave it out and let the server decide.
	DefaultMaxTokens = 1024
)

// maxResponseBytes bounds a provider's answer; a chat completion is far smaller.
const maxResponseBytes = 8 << 20

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of the conversation after the system prompt.
type Message struct {
	Role    string // RoleUser or RoleAssistant
	Content string
	// ToolUseID ties an Anthropic structured answer (a forced tool call, on the assistant
	// turn) to the feedback on it (a tool result, on the following user turn). The OpenAI
	// protocol ignores it.
	ToolUseID string
	// ToolCalls are the calls an assistant turn made (tools.go).
	ToolCalls []ToolCall
	// ToolResults, on a user turn, answer the previous turn's ToolCalls.
	ToolResults []ToolResult
}

// Request is one completion to make.
type Request struct {
	Model       string
	System      string
	Prompt      string // the first user turn; may be empty when Messages start the conversation
	Temperature *float64
	MaxTokens   int // 0: the provider's default (DefaultMaxTokens for Anthropic)
	// JSONSchema, when set, asks for a JSON answer that fits it (the designer schema
	// subset). Response.JSON then holds the decoded answer.
	JSONSchema json.RawMessage
	// Messages follow Prompt: earlier answers and feedback on them.
	Messages []Message
	// Tools the model may call; an answer that calls some has Response.ToolCalls and is
	// not checked against JSONSchema (the final answer is).
	Tools []Tool
}

// Usage counts tokens. For a completion that needed schema retries it is the sum over all
// calls, since each one is billed.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Response is a model's answer.
type Response struct {
	Text  string // for structured output, the JSON text
	JSON  any    // the decoded answer when the request had a JSONSchema
	Model string // as the provider reports it, else the requested model
	Usage Usage
	// StopReason is the provider's own word for why the answer ended ("stop", "length",
	// "end_turn", "max_tokens", "tool_use", …).
	StopReason string
	// Calls is how many HTTP calls the answer took: 1 plus the schema retries.
	Calls int
	// ToolCalls are the tools the model called, in its order; the caller runs them and
	// sends the results back in the next request.
	ToolCalls []ToolCall

	toolUseID string // Anthropic: the id of the forced tool call that carried the answer
}

// Provider completes requests. Errors are *Error except when ctx ends first, which gives
// ctx.Err().
type Provider interface {
	Complete(ctx context.Context, req Request) (*Response, error)
}

// Config configures a provider client.
type Config struct {
	Kind string // KindOpenAI or KindAnthropic
	// BaseURL is the API root: https://api.openai.com/v1 or http://127.0.0.1:11434/v1
	// (Ollama) for openai, https://api.anthropic.com for anthropic.
	BaseURL string
	APIKey  string // may be empty for local servers
	// Timeout bounds each HTTP call; 0 means DefaultTimeout.
	Timeout time.Duration
	// Concurrency bounds calls in flight through this client; 0 means DefaultConcurrency.
	Concurrency int
	// SchemaRetries is how many more calls an answer that does not fit the schema gets;
	// 0 means DefaultSchemaRetries, a negative number none.
	SchemaRetries int
	// HTTPClient sends the calls; nil means a client of its own.
	HTTPClient *http.Client
}

// Client is a Provider for one configured endpoint. It is safe for concurrent use; keep
// one per provider so that its concurrency limit holds across callers.
type Client struct {
	proto         protocol
	sem           chan struct{}
	timeout       time.Duration
	schemaRetries int
	key           string
}

var _ Provider = (*Client)(nil)

// protocol makes one call in a provider's wire format.
type protocol interface {
	send(ctx context.Context, req *Request, msgs []Message, st *structured) (*Response, error)
}

// New checks cfg and returns a client for it.
func New(cfg Config) (*Client, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 || cfg.Concurrency < 0 {
		return nil, errors.New("timeout and concurrency must not be negative")
	}
	c := &Client{timeout: cfg.Timeout, key: cfg.APIKey, schemaRetries: cfg.SchemaRetries}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	n := cfg.Concurrency
	if n == 0 {
		n = DefaultConcurrency
	}
	c.sem = make(chan struct{}, n)
	switch {
	case c.schemaRetries == 0:
		c.schemaRetries = DefaultSchemaRetries
	case c.schemaRetries < 0:
		c.schemaRetries = 0
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	t := &transport{client: hc, key: cfg.APIKey, timeout: c.timeout}
	switch cfg.Kind {
	case KindOpenAI:
		c.proto = &openAI{t: t, url: base.JoinPath("chat/completions").String()}
	case KindAnthropic:
		// The documented base is https://api.anthropic.com; accept one ending in /v1 too.
		root := *base
		root.Path = strings.TrimSuffix(strings.TrimSuffix(root.Path, "/"), "/v1")
		c.proto = &anthropic{t: t, url: root.JoinPath("v1/messages").String()}
	default:
		return nil, fmt.Errorf("unknown provider kind %q (use %s)", cfg.Kind, strings.Join(Kinds, " or "))
	}
	return c, nil
}

// ParseBaseURL checks that s is an absolute http(s) URL without a query or fragment.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not an absolute http(s) URL", safeURLString(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base URL %q must not have a query or fragment", safeURLString(s))
	}
	return u, nil
}

// Complete sends the request and, for structured output, checks the answer, sending it
// back with the problem up to SchemaRetries times.
func (c *Client) Complete(ctx context.Context, req Request) (*Response, error) {
	resp, err := c.complete(ctx, req)
	var e *Error
	if errors.As(err, &e) {
		e.Message = redact(e.Message, c.key)
	}
	return resp, err
}

func (c *Client) complete(ctx context.Context, req Request) (*Response, error) {
	if strings.TrimSpace(req.Model) == "" {
		return nil, &Error{Type: TypeBadRequest, Message: "no model named: set model on the node or a default model on the provider"}
	}
	if req.MaxTokens < 0 {
		return nil, &Error{Type: TypeBadRequest, Message: fmt.Sprintf("max_tokens must not be negative, got %d", req.MaxTokens)}
	}
	if err := checkTools(req.Tools); err != nil {
		return nil, err
	}
	var st *structured
	if raw := bytes.TrimSpace(req.JSONSchema); len(raw) > 0 && string(raw) != "null" {
		schema, err := designer.CompileSchema(raw)
		if err != nil {
			return nil, &Error{Type: TypeInvalidSchema, Message: "json_schema: " + err.Error()}
		}
		if st, err = newStructured(raw, schema); err != nil {
			return nil, &Error{Type: TypeInvalidSchema, Message: "json_schema: " + err.Error()}
		}
	}
	var msgs []Message
	if req.Prompt != "" {
		msgs = append(msgs, Message{Role: RoleUser, Content: req.Prompt})
	}
	msgs = append(msgs, req.Messages...)
	if len(msgs) == 0 || msgs[0].Role != RoleUser {
		return nil, &Error{Type: TypeBadRequest, Message: "the conversation must start with a user turn: the prompt is empty"}
	}

	var total Usage
	for call := 1; ; call++ {
		resp, err := c.call(ctx, &req, msgs, st)
		if err != nil {
			return nil, err
		}
		total.PromptTokens += resp.Usage.PromptTokens
		total.CompletionTokens += resp.Usage.CompletionTokens
		resp.Usage, resp.Calls = total, call
		if st == nil || len(resp.ToolCalls) > 0 {
			return resp, nil
		}
		v, problem := st.check(resp)
		if problem == "" {
			resp.JSON = v
			if st.wrapped {
				b, _ := json.Marshal(v) // decoded from JSON, so it encodes
				resp.Text = string(b)
			}
			return resp, nil
		}
		if call > c.schemaRetries {
			return nil, &Error{Type: TypeSchemaMismatch, Message: fmt.Sprintf(
				"the answer did not match the JSON schema after %d %s: %s", call, plural(call, "try", "tries"), problem)}
		}
		answer := resp.Text
		if strings.TrimSpace(answer) == "" {
			answer = "(no answer)"
		}
		msgs = append(msgs,
			Message{Role: RoleAssistant, Content: answer, ToolUseID: resp.toolUseID},
			Message{Role: RoleUser, Content: feedback(problem, resp), ToolUseID: resp.toolUseID})
	}
}

// call makes one HTTP call within the concurrency limit and the per-call timeout.
func (c *Client) call(ctx context.Context, req *Request, msgs []Message, st *structured) (*Response, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.proto.send(cctx, req, msgs, st)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up (cancelled, or its own deadline): not the provider's fault.
			return nil, ctx.Err()
		}
		return nil, err
	}
	if resp.Model == "" {
		resp.Model = req.Model
	}
	return resp, nil
}

func feedback(problem string, resp *Response) string {
	msg := "Your answer does not fit the required JSON schema: " + problem + "."
	if resp.StopReason == "length" || resp.StopReason == "max_tokens" {
		msg += " It was cut off at the token limit; answer more briefly."
	}
	return msg + " Answer again with only JSON that fits the schema."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
