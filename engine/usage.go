package engine

import (
	"encoding/json"
	"math"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"trellis/designer"
)

// Usage is what language models consumed: one llm node's output, or a run's total.
// Cost is in the currency of the providers' price tables and counts only when HasCost.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	Cost             float64
	HasCost          bool
}

// Tokens is prompt plus completion tokens.
func (u Usage) Tokens() int64 { return u.PromptTokens + u.CompletionTokens }

// NodeUsage reads the usage an llm node recorded in its output ({usage: {prompt_tokens,
// completion_tokens}, cost?}); ok is false for an output without usage, such as the
// {error} output of a node that failed and continued. The output may come from a query,
// from history or from workflow code, so numbers may be float64, ints or json.Number.
func NodeUsage(output any) (u Usage, ok bool) {
	m, _ := output.(map[string]any)
	usage, _ := m["usage"].(map[string]any)
	if usage == nil {
		return Usage{}, false
	}
	p, ok1 := usageNumber(usage["prompt_tokens"])
	c, ok2 := usageNumber(usage["completion_tokens"])
	if !ok1 && !ok2 {
		return Usage{}, false
	}
	u.PromptTokens, u.CompletionTokens = int64(p), int64(c)
	if cost, ok := usageNumber(m["cost"]); ok {
		u.Cost, u.HasCost = cost, true
	}
	return u, true
}

// AddUsage sums node usages; the sum has a cost only when every part has one, so that a
// total never silently leaves out a model without a price.
func AddUsage(parts []Usage) (Usage, bool) {
	if len(parts) == 0 {
		return Usage{}, false
	}
	sum := Usage{HasCost: true}
	for _, u := range parts {
		sum.PromptTokens += u.PromptTokens
		sum.CompletionTokens += u.CompletionTokens
		sum.Cost += u.Cost
		sum.HasCost = sum.HasCost && u.HasCost
	}
	if !sum.HasCost {
		sum.Cost = 0
	}
	sum.Cost = math.Round(sum.Cost*1e9) / 1e9
	return sum, true
}

func usageNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

var (
	tokensKey = temporal.NewSearchAttributeKeyInt64(SATokens)
	costKey   = temporal.NewSearchAttributeKeyFloat64(SACost)
)

// usage sums the usage of the run's completed llm nodes; ok is false when none recorded any.
func (r *runState) usage() (Usage, bool) {
	if r.plan == nil {
		return Usage{}, false
	}
	var parts []Usage
	for i, pn := range r.plan.nodes {
		if pn.node.Kind != designer.KindLLM || r.nodes[i].Status != NodeCompleted {
			continue
		}
		if u, ok := NodeUsage(r.nodes[i].Output); ok {
			parts = append(parts, u)
		}
	}
	return AddUsage(parts)
}

// upsertUsage records the run's totals as search attributes so that lists show them
// without querying each run. Runs without llm usage are left alone: GetVersion writes a
// marker (and a TemporalChangeVersion upsert) even when nothing follows it. Runs whose
// history predates the change replay with DefaultVersion and upsert nothing.
func (r *runState) upsertUsage(ctx workflow.Context) {
	u, ok := r.usage()
	if !ok {
		return
	}
	if workflow.GetVersion(ctx, "usage-search-attributes", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	updates := []temporal.SearchAttributeUpdate{tokensKey.ValueSet(u.Tokens())}
	if u.HasCost {
		updates = append(updates, costKey.ValueSet(u.Cost))
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("upsert run usage", "error", err)
	}
}
