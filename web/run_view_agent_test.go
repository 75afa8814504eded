package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"trellis/engine"
	"trellis/templates"
)

// turnEntry is a timeline entry of an agent's turn activity with its result.
func turnEntry(status, text string, calls ...string) *engine.TimelineEntry {
	e := &engine.TimelineEntry{Node: "agent", Step: engine.StepActivity, Name: agentTurnActivity, Status: status}
	if status == engine.NodeCompleted {
		var tcs []map[string]any
		for i, c := range calls {
			tcs = append(tcs, map[string]any{"id": fmt.Sprint("call_", i), "name": c, "args": json.RawMessage(`{"n":1}`)})
		}
		e.Output, _ = json.Marshal(map[string]any{"text": text, "tool_calls": tcs, "model": "gpt-test"})
	}
	return e
}

// TestAgentTurns: the inspector's conversation has each turn's text from history and the
// calls of that turn from the node's output (how each ended); a failed attempt is no turn;
// while the node runs, the calls are those the model asked for and the turn under way is
// shown; past four turns only the last two are unfolded.
func TestAgentTurns(t *testing.T) {
	entries := []*engine.TimelineEntry{
		turnEntry(engine.NodeFailed, ""),
		turnEntry(engine.NodeCompleted, "I will look both up.", "lookup", "lookup"),
		{Node: "agent", Step: engine.StepChild, Status: engine.NodeCompleted},
		turnEntry(engine.NodeCompleted, "Done: it <b>shipped</b>."),
	}
	// The second turn's request carries the results of the first turn's calls.
	entries[3].Input = json.RawMessage(`{"run_id": "r", "messages": [{"Role": "assistant", "Content": "I will look both up."},
		{"Role": "user", "ToolResults": [{"call_id": "call_0", "name": "lookup", "content": "{\"status\":\"shipped\"}"},
			{"call_id": "call_1", "name": "lookup", "content": "no such order", "is_error": true}]}]}`)
	var out any
	_ = json.Unmarshal([]byte(`{"text": "Done.", "steps": 2, "tool_calls": [
		{"step": 1, "name": "lookup", "args": {"n": 1}, "status": "completed"},
		{"step": 1, "name": "lookup", "args": {"n": 2}, "status": "failed", "error": "no such order"}]}`), &out)
	turns := agentTurns(entries, out)
	if len(turns) != 2 || turns[0].Text != "I will look both up." || len(turns[0].Calls) != 2 || turns[0].Calls[1].Status != "failed" ||
		turns[1].Text != "Done: it <b>shipped</b>." || len(turns[1].Calls) != 0 || !turns[0].Open || !turns[1].Open {
		t.Fatalf("turns = %+v", turns)
	}

	if c := turns[0].Calls; c[0].Result != "{\n  \"status\": \"shipped\"\n}" || c[0].ResultError || c[1].Result != "no such order" || !c[1].ResultError {
		t.Fatalf("results = %+v", c)
	}
	if long := agentResultText(strings.Repeat("é", agentResultMax)); len(long) > agentResultMax+100 || !utf8.ValidString(long) || !strings.Contains(long, "(cut;") {
		t.Errorf("a long result is shown as %d bytes", len(long))
	}

	// Running: no output yet; the calls asked for, and the turn under way.
	running := append(entries[:2:2], turnEntry(engine.NodeRunning, ""))
	// The run page's fallback for a node without state is its last completed step's output.
	last := map[string]any{}
	_ = json.Unmarshal(running[1].Output, &last)
	turns = agentTurns(running, last)
	if len(turns) != 2 || len(turns[0].Calls) != 2 || turns[0].Calls[0].Status != "requested" || !turns[1].Pending {
		t.Fatalf("running turns = %+v", turns)
	}

	// A rewound node's reused output has no turns in history: the calls tell the turns.
	if turns = agentTurns(nil, out); len(turns) != 1 || len(turns[0].Calls) != 2 || turns[0].Text != "" {
		t.Fatalf("turns from the output alone = %+v", turns)
	}

	var long []*engine.TimelineEntry
	for i := 1; i <= 6; i++ {
		long = append(long, turnEntry(engine.NodeCompleted, fmt.Sprintf("turn %d", i), "lookup"))
	}
	turns = agentTurns(long, nil)
	var open []int
	for _, tv := range turns {
		if tv.Open {
			open = append(open, tv.Turn)
		}
	}
	if len(turns) != 6 || fmt.Sprint(open) != "[5 6]" {
		t.Fatalf("open turns of six = %v", open)
	}
	html := renderTurns(t, (turns))
	for _, want := range []string{`data-testid="inspector-turn-1"`, "Turn 1 · 1 tool call", `<span class="run-agent-snippet"> · turn 1</span>`, `<details class="run-agent-turn" open>`, "6 turns; earlier ones are folded"} {
		if !strings.Contains(html, want) {
			t.Errorf("turns lack %s", want)
		}
	}
	if strings.Count(html, "<details") != 6 || strings.Count(html, " open>") != 2 {
		t.Errorf("six turns, two open: %s", html)
	}
	html = renderTurns(t, (agentTurns(entries, out)))
	if strings.Contains(html, "<b>shipped") || !strings.Contains(html, "&lt;b&gt;shipped") {
		t.Error("the model's text is not escaped")
	}
}

func renderTurns(t *testing.T, turns []templates.RunAgentTurnView) string {
	t.Helper()
	var b bytes.Buffer
	if err := templates.RunAgentTurns(turns).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
