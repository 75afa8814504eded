package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"trellis/engine"
	"trellis/engine/enginetest"
	"trellis/internal/testsvc"
	"trellis/store"
)

// oneProvider is engine.ProviderSource with one keyless OpenAI-protocol provider.
type oneProvider struct{ url string }

func (p oneProvider) Provider(_ context.Context, name string) (*engine.ProviderConfig, error) {
	return &engine.ProviderConfig{Name: name, Kind: "openai", BaseURL: p.url + "/v1", Model: "gpt-test",
		Timeout: 30 * time.Second, Concurrency: 4}, nil
}

// agentRefundDoc is an agent whose refund tool waits for group finance.
func agentRefundDoc(shop string) string {
	return `{"format": "trellis.graph/v1", "name": "Agent refund", "nodes": [{"id": "agent", "kind": "agent", "config": {
		"prompt": "Refund order A-7.", "tools": [{"name": "refund", "description": "Refunds an amount of an order.",
			"parameters": {"type": "object", "required": ["order", "amount"],
				"properties": {"order": {"type": "string"}, "amount": {"type": "number", "minimum": 0, "title": "Amount (EUR)"}}},
			"http": {"method": "POST", "url": "` + shop + `/refunds", "body": {"order": "{{ args.order }}", "amount": "{{ args.amount }}"}},
			"approval": {"assignee": "group:finance"}}]}}], "edges": []}`
}

// TestAgentToolTaskForm: a tool call waiting for approval is a task in the reviewer's inbox
// whose page shows the model's reasoning and a form with the proposed arguments filled in;
// the reviewer changes the amount in the form and the tool receives the changed value.
func TestAgentToolTaskForm(t *testing.T) {
	var mu sync.Mutex
	var refunds []string
	shop := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		refunds = append(refunds, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"refunded": true}`)
	})
	chat := testsvc.Func(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if !strings.Contains(string(b), `"role":"tool"`) {
			io.WriteString(w, `{"id": "c1", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 5, "completion_tokens": 5},
				"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "The order qualifies for a full refund.",
				"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "refund", "arguments": "{\"order\":\"A-7\",\"amount\":4000}"}}]}}]}`)
			return
		}
		io.WriteString(w, `{"id": "c2", "object": "chat.completion", "model": "gpt-test", "usage": {"prompt_tokens": 5, "completion_tokens": 5},
			"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Done."}}]}`)
	})
	tasks := &engineTasksForTest{}
	eng, _ := enginetest.Start(t, engine.Deps{Tasks: tasks, Providers: oneProvider{chat.URL}})
	app := newTestApp(t, withSetup(func(s *appSetup) {
		db := s.Deps.Users.(*store.DB)
		s.Deps.Tasks, s.Deps.Graphs, s.Deps.Runs = db, db, eng
	}))
	tasks.DB = app.DB
	ana := app.api("ana", store.RoleAnalyst)
	id := ana.createGraph("Agent refund", agentRefundDoc(shop.URL))
	wantStatus(t, ana.send(http.MethodPost, "/graphs/"+id+"/versions", map[string]any{"note": "first"}), http.StatusCreated)
	r := ana.send(http.MethodPost, "/graphs/"+id+"/runs", map[string]any{"input": map[string]any{}})
	wantStatus(t, r, http.StatusCreated)
	runID := r.JSON(t)["run_id"].(string)

	var task *store.Task
	for deadline := time.Now().Add(90 * time.Second); task == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		task, _ = app.DB.GetTaskByNode(context.Background(), runID, "agent/1/0")
	}
	if task == nil {
		t.Fatal("no task for the tool call")
	}
	// The run page links the waiting agent node to its call's task.
	runPage := app.signedIn("dev", store.RoleDeveloper).get("/runs/" + runID + "?node=agent")
	wantStatus(t, runPage, http.StatusOK)
	if !strings.Contains(runPage.Body, `href="/tasks/`+task.ID+`"`) {
		t.Errorf("run page does not link the agent node to task %s", task.ID)
	}
	bob := app.memberClient("bob", "finance")
	page := bob.get("/tasks/" + task.ID)
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{"Approve refund (agent agent)", "The order qualifies for a full refund.", `value="4000"`, `value="A-7"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("task page lacks %q", want)
		}
	}
	form := url.Values{"outcome": {"approve"}, "data.order": {"A-7"}, "data.amount": {"400"}, "comment": {"only the jacket"}}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r = bob.postForm("/tasks/"+task.ID+"/decision", form)
		if r.StatusCode == http.StatusSeeOther || time.Now().After(deadline) {
			break
		}
	}
	wantStatus(t, r, http.StatusSeeOther)
	var run *engine.Run
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if run, _ = eng.GetRun(context.Background(), runID); run != nil && run.Status == engine.RunCompleted {
			break
		}
	}
	if run == nil || run.Status != engine.RunCompleted {
		t.Fatalf("run = %+v", run)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refunds) != 1 || refunds[0] != `{"amount":400,"order":"A-7"}` {
		t.Errorf("refunds = %q, want the edited 400", refunds)
	}
	if out := toJSONString(run.Nodes["agent"].Output); !strings.Contains(out, `"edits":[{"arg":"amount","from":4000,"to":400}]`) {
		t.Errorf("agent output = %s", out)
	}
	// The inspector lists the call with its approval and the edit, and the agent's usage.
	insp := app.signedIn("dev", store.RoleDeveloper).get("/runs/" + runID + "?node=agent")
	wantStatus(t, insp, http.StatusOK)
	for _, want := range []string{`data-testid="inspector-tool-call-1-0"`, "Approved by bob", "amount: 4000 → 400",
		`{&#34;amount&#34;:400,&#34;order&#34;:&#34;A-7&#34;}`, `data-testid="inspector-tokens"`} {
		if !strings.Contains(insp.Body, want) {
			t.Errorf("inspector lacks %s", want)
		}
	}
}
