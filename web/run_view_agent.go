package web

import (
	"encoding/json"
	"fmt"

	"trellis/templates"
)

// agentToolCalls reads an agent node's output for its inspector: each tool call with the
// arguments it ran with, its end, and its approval.
func agentToolCalls(out any) []templates.RunToolCallView {
	m, ok := out.(map[string]any)
	if !ok {
		return nil
	}
	list, _ := m["tool_calls"].([]any)
	var views []templates.RunToolCallView
	index, lastStep := 0, -1
	for _, raw := range list {
		c, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		step := jsonInt(c["step"])
		if step != lastStep {
			index, lastStep = 0, step
		}
		v := templates.RunToolCallView{Step: step, Index: index, Name: str(c["name"]), Status: str(c["status"]),
			Error: str(c["error"]), ApprovedBy: str(c["approved_by"]), RejectedBy: str(c["rejected_by"])}
		index++
		if b, err := json.Marshal(c["args"]); err == nil {
			v.Args = string(b)
		}
		edits, _ := c["edits"].([]any)
		for _, e := range edits {
			em, _ := e.(map[string]any)
			from, _ := json.Marshal(em["from"])
			to, _ := json.Marshal(em["to"])
			v.Edits = append(v.Edits, fmt.Sprintf("%s: %s → %s", str(em["arg"]), from, to))
		}
		views = append(views, v)
	}
	return views
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func jsonInt(v any) int {
	f, _ := v.(float64)
	return int(f)
}
