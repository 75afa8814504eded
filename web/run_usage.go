package web

import (
	"encoding/json"
	"math"
	"strconv"

	"trellis/designer"
	"trellis/engine"
	"trellis/templates"
)

// nodeOutput is a completed node's output: from the run's state when the engine could read
// it, else from the last step history recorded a result for.
func (rv *runView) nodeOutput(id string) any {
	if rv.run != nil {
		if n, ok := rv.run.Nodes[id]; ok && n.Status == engine.NodeCompleted {
			return n.Output
		}
	}
	var raw json.RawMessage
	for i := range rv.tl.Entries {
		if e := &rv.tl.Entries[i]; e.Node == id && e.Status == engine.NodeCompleted && e.Output != nil {
			raw = e.Output
		}
	}
	var v any
	if raw == nil || json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}

// runUsage is the run's llm usage: the sum over its completed llm nodes.
func (rv *runView) runUsage(statuses map[string]string) *templates.RunUsageView {
	var parts []engine.Usage
	for _, n := range rv.tl.Definition.Nodes {
		if n.Kind != designer.KindLLM || statuses[n.ID] != engine.NodeCompleted {
			continue
		}
		if u, ok := engine.NodeUsage(rv.nodeOutput(n.ID)); ok {
			parts = append(parts, u)
		}
	}
	sum, ok := engine.AddUsage(parts)
	if !ok {
		return nil
	}
	return usageView(sum, "")
}

// llmNodeUsage is an llm node's model and usage from its output; nil without usage.
func llmNodeUsage(output any) *templates.RunUsageView {
	u, ok := engine.NodeUsage(output)
	if !ok {
		return nil
	}
	m, _ := output.(map[string]any)
	model, _ := m["model"].(string)
	return usageView(u, model)
}

func usageView(u engine.Usage, model string) *templates.RunUsageView {
	v := &templates.RunUsageView{Model: model, Tokens: runTokens(u.Tokens()),
		Prompt: runTokens(u.PromptTokens), Completion: runTokens(u.CompletionTokens)}
	if u.HasCost {
		v.Cost = runCost(u.Cost)
	}
	return v
}

// runTokens writes a count with thousands separators: 12,345.
func runTokens(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// runCost writes a cost in the providers' currency: enough decimals for fractions of a
// cent (0.0045), at most six.
func runCost(c float64) string {
	if math.IsNaN(c) || math.IsInf(c, 0) {
		return ""
	}
	if c >= 100 {
		return strconv.FormatFloat(c, 'f', 2, 64)
	}
	return strconv.FormatFloat(math.Round(c*1e6)/1e6, 'f', -1, 64)
}
