package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"

	"trellis/designer"
	"trellis/engine/llm"
)

// ProviderConfig is a configured LLM provider as the llm activity needs it. APIKeySecret
// names the secret with the key; the key itself is read only inside the activity. Its JSON
// is what serve hands a remote worker.
type ProviderConfig struct {
	Name         string                `json:"name"`
	Kind         string                `json:"kind"` // llm.KindOpenAI or llm.KindAnthropic
	BaseURL      string                `json:"base_url"`
	Model        string                `json:"model"`          // used when a node names none
	APIKeySecret string                `json:"api_key_secret"` // "" for servers without keys
	Timeout      time.Duration         `json:"timeout_ns"`
	Concurrency  int                   `json:"concurrency"`
	Prices       map[string]ModelPrice `json:"prices,omitempty"` // by model
}

// ModelPrice is what a model costs per million tokens.
type ModelPrice struct {
	PromptPerMTok     float64 `json:"prompt_per_mtok"`
	CompletionPerMTok float64 `json:"completion_per_mtok"`
}

// ProviderSource gives the llm activity the provider a node names. It returns an error
// wrapping ErrProviderNotFound for a provider that is not configured (the node then fails
// without retrying); any other error is retried.
type ProviderSource interface {
	Provider(ctx context.Context, name string) (*ProviderConfig, error)
}

// ErrProviderNotFound is wrapped by ProviderSource implementations.
var ErrProviderNotFound = errors.New("provider not found")

// Error types of llm nodes: ErrTypeLLMProvider for configuration problems, and "LLM" plus
// the llm package's type (LLMRateLimited, LLMUnauthorized, LLMSchemaMismatch, …) for calls.
const (
	ErrTypeLLMProvider = "LLMProvider"
	errTypeLLMPrefix   = "LLM"
)

// configureHint is how to get a first provider, shown when a node finds none.
const configureHint = "configure one with: trellis provider set default --kind openai --base-url http://127.0.0.1:11434/v1 --model llama3.2 (a local Ollama; see 'trellis provider set -h' for OpenAI or Anthropic)"

type llmActivity struct {
	providers ProviderSource
	secrets   SecretSource
	client    *http.Client
	metrics   *Metrics

	mu      sync.Mutex
	clients map[string]providerClient // by provider name
}

// providerClient is a client kept across activities so that its concurrency limit holds
// for the whole worker; fingerprint tells when the provider's settings or key changed.
type providerClient struct {
	fingerprint [32]byte
	client      *llm.Client
}

func newLLMActivity(d *Deps) *llmActivity {
	c := &http.Client{}
	if d.HTTPClient != nil {
		cp := *d.HTTPClient
		c = &cp
	}
	return &llmActivity{providers: d.Providers, secrets: d.Secrets, client: c, clients: map[string]providerClient{}, metrics: d.Metrics}
}

// llmTemplateCache keeps compiled configs by content; compiling is pure.
var llmTemplateCache = newLRU[[32]byte, *llmTemplates](256)

func cachedLLMTemplates(c designer.LLMConfig) (*llmTemplates, string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, "config", err
	}
	key := sha256.Sum256(b)
	if t, ok := llmTemplateCache.get(key); ok {
		return t, "", nil
	}
	t, field, err := compileLLM(c)
	if err != nil {
		return nil, field, err
	}
	llmTemplateCache.put(key, t)
	return t, "", nil
}

// run is the llm activity: find the provider and key, render, ask, account.
func (a *llmActivity) run(ctx context.Context, req llmRequest) (activityResult[any], error) {
	t, field, err := cachedLLMTemplates(req.Config)
	if err != nil {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr(field, err))
	}
	name := req.Config.Provider
	if name == "" {
		name = DefaultProvider
	}
	pc, key, err := a.provider(ctx, name)
	if err != nil {
		return activityResult[any]{}, err
	}
	model := req.Config.Model
	if model == "" {
		model = pc.Model
	}
	if model == "" {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeLLMProvider, false,
			"no model: set config.model on the node, or give provider %q a default model (trellis provider set %s … --model NAME)", name, name)
	}
	scope := req.Scope
	if scope == nil {
		scope = map[string]any{}
	}
	lreq := llm.Request{Model: model, Temperature: req.Config.Temperature, MaxTokens: req.Config.MaxTokens, JSONSchema: req.Config.JSONSchema}
	if lreq.Prompt, err = t.prompt.Render(scope); err != nil {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr("prompt", err))
	}
	if t.system != nil {
		if lreq.System, err = t.system.Render(scope); err != nil {
			return activityResult[any]{}, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr("system", err))
		}
	}
	client, err := a.clientFor(pc, key)
	if err != nil {
		return activityResult[any]{}, activityFailure(ctx, ErrTypeLLMProvider, false, "provider %q: %v", name, err)
	}
	resp, err := client.Complete(ctx, lreq)
	if err != nil {
		return activityResult[any]{}, llmFailure(ctx, name, err)
	}
	out := llmOutput(pc, model, len(req.Config.JSONSchema) > 0, resp)
	cost, ok := out["cost"].(float64)
	if !ok {
		cost = -1
	}
	a.metrics.observeLLM(name, model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens, cost)
	return resultOf[any](ctx, out), nil
}

// provider looks up the provider and reads its key.
func (a *llmActivity) provider(ctx context.Context, name string) (*ProviderConfig, string, error) {
	if a.providers == nil {
		return nil, "", activityFailure(ctx, ErrTypeLLMProvider, false, "no LLM provider is configured; %s", configureHint)
	}
	pc, err := a.providers.Provider(ctx, name)
	if errors.Is(err, ErrProviderNotFound) {
		if name == DefaultProvider {
			return nil, "", activityFailure(ctx, ErrTypeLLMProvider, false,
				"no LLM provider named %q is configured (the node names no provider, so it uses %q); %s", name, name, configureHint)
		}
		return nil, "", activityFailure(ctx, ErrTypeLLMProvider, false,
			"no LLM provider named %q is configured; configure it with: trellis provider set %s --kind openai|anthropic --base-url URL", name, name)
	}
	if err != nil {
		return nil, "", activityFailure(ctx, ErrTypeLLMProvider, true, "look up provider %q: %v", name, err)
	}
	if pc.APIKeySecret == "" {
		return pc, "", nil
	}
	if a.secrets == nil {
		return nil, "", activityFailure(ctx, ErrTypeSecret, false, "provider %q needs secret %s but no secret store is configured", name, pc.APIKeySecret)
	}
	key, err := a.secrets.Secret(ctx, pc.APIKeySecret)
	if errors.Is(err, ErrSecretNotFound) {
		return nil, "", activityFailure(ctx, ErrTypeSecret, false,
			"the API key of provider %q is not set: set it with: trellis secret set %s --value-stdin", name, pc.APIKeySecret)
	}
	if err != nil {
		return nil, "", activityFailure(ctx, ErrTypeSecret, true, "read the API key of provider %q: %v", name, err)
	}
	return pc, key, nil
}

// clientFor returns the worker's client for a provider, replacing it when the provider's
// settings or key changed.
func (a *llmActivity) clientFor(pc *ProviderConfig, key string) (*llm.Client, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %d %d %q", pc.Kind, pc.BaseURL, pc.Timeout, pc.Concurrency, key)
	var fp [32]byte
	copy(fp[:], h.Sum(nil))
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[pc.Name]; ok && c.fingerprint == fp {
		return c.client, nil
	}
	c, err := llm.New(llm.Config{Kind: pc.Kind, BaseURL: pc.BaseURL, APIKey: key, Timeout: pc.Timeout,
		Concurrency: pc.Concurrency, HTTPClient: a.client})
	if err != nil {
		return nil, err
	}
	a.clients[pc.Name] = providerClient{fingerprint: fp, client: c}
	return c, nil
}

// llmFailure turns a failed completion into the activity's error: the llm package's
// classification decides retrying, and a provider's Retry-After becomes the next delay.
func llmFailure(ctx context.Context, provider string, err error) error {
	var le *llm.Error
	if !errors.As(err, &le) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return activityFailure(ctx, errTypeLLMPrefix+"Error", true, "provider %q: %v", provider, err)
	}
	msg := fmt.Sprintf("provider %q: %s", provider, le.Message)
	opts := temporal.ApplicationErrorOptions{NonRetryable: !le.Retryable,
		Details: []any{newAttemptDetail(ctx, errTypeLLMPrefix+le.Type, msg, le.Retryable)}}
	if le.Retryable && le.RetryAfter > 0 {
		opts.NextRetryDelay = min(le.RetryAfter, maxRetryAfter)
	}
	return temporal.NewApplicationErrorWithOptions(msg, errTypeLLMPrefix+le.Type, opts)
}

// llmOutput is the node's output: {text, json?, model, usage, cost?}. Cost is in the
// currency of the provider's price table, for the model asked for or the one reported.
func llmOutput(pc *ProviderConfig, model string, structured bool, resp *llm.Response) map[string]any {
	out := map[string]any{
		"text":  resp.Text,
		"model": resp.Model,
		"usage": map[string]any{"prompt_tokens": resp.Usage.PromptTokens, "completion_tokens": resp.Usage.CompletionTokens},
	}
	if structured {
		out["json"] = resp.JSON
	}
	price, ok := pc.Prices[model]
	if !ok {
		price, ok = pc.Prices[resp.Model]
	}
	if ok {
		cost := (float64(resp.Usage.PromptTokens)*price.PromptPerMTok + float64(resp.Usage.CompletionTokens)*price.CompletionPerMTok) / 1e6
		out["cost"] = math.Round(cost*1e9) / 1e9 // drop float noise from the sum
	}
	return out
}
