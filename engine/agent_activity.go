package engine

import (
	"context"

	"go.temporal.io/sdk/activity"

	"trellis/engine/llm"
)

// turn is the agent's model turn: the llm activity's provider, key and templates, with the
// agent's tools and the conversation so far. Each turn is one (local) activity, so a
// finished turn is in history and never asked again.
func (a *llmActivity) turn(ctx context.Context, req agentTurnRequest) (activityResult[agentTurn], error) {
	var zero activityResult[agentTurn]
	t, field, err := cachedLLMTemplates(req.Config)
	if err != nil {
		return zero, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr(field, err))
	}
	name := req.Config.Provider
	if name == "" {
		name = DefaultProvider
	}
	pc, key, err := a.provider(ctx, name)
	if err != nil {
		return zero, err
	}
	model := req.Config.Model
	if model == "" {
		model = pc.Model
	}
	if model == "" {
		return zero, activityFailure(ctx, ErrTypeLLMProvider, false,
			"no model: set config.model on the node, or give provider %q a default model (trellis provider set %s … --model NAME)", name, name)
	}
	scope := req.Scope
	if scope == nil {
		scope = map[string]any{}
	}
	lreq := llm.Request{Model: model, Temperature: req.Config.Temperature, MaxTokens: req.Config.MaxTokens,
		JSONSchema: req.Config.JSONSchema, Tools: req.Tools, Messages: req.Messages}
	if lreq.Prompt, err = t.prompt.Render(scope); err != nil {
		return zero, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr("prompt", err))
	}
	if t.system != nil {
		if lreq.System, err = t.system.Render(scope); err != nil {
			return zero, activityFailure(ctx, ErrTypeTemplate, false, "%s", fieldErr("system", err))
		}
	}
	client, err := a.clientFor(pc, key)
	if err != nil {
		return zero, activityFailure(ctx, ErrTypeLLMProvider, false, "provider %q: %v", name, err)
	}
	resp, err := client.Complete(ctx, lreq)
	if err != nil {
		return zero, llmFailure(ctx, name, err)
	}
	out := agentTurn{Text: resp.Text, JSON: resp.JSON, Model: resp.Model, ToolCalls: resp.ToolCalls,
		PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens}
	cost := -1.0
	if c, ok := llmOutput(pc, model, false, resp)["cost"].(float64); ok {
		out.Cost, cost = &c, c
	}
	if n := len(req.Messages); n > 0 && activity.GetInfo(ctx).IsLocalActivity {
		out.Results = req.Messages[n-1].ToolResults
	}
	a.metrics.observeLLM(name, model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens, cost)
	return resultOf(ctx, out), nil
}
