package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// TestServeKilledBetweenToolCallAndTurn: serve is killed -9 after an agent's tool call
// completed, while the next model turn is in flight. After a restart the turn is asked
// again, the tool is not called again, the first turn is not repeated, and the run ends
// with the model's answer.
func TestServeKilledBetweenToolCallAndTurn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds trellis and starts the embedded Temporal server twice")
	}
	bin := trellisBinary(t)
	var refunds atomic.Int32
	shop := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		refunds.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"refunded": true}`)
	})
	var firstTurns, laterTurns atomic.Int32
	held := make(chan struct{}, 1) // the second turn has arrived and is held
	release := make(chan struct{}) // closed once serve is dead
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(raw), `"role":"tool"`) {
			firstTurns.Add(1)
			io.WriteString(w, chatCompletion(`null`, `[{"id": "call_1", "type": "function",
				"function": {"name": "refund", "arguments": "{\"order_id\":\"A-7\",\"amount\":40}"}}]`))
			return
		}
		if laterTurns.Add(1) == 1 {
			select {
			case held <- struct{}{}:
			default:
			}
			select { // the killed serve's request: never answered
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, chatCompletion(`"{\"reply\": \"Refunded 40 EUR.\"}"`, `null`))
	})

	data := t.TempDir()
	if code, _, errOut := runCLI(t, "", "provider", "set", "default", "--kind", "openai", "--base-url", chat.URL+"/v1",
		"--model", "gpt-test", "--data", data); code != 0 {
		t.Fatalf("provider set: %s", errOut)
	}
	s := startKillableServe(t, bin, data)
	ana := cliTokens(t, data, "analyst")["analyst"]
	doc := map[string]any{"format": "trellis.graph/v1", "name": "Refund agent", "nodes": []any{map[string]any{
		"id": "agent", "kind": "agent", "timeout": "5s", "retry": map[string]any{"max_attempts": 5, "initial_interval": "1s"},
		"config": map[string]any{"prompt": "Refund order A-7.", "json_schema": map[string]any{"type": "object", "required": []any{"reply"},
			"properties": map[string]any{"reply": map[string]any{"type": "string"}}},
			"tools": []any{map[string]any{"name": "refund", "description": "Refunds an order.",
				"parameters": map[string]any{"type": "object", "properties": map[string]any{"order_id": map[string]any{"type": "string"},
					"amount": map[string]any{"type": "number"}}},
				"http": map[string]any{"method": "POST", "url": shop.URL + "/refunds", "body": map[string]any{"amount": "{{ args.amount }}"}}}}}}},
		"edges": []any{}}
	g := s.must(t, ana, http.MethodPost, "/graphs", map[string]any{"name": "Refund agent", "definition": doc}, http.StatusCreated)
	gid, _ := g["id"].(string)
	s.must(t, ana, http.MethodPost, "/graphs/"+gid+"/versions", map[string]any{"note": "first"}, http.StatusCreated)
	started := s.must(t, ana, http.MethodPost, "/graphs/"+gid+"/runs", map[string]any{"input": map[string]any{}}, http.StatusCreated)
	id, _ := started["run_id"].(string)

	waitHeld(t, held)
	if n := refunds.Load(); n != 1 {
		t.Fatalf("refunds before the kill = %d, want 1", n)
	}
	s.kill(t)
	close(release)

	s = startKillableServe(t, bin, data)
	run := s.waitRunState(t, ana, id, "ended", func(r map[string]any) bool { return r["ended_at"] != nil })
	agent := nodeOf(run, "agent")
	output, _ := json.Marshal(agent["output"])
	if run["status"] != "completed" || !strings.Contains(string(output), `"json":{"reply":"Refunded 40 EUR."}`) {
		t.Fatalf("run = %v", run)
	}
	if n := refunds.Load(); n != 1 {
		t.Errorf("the refund tool was called %d times, want once", n)
	}
	if n := firstTurns.Load(); n != 1 {
		t.Errorf("the first model turn was asked %d times, want once", n)
	}
	if n := laterTurns.Load(); n < 2 {
		t.Errorf("the second turn was asked %d times, want again after the restart", n)
	}
}

// waitHeld waits until the fake provider holds the second turn.
func waitHeld(t *testing.T, held <-chan struct{}) {
	t.Helper()
	select {
	case <-held:
	case <-time.After(90 * time.Second):
		t.Fatal("the second model turn never arrived")
	}
}

// chatCompletion is a Chat Completions answer: content (JSON: a string or null) and
// tool_calls (JSON: a list or null).
func chatCompletion(content, toolCalls string) string {
	reason := "stop"
	if toolCalls != "null" {
		reason = "tool_calls"
	}
	return fmt.Sprintf(`{"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
		"choices": [{"index": 0, "finish_reason": %q, "message": {"role": "assistant", "content": %s, "tool_calls": %s}}],
		"usage": {"prompt_tokens": 10, "completion_tokens": 5}}`, reason, content, toolCalls)
}
