package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/internal/testsvc"
)

// TestSupportAgentSample runs the support-agent sample as --dev seeds it: the model looks the
// order up (the lookup-order graph, as a child run), proposes a refund, the reviewer group's
// member rejects it in the inbox with a reason, and the model answers in the sample's shape.
func TestSupportAgentSample(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	var mu sync.Mutex
	var bodies []string
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(raw))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch n := strings.Count(string(raw), `"role":"tool"`); n {
		case 0:
			io.WriteString(w, chatCompletion(`"Let me find the order."`, `[{"id": "call_1", "type": "function",
				"function": {"name": "lookup_order", "arguments": "{\"order_id\":\"A-1007\"}"}}]`))
		case 1:
			io.WriteString(w, chatCompletion(`"The jacket arrived torn."`, `[{"id": "call_2", "type": "function",
				"function": {"name": "refund", "arguments": "{\"order_id\":\"A-1007\",\"amount\":129.5,\"reason\":\"torn\"}"}}]`))
		default:
			io.WriteString(w, chatCompletion(`"{\"reply\": \"A colleague will check the jacket first.\", \"refunded\": 0}"`, `null`))
		}
	})
	data := t.TempDir()
	if code, _, errOut := runCLI(t, "", "provider", "set", "default", "--kind", "openai", "--base-url", chat.URL+"/v1", "--data", data); code != 0 {
		t.Fatalf("provider set: %s", errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app := startServe(t, ctx, data)
	defer func() {
		cancel()
		app.waitStopped(t)
	}()
	tokens := cliTokens(t, data, "analyst", "reviewer")
	started := app.api(t, tokens["analyst"], http.MethodPost, "/graphs/support-agent/runs",
		map[string]any{"input": map[string]any{"customer": "ada@example.com", "message": "My jacket A-1007 arrived torn."}}, http.StatusCreated)
	id, _ := started["run_id"].(string)

	var taskID string
	for deadline := time.Now().Add(90 * time.Second); taskID == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		tasks, err := reviewerTasks(app.url, tokens["reviewer"])
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if task.RunID == id && task.Node == "agent/2/0" {
				taskID = task.ID
			}
		}
	}
	if taskID == "" {
		t.Fatal("no refund task in the reviewer's inbox")
	}
	decision := map[string]any{"outcome": "reject", "comment": "send a photo first"}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if code, _, _, _ := apiCall(app.url, tokens["reviewer"], http.MethodPost, "/tasks/"+taskID+"/decision", decision); code == http.StatusOK {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("decision: %d", code)
		}
	}
	var run map[string]any
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if run = app.api(t, tokens["analyst"], http.MethodGet, "/runs/"+id, nil, http.StatusOK); run["ended_at"] != nil {
			break
		}
	}
	if out, _ := json.Marshal(run["output"]); run["status"] != "completed" || string(out) != `{"refunded":0,"reply":"A colleague will check the jacket first."}` {
		t.Fatalf("run = %v", run)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 3 {
		t.Fatalf("%d model turns, want 3", len(bodies))
	}
	if !strings.Contains(bodies[1], `delivered`) || !strings.Contains(bodies[2], "rejected by reviewer, its reviewer: send a photo first") {
		t.Errorf("results sent back:\n%s\n%s", bodies[1], bodies[2])
	}
}
