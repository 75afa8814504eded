package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"trellis/engine"
	"trellis/templates"
)

// agentTurnActivity is the activity of one model turn of an agent (engine/kind_agent.go).
const agentTurnActivity = "agent.turn"

// agentTurns is an agent node's conversation for its inspector: the model's text of each turn,
// read from the turn activities' results in history, with the calls the turn made. The calls
// come from the node's output, which says how each ended; while the node runs they are the
// calls the model asked for. A node without turns in history (its output reused by a rewind)
// is told by its calls alone.
func agentTurns(entries []*engine.TimelineEntry, out any) []templates.RunAgentTurnView {
	calls := agentToolCalls(out)
	m, _ := out.(map[string]any)
	_, final := m["steps"] // out is the node's output, not the result of its last turn
	var turns []templates.RunAgentTurnView
	results := map[int][]agentToolResult{} // by the turn whose calls they answer
	for _, e := range entries {
		if !isAgentTurn(e) {
			continue
		}
		if (e.Status == engine.NodeRunning || e.Status == engine.NodeCompleted) && len(turns) > 0 {
			results[len(turns)] = agentTurnResults(e)
		}
		if e.Status == engine.NodeRunning {
			turns = append(turns, templates.RunAgentTurnView{Turn: len(turns) + 1, Pending: true})
			continue
		}
		var res struct { // the activity's output (the timeline unwraps it)
			Text      string `json:"text"`
			ToolCalls []struct {
				Name string          `json:"name"`
				Args json.RawMessage `json:"args"`
			} `json:"tool_calls"`
		}
		if e.Status != engine.NodeCompleted || json.Unmarshal(agentTurnOutput(e), &res) != nil {
			continue // a failed attempt; the turn is the attempt that completed
		}
		t := templates.RunAgentTurnView{Turn: len(turns) + 1, Text: res.Text}
		if !final {
			for i, tc := range res.ToolCalls {
				t.Calls = append(t.Calls, templates.RunToolCallView{Step: t.Turn, Index: i, Name: tc.Name,
					Status: "requested", Args: string(tc.Args)})
			}
		}
		turns = append(turns, t)
	}
	for _, c := range calls {
		for len(turns) < c.Step {
			turns = append(turns, templates.RunAgentTurnView{Turn: len(turns) + 1})
		}
		if c.Step >= 1 {
			turns[c.Step-1].Calls = append(turns[c.Step-1].Calls, c)
		}
	}
	for n, rs := range results {
		for i := range turns[n-1].Calls {
			if c := &turns[n-1].Calls[i]; c.Index < len(rs) {
				c.Result, c.ResultError = agentResultText(rs[c.Index].Content), rs[c.Index].IsError
			}
		}
	}
	for i := range turns {
		turns[i].Open = templates.AgentTurnOpen(i, len(turns))
	}
	return turns
}

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

// agentToolResult is a tool's result as the next turn sent it to the model.
type agentToolResult struct {
	Content string `json:"content"`
	IsError bool   `json:"is_error"`
}

// agentTurnResults reads the results of the previous turn's calls that a turn was sent, in
// the order of the calls: from a turn activity's input, the last message of the
// conversation; a local turn (whose input history does not keep) says them in its answer.
func agentTurnResults(e *engine.TimelineEntry) []agentToolResult {
	if e.Step == engine.StepLocal {
		var out struct {
			Results []agentToolResult `json:"results"`
		}
		_ = json.Unmarshal(agentTurnOutput(e), &out)
		return out.Results
	}
	var req struct {
		Messages []struct {
			ToolResults []agentToolResult
		} `json:"messages"`
	}
	if json.Unmarshal(e.Input, &req) != nil || len(req.Messages) == 0 {
		return nil
	}
	return req.Messages[len(req.Messages)-1].ToolResults
}

// isAgentTurn says whether an agent's entry is one of its model turns: an activity, or since
// the engine's change agent-local-turns a local activity.
func isAgentTurn(e *engine.TimelineEntry) bool {
	return (e.Step == engine.StepActivity || e.Step == engine.StepLocal) && e.Name == agentTurnActivity
}

// agentTurnOutput is a turn's answer: a local activity's recorded result wraps it as the
// activity's result, which the timeline unwraps for activities alone.
func agentTurnOutput(e *engine.TimelineEntry) json.RawMessage {
	if e.Step != engine.StepLocal {
		return e.Output
	}
	var w struct {
		Output json.RawMessage `json:"output"`
	}
	if json.Unmarshal(e.Output, &w) == nil && w.Output != nil {
		return w.Output
	}
	return e.Output
}

// agentResultMax bounds a result as the inspector shows it.
const agentResultMax = 4 << 10

// agentResultText is a result indented when it is JSON, cut at agentResultMax bytes.
func agentResultText(content string) string {
	text := content
	if json.Valid([]byte(content)) {
		text = editorIndentJSON(json.RawMessage(content))
	}
	if len(text) > agentResultMax {
		cut := agentResultMax
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "\n… (cut; the whole result is in the run's history)"
	}
	return text
}

// agentAnswering says whether a running agent is waiting for its model: a turn under way is
// a local activity, in history only once it has answered, so it shows as the agent running
// with none of its steps (its tools' loading, its calls) open.
func agentAnswering(tl *engine.Timeline, node string, turns []templates.RunAgentTurnView) bool {
	if n := len(turns); n > 0 && turns[n-1].Pending {
		return false // a turn activity in flight (agents from before local turns)
	}
	for i := range tl.Entries {
		e := &tl.Entries[i]
		if e.Node != node && !strings.HasPrefix(e.Node, node+"/") {
			continue
		}
		if e.Status == engine.NodeRunning || e.Status == engine.NodePending || e.Status == engine.NodeWaiting {
			return false
		}
	}
	return true
}
